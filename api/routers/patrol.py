"""Supervisors (监督员) with their assigned grids, and the ingest of their GPS fixes."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ConnDep, SettingsDep
from geogrid.errors import InvalidParameter
from geogrid.patrol.coverage import CoverageRule, grid_visits
from geogrid.patrol.fixes import known_supervisors, parse_fixes, store_fixes
from geogrid.patrol.supervisors import (
    SupervisorSpec,
    get_supervisor,
    list_supervisors,
    register_supervisors,
)
from geogrid.patrol.tracks import MAX_GAP_S, track_of_day

router = APIRouter(tags=["Patrol"])
MAX_FIXES = 100_000


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
    lon: float
    lat: float
    accuracy_m: float | None = None
    speed: float | None = None
    heading: float | None = None
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
    supervisor: Annotated[str | None, Query(description="One supervisor's grids only.")] = None,
) -> dict[str, Any]:
    """Each assigned grid with its visits (days patrolled) and dwell seconds in the period."""
    if last < first or (last - first).days > 92:
        raise InvalidParameter("Parameters 'from' and 'to' must span 1 to 93 days, in order.")
    if supervisor is not None:
        get_supervisor(conn, supervisor)
    rows = grid_visits(conn, first, last, supervisor=supervisor, tz=settings.timezone)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "rule": CoverageRule().__dict__,
        "grids": rows,
    }


@router.post("/tracks")
def post_tracks(batch: TrackBatch, conn: ConnDep, settings: SettingsDep) -> dict[str, int]:
    """Ingest a batch of fixes; re-sent fixes change nothing; bad rows refuse the batch."""
    frame = pd.DataFrame([f.model_dump() for f in batch.fixes]).astype(object)
    frame = frame.where(frame.notna(), "").astype(str)
    district, ids, devices = known_supervisors(conn)
    fixes = parse_fixes(
        frame,
        supervisors=ids,
        devices=devices,
        crs=batch.crs,
        tz=settings.timezone,
        shown="batch",
    )
    result = store_fixes(conn, fixes, district_code=district)
    return {
        "received": result.received,
        "inserted": result.inserted,
        "duplicates": result.duplicates,
        "flagged": result.flagged,
    }
