"""Supervisors (监督员) with their assigned grids, and the ingest of their GPS fixes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from api.auth import WriterDep, note_change
from api.deps import ConnDep, ReadConnDep, SettingsDep
from api.downloads import XLSX, csv_file, download
from api.jobs import submit
from geogrid.dates import check_period
from geogrid.errors import InvalidParameter
from geogrid.jobs import Progress
from geogrid.patrol.coverage import CoverageRule, grid_visits
from geogrid.patrol.fixes import known_supervisors, known_trackers, parse_fixes, store_fixes
from geogrid.patrol.response import (
    RADIUS_M,
    TARGET_S,
    Task,
    response_csv,
    response_times,
    response_xlsx,
    tasks_from_cases,
)
from geogrid.patrol.summary import CoverageTable, coverage_csv, coverage_table, coverage_xlsx
from geogrid.patrol.supervisors import (
    ShiftSpec,
    SupervisorSpec,
    get_supervisor,
    list_supervisors,
    register_supervisors,
    set_shifts,
)
from geogrid.patrol.tracks import MAX_GAP_S, track_of_day

router = APIRouter(tags=["Patrol"])
MAX_FIXES = 100_000
MAX_DAYS = 93
MAX_TASKS = 10_000


def rule_params(
    buffer_m: Annotated[
        float, Query(gt=0, le=500, description="Distance (m) from a grid that counts as in it.")
    ] = 20.0,
    max_gap_s: Annotated[
        int, Query(ge=1, le=3600, description="Longest gap (s) between fixes of one segment.")
    ] = 120,
    min_dwell_s: Annotated[
        int, Query(ge=0, le=36000, description="Seconds near a grid that make it patrolled.")
    ] = 30,
) -> CoverageRule:
    """The coverage rule of a request (DOMAIN.md §5 defaults)."""
    return CoverageRule(buffer_m=buffer_m, max_gap_s=max_gap_s, min_dwell_s=min_dwell_s)


RuleDep = Annotated[CoverageRule, Depends(rule_params)]


def _period(first: date, last: date) -> None:
    check_period(first, last, MAX_DAYS)


class SupervisorIn(BaseModel):
    """A supervisor and the grids assigned from ``valid_from``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    name: str = Field(max_length=100)
    level: Literal["city", "district"] = "district"
    device_id: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    grids: list[str] = Field(default_factory=list, max_length=2000)
    shift_start: time = time(8, 0)
    shift_end: time = time(18, 0)
    valid_from: date | None = None


class FixIn(BaseModel):
    """One GPS fix of a supervisor (or of a device)."""

    model_config = ConfigDict(extra="forbid")

    supervisor_id: str | None = None
    device_id: str | None = None
    timestamp: str
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, allow_inf_nan=False)
    speed: float | None = Field(default=None, allow_inf_nan=False)
    heading: float | None = Field(default=None, allow_inf_nan=False)
    source: str | None = None


class TrackBatch(BaseModel):
    """A batch of fixes in one coordinate system."""

    model_config = ConfigDict(extra="forbid")

    crs: Literal["wgs84", "cgcs2000", "gcj02"] = "wgs84"
    fixes: Annotated[list[FixIn], Field(min_length=1, max_length=MAX_FIXES)]


@router.post("/supervisors", status_code=201)
def create_supervisor(body: SupervisorIn, conn: ConnDep) -> dict[str, Any]:
    """Register (or update) a supervisor and the grids assigned from valid_from (default today)."""
    spec = SupervisorSpec(
        **body.model_dump(exclude={"grids", "valid_from"}),
        grids=tuple(body.grids),
        valid_from=body.valid_from or date.today(),
    )
    register_supervisors(conn, [spec], shown=f"supervisor {body.id}")
    return get_supervisor(conn, body.id)


@router.get("/supervisors")
def supervisors(conn: ConnDep) -> list[dict[str, Any]]:
    """Every supervisor with the grids assigned today."""
    return list_supervisors(conn)


@router.get("/supervisors/{supervisor_id}")
def supervisor(supervisor_id: str, conn: ConnDep) -> dict[str, Any]:
    """One supervisor with the grids assigned today."""
    return get_supervisor(conn, supervisor_id)


@router.get("/supervisors/{supervisor_id}/tracks")
def supervisor_track(
    supervisor_id: str,
    conn: ConnDep,
    settings: SettingsDep,
    day: Annotated[date, Query(alias="date", description="The day, YYYY-MM-DD (local time).")],
    max_gap_s: Annotated[int, Query(ge=10, le=3600, description="Longest gap in a segment.")] = (
        MAX_GAP_S
    ),
) -> dict[str, Any]:
    """A supervisor's track of one day: segments split at gaps, flagged fixes as points."""
    return track_of_day(conn, supervisor_id, day, tz=settings.timezone, max_gap_s=max_gap_s)


@router.get("/coverage/grids")
def coverage_grids(
    conn: ConnDep,
    settings: SettingsDep,
    first: Annotated[date, Query(alias="from", description="First day, YYYY-MM-DD.")],
    last: Annotated[date, Query(alias="to", description="Last day, YYYY-MM-DD.")],
    rule: RuleDep,
    supervisor: Annotated[str | None, Query(description="One supervisor's grids only.")] = None,
) -> dict[str, Any]:
    """Each assigned grid with its visits (days patrolled) and dwell seconds in the period."""
    _period(first, last)
    if supervisor is not None:
        get_supervisor(conn, supervisor)
    rows = grid_visits(conn, first, last, supervisor=supervisor, rule=rule, tz=settings.timezone)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "rule": asdict(rule),
        "grids": rows,
    }


def _coverage_json(table: CoverageTable) -> dict[str, Any]:
    return {
        "level": table.level,
        "from": table.first.isoformat(),
        "to": table.last.isoformat(),
        "rule": asdict(table.rule),
        "rows": table.rows,
        "totals": table.totals,
    }


@router.get("/coverage", response_model=None)
def coverage(
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    first: Annotated[date, Query(alias="from", description="First day, YYYY-MM-DD.")],
    last: Annotated[date, Query(alias="to", description="Last day, YYYY-MM-DD.")],
    rule: RuleDep,
    level: Annotated[
        Literal["supervisor", "community", "street", "district"],
        Query(description="supervisor, community, street or district"),
    ] = "supervisor",
    supervisor: Annotated[str | None, Query(description="One supervisor only.")] = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")
    ] = "json",
    run_async: Annotated[
        bool, Query(alias="async", description="Compute as a background job (json): 202.")
    ] = False,
    roads: Annotated[
        bool, Query(description="Also the share of road length near the track (slower).")
    ] = False,
) -> dict[str, Any] | Response:
    """Patrol coverage, online rate and off-post time of a period per supervisor or unit."""
    _period(first, last)
    if supervisor is not None:
        get_supervisor(conn, supervisor)

    def compute(c: Connection, progress: Progress) -> CoverageTable:
        return coverage_table(
            c,
            first,
            last,
            level=level,
            supervisor=supervisor,
            rule=rule,
            tz=settings.timezone,
            roads=roads,
            progress=progress,
        )

    if run_async:
        if format != "json":
            raise InvalidParameter("Parameter 'async' needs format=json.")
        return JSONResponse(
            submit(
                request,
                kind="coverage",
                work=lambda c, p: _coverage_json(compute(c, p)),
            ),
            202,
        )
    table = compute(conn, lambda stage, fraction: None)
    name = f"coverage-{level}-{first}-{last}"
    if format == "csv":
        return csv_file(f"{name}.csv", coverage_csv(table))
    if format == "xlsx":
        return download(f"{name}.xlsx", lambda p: coverage_xlsx(table, p), XLSX)
    return _coverage_json(table)


class TaskIn(BaseModel):
    """A supervisor sent to a place at a time (for a case)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(max_length=64)
    supervisor_id: str = Field(max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    dispatched_at: datetime


class TasksIn(BaseModel):
    """Tasks whose response times are wanted."""

    model_config = ConfigDict(extra="forbid")

    tasks: Annotated[list[TaskIn], Field(min_length=1, max_length=MAX_TASKS)]
    radius_m: float = Field(RADIUS_M, gt=0, le=1000)
    target_s: int = Field(TARGET_S, gt=0, le=86400)


def _responses(table: Any, name: str, format: str) -> dict[str, Any] | Response:
    if format == "csv":
        return csv_file(f"{name}.csv", response_csv(table))
    if format == "xlsx":
        return download(f"{name}.xlsx", lambda p: response_xlsx(table, p), XLSX)
    return {"totals": table.totals, "supervisors": table.supervisors, "tasks": table.tasks}


@router.get("/patrol/response-times", response_model=None)
def response_times_of_cases(
    conn: ReadConnDep,
    settings: SettingsDep,
    first: Annotated[date, Query(alias="from", description="First day, YYYY-MM-DD.")],
    last: Annotated[date, Query(alias="to", description="Last day, YYYY-MM-DD.")],
    supervisor: Annotated[str | None, Query(description="One supervisor only.")] = None,
    radius_m: Annotated[float, Query(gt=0, le=1000, description="Arrival distance (m).")] = (
        RADIUS_M
    ),
    target_s: Annotated[int, Query(gt=0, le=86400, description="Target response (s).")] = (
        TARGET_S
    ),
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")
    ] = "json",
) -> dict[str, Any] | Response:
    """Response times of the verification tasks the cases of a period gave supervisors."""
    _period(first, last)
    if supervisor is not None:
        get_supervisor(conn, supervisor)
    tasks = tasks_from_cases(conn, first, last, supervisor=supervisor, tz=settings.timezone)
    table = response_times(conn, tasks, radius_m=radius_m, target_s=target_s, tz=settings.timezone)
    return _responses(table, f"response-times-{first}-{last}", format)


@router.post("/patrol/response-times", response_model=None)
def response_times_of_tasks(
    body: TasksIn,
    conn: ReadConnDep,
    settings: SettingsDep,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")
    ] = "json",
) -> dict[str, Any] | Response:
    """Response times of tasks given in the request (times without an offset are local)."""
    _, ids, _ = known_supervisors(conn)
    unknown = sorted({t.supervisor_id for t in body.tasks} - ids)
    if unknown:
        raise InvalidParameter(
            f"Tasks name supervisors that are not registered: {', '.join(unknown[:10])}."
        )
    tasks = [
        Task(
            t.case_id,
            t.supervisor_id,
            t.lon,
            t.lat,
            t.dispatched_at
            if t.dispatched_at.tzinfo
            else t.dispatched_at.replace(tzinfo=ZoneInfo(settings.timezone)),
        )
        for t in body.tasks
    ]
    table = response_times(
        conn, tasks, radius_m=body.radius_m, target_s=body.target_s, tz=settings.timezone
    )
    return _responses(table, "response-times", format)


class ShiftIn(BaseModel):
    """A supervisor's shift on one day (replaces their default shift that day)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    day: date = Field(alias="date")
    shift_start: time
    shift_end: time


class ShiftsIn(BaseModel):
    """Shifts of days."""

    model_config = ConfigDict(extra="forbid")

    shifts: Annotated[list[ShiftIn], Field(min_length=1, max_length=366)]


@router.put("/supervisors/{supervisor_id}/shifts")
def put_shifts(supervisor_id: str, body: ShiftsIn, conn: ConnDep) -> dict[str, Any]:
    """Set a supervisor's shift on given days (other days keep the default shift)."""
    specs = [ShiftSpec(s.day, s.shift_start, s.shift_end) for s in body.shifts]
    return {"supervisor_id": supervisor_id, "days": set_shifts(conn, supervisor_id, specs)}


@router.post("/tracks")
def post_tracks(
    request: Request, batch: TrackBatch, conn: ConnDep, settings: SettingsDep, writer: WriterDep
) -> dict[str, int]:
    """Ingest a batch of fixes; re-sent fixes change nothing; bad rows refuse the batch."""
    frame = pd.DataFrame([f.model_dump() for f in batch.fixes]).astype(object)
    frame = frame.where(frame.notna(), "").astype(str)
    district, ids, devices = known_trackers(conn)
    fixes = parse_fixes(
        frame,
        supervisors=ids,
        devices=devices,
        crs=batch.crs,
        tz=settings.timezone,
        shown="batch",
    )
    result = store_fixes(conn, fixes, district_code=district, scope=writer.scope)
    counts = {
        "received": result.received,
        "inserted": result.inserted,
        "duplicates": result.duplicates,
        "flagged": result.flagged,
    }
    trackers = sorted(set(fixes["supervisor_id"]))
    note_change(request, entity_id=",".join(trackers)[:200], summary=counts)
    return counts
