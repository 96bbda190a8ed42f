"""Grid-boundary updates: upload → plan → review (对照表, diff map) → apply or reject; history."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy.engine import Connection

from api.auth import actor_of, note_plan
from api.deps import ConnDep, SettingsDep
from api.downloads import CSV, XLSX, download
from api.jobs import submit
from api.uploads import saved_upload
from geogrid.changes.plans import Plan, get_plan, list_plans, reject_plan
from geogrid.grids import report, store, update
from geogrid.grids.upload import read_grid_upload
from geogrid.jobs import Progress
from maps.grid_updates import build_diff_map

router = APIRouter(tags=["Grid updates"])

AsyncParam = Annotated[
    bool, Query(alias="async", description="Run as a background job: 202 with the job's link.")
]


def _plan_body(request: Request, plan: Plan, conn: ConnDep) -> dict[str, Any]:
    note_plan(request, plan)  # the audit row of a write names the plan
    base = _plan_url(request, plan.id)
    changes = [c for c in update.plan_changes(conn, plan.id) if c["kind"] != "unchanged"]
    return {
        **plan.as_dict(),
        "changes": changes,
        "links": {
            "self": base,
            "cross_reference_xlsx": f"{base}/changes.xlsx",
            "cross_reference_csv": f"{base}/changes.csv",
            "map": f"{base}/map",
            "apply": f"{base}/apply",
            "reject": f"{base}/reject",
        },
    }


@router.post("/grid-updates", status_code=201, response_model=None)
def create_grid_update(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile or CSV")],
    crs: Annotated[str | None, Form(description="CRS of a file without one, or gcj02")] = None,
    fix: Annotated[bool, Form(description="Repair invalid geometries (make_valid)")] = False,
    effective_from: Annotated[datetime | None, Form(description="When it takes effect")] = None,
    submitted_by: Annotated[str | None, Form(max_length=100)] = None,
    run_async: AsyncParam = False,
) -> dict[str, Any] | JSONResponse:
    """Upload grids for whole communities; returns the dry-run plan (nothing applied yet)."""
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        upload = read_grid_upload(path, crs=crs, file_name=file.filename or path.name)
    band = (settings.grid_area_min_m2, settings.grid_area_max_m2)

    def work(c: Connection, progress: Progress) -> dict[str, Any]:
        plan = update.plan_grid_update(
            c,
            upload,
            created_by=actor_of(request, submitted_by),
            fix=fix,
            effective_from=effective_from,
            area_band=band,
            progress=progress,
        )
        return {"plan": plan.id, "links": {"plan": _plan_url(request, plan.id)}}

    if run_async:
        body = submit(
            request, kind="grid-plan", created_by=actor_of(request, submitted_by), work=work
        )
        return JSONResponse(body, status_code=202)
    plan_id = work(conn, lambda stage, fraction: None)["plan"]
    return _plan_body(request, get_plan(conn, plan_id), conn)


def _plan_url(request: Request, plan_id: int) -> str:
    return str(request.base_url).rstrip("/") + f"/grid-updates/{plan_id}"


@router.get("/grid-updates")
def list_grid_updates(conn: ConnDep) -> list[dict[str, Any]]:
    """The newest grid plans, newest first."""
    return [p.as_dict() for p in list_plans(conn, kind=update.KIND)]


@router.get("/grid-updates/{plan_id}")
def grid_update(plan_id: int, request: Request, conn: ConnDep) -> dict[str, Any]:
    """One plan: summary, changes, warnings, status (pending, applied, rejected, stale)."""
    return _plan_body(request, get_plan(conn, plan_id, kind=update.KIND), conn)


@router.get("/grid-updates/{plan_id}/changes.csv")
def grid_update_csv(plan_id: int, conn: ConnDep) -> FileResponse:
    """The 对照表 (case cross-reference: old → new grid, community, street) as CSV."""

    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as out:
            out.writelines(report.cross_reference_csv(conn, plan_id))

    return download(f"grid-plan-{plan_id}.csv", write, CSV)


@router.get("/grid-updates/{plan_id}/changes.xlsx")
def grid_update_xlsx(plan_id: int, conn: ConnDep) -> FileResponse:
    """The plan as a workbook: overview, grid changes, counts, case impact, 对照表."""
    return download(
        f"grid-plan-{plan_id}.xlsx", lambda path: report.write_plan_xlsx(conn, plan_id, path), XLSX
    )


@router.get("/grid-updates/{plan_id}/map", response_class=HTMLResponse)
def grid_update_map(plan_id: int, conn: ConnDep, settings: SettingsDep) -> HTMLResponse:
    """Map of the plan's changes: added, removed, reshaped, split, merged, recoded."""
    changes = json.loads(report.changes_geojson(conn, plan_id))
    fmap = build_diff_map(
        changes,
        title=f"方案 {plan_id}",
        basemap_url=settings.basemap_url,
        basemap_attribution=settings.basemap_attribution,
    )
    return HTMLResponse(fmap.get_root().render(), headers={"Cache-Control": "no-cache"})


@router.post("/grid-updates/{plan_id}/apply", response_model=None)
def apply_grid_update(
    plan_id: int,
    request: Request,
    conn: ConnDep,
    decided_by: Annotated[str | None, Form(max_length=100)] = None,
    run_async: AsyncParam = False,
) -> dict[str, Any] | JSONResponse:
    """Apply a pending plan in one transaction; a stale plan is refused (409)."""
    get_plan(conn, plan_id, kind=update.KIND)

    def work(c: Connection, progress: Progress) -> dict[str, Any]:
        plan = update.apply_grid_update(
            c, plan_id, decided_by=actor_of(request, decided_by), progress=progress
        )
        return {
            "plan": plan.id,
            "status": plan.status,
            "links": {"plan": _plan_url(request, plan.id)},
        }

    if run_async:
        body = submit(
            request, kind="grid-apply", created_by=actor_of(request, decided_by), work=work
        )
        return JSONResponse(body, status_code=202)
    work(conn, lambda stage, fraction: None)
    return _plan_body(request, get_plan(conn, plan_id), conn)


@router.post("/grid-updates/{plan_id}/reject")
def reject_grid_update(
    plan_id: int,
    request: Request,
    conn: ConnDep,
    decided_by: Annotated[str | None, Form(max_length=100)] = None,
) -> dict[str, Any]:
    """Reject a plan; it stays on record."""
    plan = reject_plan(conn, plan_id, kind=update.KIND, decided_by=actor_of(request, decided_by))
    return _plan_body(request, plan, conn)


@router.get("/grids/{code}/history")
def grid_history(code: str, conn: ConnDep) -> dict[str, Any]:
    """Every version of a grid, oldest first (history is never deleted)."""
    return {"code": code, "versions": store.grid_history(conn, code)}


@router.get("/grid-versions")
def grid_versions(conn: ConnDep) -> dict[str, list[int]]:
    """Applied grid versions (plan ids); 0 is the initial state."""
    return {"versions": store.applied_versions(conn)}


@router.post("/grid-versions/{version}/restore")
def restore_grid_version(
    version: int,
    request: Request,
    conn: ConnDep,
    decided_by: Annotated[str | None, Form(max_length=100)] = None,
) -> dict[str, Any]:
    """Roll the grids back to a version; the roll-back is itself a new, applied version."""
    plan = update.restore_grid_version(conn, version, created_by=actor_of(request, decided_by))
    return _plan_body(request, plan, conn)
