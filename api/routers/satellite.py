"""Satellite patches (图斑): batches, imagery, handling records with photos, verification."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from api.auth import WriterDep, note_change
from api.deps import CalendarDep, CatalogueDep, ConnDep, ReadConnDep, SettingsDep
from api.jobs import submit
from api.uploads import saved_upload, shown_name
from geogrid.errors import InvalidParameter
from geogrid.jobs import Progress
from geogrid.satellite import (
    STATUSES,
    VerifyRules,
    add_handling,
    get_batch,
    get_patch,
    import_batch,
    list_batches,
    list_patches,
    parse_band_roles,
    photo_content,
    read_patch_upload,
    read_photo,
    register_imagery,
    register_uploaded_imagery,
    render_chips,
    verify_batch,
    verify_patch,
)
from geogrid.satellite.photos import MAX_PHOTO_BYTES
from geogrid.satellite.scoring import BASES, MODES, ROUNDINGS, ScoreRule, batch_scores

router = APIRouter(tags=["Satellite patches"])

AsyncParam = Annotated[
    bool, Query(alias="async", description="Run as a background job: 202 with the job's link.")
]
RulesBody = Annotated[
    dict[str, Any] | None,
    Body(description="Verification rules: distance_m, min_fixes, thresholds per change type."),
]


class ScoreQuery(BaseModel):
    """The deduction rule of the satellite indicator; absent fields keep their defaults."""

    points: float | None = Field(None, ge=0, description="Points of the item (default 6).")
    mode: str | None = Field(None, description=", ".join(MODES))
    tolerated_share: float | None = Field(None, ge=0, lt=1, description="Tolerated share.")
    factor: float | None = Field(None, ge=0, description="Factor of mode share.")
    per_patch: float | None = Field(None, ge=0, description="Points per patch (per_patch).")
    per_overdue: float | None = Field(None, ge=0, description="Points per overdue patch.")
    basis: str | None = Field(None, description=", ".join(BASES))
    rounding: str | None = Field(None, description=", ".join(ROUNDINGS))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post("/patch-batches", status_code=201)
def create_batch(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    calendar: CalendarDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage or zipped Shapefile")],
    batch: Annotated[str, Form(description="Batch id, e.g. 2022-05", max_length=16)],
    vendor: Annotated[str | None, Form(max_length=200)] = None,
    delivered_at: Annotated[datetime | None, Form(description="Delivery time")] = None,
    dispatched_at: Annotated[datetime | None, Form(description="Dispatch time")] = None,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    crs: Annotated[str | None, Form(description="CRS of a file without one, or gcj02")] = None,
) -> dict[str, Any]:
    """Import a batch of patches; each is located in its grids and becomes a satellite case."""
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        upload = read_patch_upload(
            path,
            catalogue=catalogue,
            crs=crs,
            file_name=file.filename or path.name,
            tz=settings.timezone,
        )
    imported = import_batch(
        conn,
        upload,
        batch_id=batch,
        catalogue=catalogue,
        calendar=calendar,
        delivered_at=delivered_at,
        dispatched_at=dispatched_at,
        vendor=vendor,
        note=note,
        tz=settings.timezone,
    )
    note_change(
        request,
        entity_id=batch,
        summary={"file": shown_name(file), "figures": imported.get("figures", {})},
    )
    return imported


@router.get("/patch-batches")
def batches(conn: ReadConnDep) -> list[dict[str, Any]]:
    """Every batch, newest first, with its imagery and figures."""
    return list_batches(conn)


@router.get("/patch-batches/{batch_id}")
def batch(batch_id: str, conn: ReadConnDep) -> dict[str, Any]:
    """One batch: delivery, imagery, figures (handling states, verdicts, overdue, areas)."""
    return get_batch(conn, batch_id)


def _server_image(path: str, data_dir: Path) -> Path:
    """A GeoTIFF named by its path on the server: only inside the data directory, so that a
    client cannot make the service open any other file of the machine."""
    root = data_dir.resolve()
    image = (root / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    if not image.is_relative_to(root):
        raise InvalidParameter(
            f"Parameter 'path': the image must lie in the data directory ({root}); "
            "copy it there or upload it as 'file'."
        )
    return image


@router.post("/patch-batches/{batch_id}/imagery", status_code=201)
def add_imagery(
    batch_id: str,
    conn: ConnDep,
    settings: SettingsDep,
    role: Annotated[Literal["reference", "before", "after"], Form()],
    bands: Annotated[str, Form(description="Band roles")] = "red=1,green=2,blue=3,nir=4",
    path: Annotated[
        str | None,
        Form(max_length=1000, description="A GeoTIFF on the server, in the data directory"),
    ] = None,
    file: Annotated[UploadFile | None, File(description="Or an uploaded GeoTIFF")] = None,
    scale: Annotated[float | None, Form(gt=0, description="DN of reflectance 1.0")] = None,
    acquired_on: Annotated[date | None, Form(description="Image date")] = None,
) -> dict[str, Any]:
    """Register a GeoTIFF of the batch (a server path or an upload) with its band roles."""
    if (path is None) == (file is None):
        raise InvalidParameter("Give either a path on the server or an uploaded file.")
    roles = parse_band_roles(bands)
    if file is not None:
        with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as tmp:
            return register_uploaded_imagery(
                conn,
                batch_id,
                role=role,
                upload=tmp,
                file_name=shown_name(file),
                data_dir=settings.data_dir,
                bands=roles,
                scale=scale,
                acquired_on=acquired_on,
            )
    else:
        image = _server_image(str(path), settings.data_dir)
    return register_imagery(
        conn, batch_id, role=role, path=image, bands=roles, scale=scale, acquired_on=acquired_on
    )


@router.post("/patch-batches/{batch_id}/verify", response_model=None)
def verify(
    batch_id: str,
    request: Request,
    conn: ConnDep,
    rules: RulesBody = None,
    run_async: AsyncParam = False,
) -> dict[str, Any] | JSONResponse:
    """Verify every patch of the batch (field evidence, imagery) and store the verdicts."""
    parsed = VerifyRules.from_dict(rules or {})
    get_batch(conn, batch_id)

    def work(c: Connection, progress: Progress) -> dict[str, Any]:
        return verify_batch(c, batch_id, rules=parsed, progress=progress)

    if run_async:
        body = submit(request, kind="patch-verify", work=work)
        return JSONResponse(body, status_code=202)
    return work(conn, lambda stage, fraction: None)


@router.get("/patches")
def patches(
    request: Request,
    conn: ReadConnDep,
    batch: Annotated[str | None, Query(description="Batch id")] = None,
    status: Annotated[str | None, Query(description=", ".join(STATUSES))] = None,
    street: Annotated[str | None, Query(description="9-digit street code")] = None,
    change_type: Annotated[str | None, Query(description="building, dust_source, …")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Patches with handling state and verdict; filter by batch, status, street, type."""
    items, total = list_patches(
        conn,
        batch_id=batch,
        status=status,
        street_code=street,
        change_type=change_type,
        limit=limit,
        offset=offset,
    )
    links = {"self": str(request.url)}
    if offset + len(items) < total:
        links["next"] = str(request.url.include_query_params(offset=offset + limit))
    return {
        "numberMatched": total,
        "numberReturned": len(items),
        "patches": items,
        "links": links,
    }


@router.get("/patches/scores")
def scores(
    conn: ReadConnDep,
    rule: Annotated[ScoreQuery, Query()],
    batch: Annotated[str | None, Query(description="Batch id (default: the newest)")] = None,
    street: Annotated[str | None, Query(description="9-digit street code")] = None,
    at: Annotated[datetime | None, Query(description="Cut-off (default now)")] = None,
) -> dict[str, Any]:
    """Figures and satellite indicator score of a batch per street and for the district."""
    parsed = ScoreRule.from_dict(rule.model_dump(exclude_none=True))
    return batch_scores(conn, batch, street_code=street, at=at, rule=parsed)


@router.get("/patches/{patch_id}")
def patch(patch_id: int, request: Request, conn: ReadConnDep) -> dict[str, Any]:
    """One patch with its verification figures, handling records and photos' EXIF."""
    body = get_patch(conn, patch_id)
    base = f"{_base(request)}/patches/{patch_id}"
    body["links"] = {"self": base, "chips": f"{base}/chips.png", "handling": f"{base}/handling"}
    for record in body["handling"]:
        for photo in record["photos"]:
            photo["href"] = f"{base}/photos/{photo['id']}"
    return body


@router.post("/patches/{patch_id}/handling", status_code=201)
def handle(
    patch_id: int,
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    writer: WriterDep,
    handling_type: Annotated[Literal["on_site", "documents"], Form()],
    handler: Annotated[str, Form(min_length=1, max_length=100)],
    handled_at: Annotated[datetime, Form(description="When it was handled")],
    note: Annotated[str | None, Form(max_length=2000)] = None,
    closes: Annotated[bool, Form(description="The record closes the patch")] = True,
    covered_area_m2: Annotated[float | None, Form(ge=0)] = None,
    photos: Annotated[list[UploadFile] | None, File(description="JPEG photos")] = None,
) -> dict[str, Any]:
    """Record a handling (on site or by documents) with JPEG photos; EXIF GPS and time kept."""
    limit = min(MAX_PHOTO_BYTES, settings.max_upload_mb << 20)
    read = [
        read_photo(
            p.file.read(limit + 1),
            file_name=p.filename or f"photo-{i + 1}.jpg",
            tz=settings.timezone,
            max_bytes=limit,
        )
        for i, p in enumerate(photos or [])
    ]
    record = add_handling(
        conn,
        patch_id,
        handling_type=handling_type,
        handler=handler,
        handled_at=handled_at,
        note=note,
        closes=closes,
        covered_area_m2=covered_area_m2,
        photos=read,
        tz=settings.timezone,
        scope=writer.scope,
    )
    note_change(
        request,
        summary={
            "record": record.get("id"),
            "handling_type": handling_type,
            "closes": closes,
            "photos": len(read),
        },
    )
    return record


@router.post("/patches/{patch_id}/verify")
def verify_one(patch_id: int, conn: ConnDep, rules: RulesBody = None) -> dict[str, Any]:
    """Verify one patch now; returns it with its new verdict and figures."""
    verify_patch(conn, patch_id, rules=VerifyRules.from_dict(rules or {}))
    return get_patch(conn, patch_id)


@router.get("/patches/{patch_id}/chips.png", response_class=Response)
def chips(patch_id: int, conn: ReadConnDep) -> Response:
    """Before/after image chips side by side with the patch drawn (404 without imagery)."""
    return Response(render_chips(conn, patch_id), media_type="image/png")


@router.get("/patches/{patch_id}/photos/{photo_id}", response_class=Response)
def photo(patch_id: int, photo_id: int, conn: ReadConnDep) -> Response:
    """One evidence photo (JPEG) as uploaded."""
    name, content = photo_content(conn, patch_id, photo_id)
    return Response(
        content,
        media_type="image/jpeg",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"},
    )
