"""Sanitation (环卫): companies, vehicles and crews, cleaning areas and road segments, sweeping
coverage and the companies' self-handled share (issue 10).

Vehicles and crews send their fixes to ``POST /tracks`` like supervisors (their id in
``supervisor_id``, or their ``device_id``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ConnDep, ReadConnDep, SettingsDep
from api.downloads import XLSX, csv_file, download
from api.indicator_params import indicator_query
from api.uploads import saved_upload
from geogrid.dates import check_period
from geogrid.errors import InvalidParameter
from geogrid.sanitation import (
    CompanySpec,
    SweepRule,
    TrackerSpec,
    areas_geojson,
    get_company,
    import_areas,
    import_segments,
    list_companies,
    list_trackers,
    register_companies,
    register_trackers,
    segments_from_roads,
    segments_geojson,
    sweep_csv,
    sweep_table,
    sweep_xlsx,
)
from geogrid.sanitation.indicators import self_handling
from geogrid.sanitation.rules import SWEEPING_KINDS
from geogrid.sanitation.segments import MAX_LENGTH_M, SPLIT_CLASSES

router = APIRouter(tags=["Sanitation"])
MAX_DAYS = 93
MAX_ROWS = 5000


class CompanyIn(BaseModel):
    """A sanitation company and its contract period (both days included)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    contract_from: date
    contract_to: date | None = None
    contact: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=500)


class TrackerIn(BaseModel):
    """A vehicle (sweeper, washer, garbage_truck) or crew of a company, with its device."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    company: str = Field(max_length=200, description="The company's id or name.")
    kind: str = Field(max_length=20, description="sweeper, washer, garbage_truck or crew.")
    name: str = Field(max_length=100, description="Plate number or crew name.")
    device_id: str | None = Field(default=None, max_length=100)
    members: int | None = Field(default=None, ge=1, le=500)


@router.post("/sanitation/companies", status_code=201)
def post_companies(
    body: Annotated[list[CompanyIn], Field(min_length=1, max_length=MAX_ROWS)], conn: ConnDep
) -> list[dict[str, Any]]:
    """Register (or update, by id) sanitation companies; bad entries refuse the whole list."""
    register_companies(conn, [CompanySpec(**c.model_dump()) for c in body], shown="companies")
    return list_companies(conn)


@router.get("/sanitation/companies")
def get_companies(conn: ReadConnDep) -> list[dict[str, Any]]:
    """Every company: contract, areas, segments, road kilometres, trackers by kind."""
    return list_companies(conn)


@router.get("/sanitation/companies/{company}")
def get_one_company(company: str, conn: ReadConnDep) -> dict[str, Any]:
    """One company, by id or name."""
    return get_company(conn, company)


@router.post("/sanitation/trackers", status_code=201)
def post_trackers(
    body: Annotated[list[TrackerIn], Field(min_length=1, max_length=MAX_ROWS)], conn: ConnDep
) -> dict[str, Any]:
    """Register (or update, by id) vehicles and crews; bad entries refuse the whole list."""
    n = register_trackers(conn, [TrackerSpec(**t.model_dump()) for t in body], shown="trackers")
    return {"registered": n, "trackers": list_trackers(conn)}


@router.get("/sanitation/trackers")
def get_trackers(
    conn: ReadConnDep,
    company: Annotated[str | None, Query(description="A company's id or name.")] = None,
) -> list[dict[str, Any]]:
    """Vehicles and crews (of one company)."""
    return list_trackers(conn, company=company)


@router.post("/sanitation/areas", status_code=201)
def post_areas(
    conn: ConnDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile")],
    crs: Annotated[str | None, Form(description="CRS of a file without one, or gcj02")] = None,
) -> dict[str, int]:
    """Upload cleaning areas (polygons: id, name, company, sweeps_main/secondary/alley)."""
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        return import_areas(conn, path, crs=crs, file_name=file.filename or path.name)


@router.get("/sanitation/areas")
def get_areas(
    conn: ReadConnDep,
    company: Annotated[str | None, Query(description="A company's id or name.")] = None,
) -> dict[str, Any]:
    """The cleaning areas as GeoJSON (EPSG:4326) with company and sweeps a day per class."""
    return areas_geojson(conn, company=company)


@router.post("/sanitation/segments", status_code=201)
def post_segments(
    conn: ConnDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="Road lines: name, road_class, area, sweeps")],
    crs: Annotated[str | None, Form(description="CRS of a file without one, or gcj02")] = None,
    split: Annotated[bool, Form(description="Cut the lines between crossings")] = True,
    max_length_m: Annotated[float, Form(gt=10, le=10000)] = MAX_LENGTH_M,
) -> dict[str, int]:
    """Upload road segments; the segments of every area receiving some are replaced."""
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        return import_segments(
            conn,
            path,
            crs=crs,
            file_name=file.filename or path.name,
            split=split,
            max_length_m=max_length_m,
        )


@router.post("/sanitation/segments/from-roads", status_code=201)
def post_segments_from_roads(
    conn: ConnDep,
    split_classes: Annotated[
        str, Query(description="Road classes whose crossings cut a road, comma-separated.")
    ] = ",".join(SPLIT_CLASSES),
    max_length_m: Annotated[float, Query(gt=10, le=10000)] = MAX_LENGTH_M,
) -> dict[str, int]:
    """Cut the district's road network into the segments of the cleaning areas."""
    classes = tuple(c.strip() for c in split_classes.split(",") if c.strip())
    bad = [c for c in classes if c not in ("main", "secondary", "alley")]
    if bad:
        raise InvalidParameter(
            f"Parameter 'split_classes' must name main, secondary or alley, not {', '.join(bad)}."
        )
    return segments_from_roads(conn, split_classes=classes, max_length_m=max_length_m)


@router.get("/sanitation/segments")
def get_segments(
    conn: ReadConnDep,
    company: Annotated[str | None, Query(description="A company's id or name.")] = None,
    area: Annotated[str | None, Query(description="An area's id.")] = None,
) -> dict[str, Any]:
    """The road segments as GeoJSON (EPSG:4326) with road class and sweeps a day required."""
    return segments_geojson(conn, company=company, area=area)


def _rule(lateral_m: float, max_speed_kmh: float, min_share: float, kinds: str | None) -> SweepRule:
    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip()) if kinds else SWEEPING_KINDS
    return SweepRule(
        lateral_m=lateral_m, max_speed_kmh=max_speed_kmh, min_share=min_share, kinds=chosen
    )


@router.get("/sanitation/coverage", response_model=None)
def coverage(
    conn: ReadConnDep,
    settings: SettingsDep,
    first: Annotated[date, Query(alias="from", description="First day, YYYY-MM-DD.")],
    last: Annotated[date, Query(alias="to", description="Last day, YYYY-MM-DD (≤ 93 days).")],
    company: Annotated[str | None, Query(description="A company's id or name.")] = None,
    lateral_m: Annotated[float, Query(description="Track within this many metres.")] = 10.0,
    max_speed_kmh: Annotated[float, Query(description="Faster is not sweeping.")] = 15.0,
    min_share: Annotated[float, Query(description="Share of length of one sweep.")] = 0.9,
    kinds: Annotated[str | None, Query(description="Sweeping kinds, comma-separated.")] = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")
    ] = "json",
) -> dict[str, Any] | Response:
    """Sweeping coverage per company, area and road class, and the segments missed."""
    check_period(first, last, MAX_DAYS)
    rule = _rule(lateral_m, max_speed_kmh, min_share, kinds)
    table = sweep_table(conn, first, last, company=company, rule=rule, tz=settings.timezone)
    name = f"sweeping-{first}-{last}"
    if format == "csv":
        return csv_file(f"{name}.csv", sweep_csv(table))
    if format == "xlsx":
        return download(f"{name}.xlsx", lambda p: sweep_xlsx(table, p), XLSX)
    return table.as_json()


@router.get("/sanitation/self-handling")
def self_handled_share(
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    first: Annotated[str, Query(alias="from", description="First day, YYYY-MM-DD.")],
    last: Annotated[str, Query(alias="to", description="Last day, YYYY-MM-DD.")],
) -> dict[str, Any]:
    """Self-handled sanitation cases per company, their share and tier points (DOMAIN §7)."""
    query = indicator_query(request.query_params, settings, level="company")
    assert query is not None
    result = self_handling(conn, query)
    return {
        "from": query.period.start.isoformat(),
        "to": query.period.end.isoformat(),
        "cutoff": query.period.cutoff.isoformat(),
        "rows": result.rows,
        "totals": result.totals,
    }
