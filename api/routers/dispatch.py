"""Responsibility rules and dispatch: upload → dry-run plan → review → apply or reject; dispatch."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy.engine import Connection

from api.auth import actor_of, note_plan
from api.deps import CatalogueDep, ConnDep, SettingsDep
from api.uploads import saved_upload
from geogrid.changes.plans import Plan, get_plan, list_plans, reject_plan
from geogrid.crs import gcj02_to_wgs84
from geogrid.dispatch import dispatch, update
from geogrid.dispatch.upload import read_rule_upload

router = APIRouter(tags=["Responsibility and dispatch"])

DecidedBy = Annotated[
    str | None, Form(max_length=100, description="Name recorded as the author (default: the login)")
]
At = Annotated[datetime | None, Query(description="Time the rules must be valid at (default now).")]
CHANGES_PAGE = 1000


def _aware(at: datetime | None, tz: str) -> datetime | None:
    return at.replace(tzinfo=ZoneInfo(tz)) if at is not None and at.tzinfo is None else at


def _url(request: Request, plan_id: int) -> str:
    return str(request.base_url).rstrip("/") + f"/responsibility-updates/{plan_id}"


def _body(request: Request, plan: Plan, conn: Connection, offset: int = 0) -> dict[str, Any]:
    note_plan(request, plan)  # the audit row of a write names the plan
    base = _url(request, plan.id)
    changes = update.plan_changes(conn, plan.id, limit=CHANGES_PAGE, offset=offset)
    links = {
        "self": base,
        "redispatch": f"{base}/redispatch",
        "apply": f"{base}/apply",
        "reject": f"{base}/reject",
    }
    if len(changes) == CHANGES_PAGE:
        links["next"] = f"{base}?offset={offset + CHANGES_PAGE}"
    problems = plan.summary.get("conflicts", [])
    return {**plan.as_dict(), "problems": problems, "changes": changes, "links": links}


@router.post("/responsibility-updates", status_code=201)
def create_responsibility_update(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    file: Annotated[
        UploadFile, File(description="CSV/XLSX with grid lists, or GeoJSON/GeoPackage areas")
    ],
    crs: Annotated[str | None, Form(description="CRS of a file without one, or gcj02")] = None,
    partial: Annotated[bool, Form(description="Only some rules: remove nothing")] = False,
    effective_from: Annotated[datetime | None, Form(description="When it takes effect")] = None,
    submitted_by: DecidedBy = None,
) -> dict[str, Any]:
    """Upload responsibility rules; returns the dry-run plan (changes, conflicts, re-dispatch)."""
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        upload = read_rule_upload(path, crs=crs, file_name=file.filename or path.name)
    plan = update.plan_responsibility_update(
        conn,
        upload,
        catalogue=catalogue,
        created_by=actor_of(request, submitted_by),
        partial=partial,
        effective_from=effective_from,
        tz=settings.timezone,
    )
    return _body(request, plan, conn)


@router.get("/responsibility-updates")
def list_responsibility_updates(conn: ConnDep) -> list[dict[str, Any]]:
    """The newest responsibility plans, newest first."""
    return [p.as_dict() for p in list_plans(conn, kind=update.KIND)]


@router.get("/responsibility-updates/{plan_id}")
def responsibility_update(
    plan_id: int,
    request: Request,
    conn: ConnDep,
    offset: Annotated[int, Query(ge=0, description="First change listed")] = 0,
) -> dict[str, Any]:
    """One plan: summary, conflicts (problems), changes (1,000 per page), status."""
    return _body(request, get_plan(conn, plan_id, kind=update.KIND), conn, offset)


@router.get("/responsibility-updates/{plan_id}/redispatch")
def responsibility_redispatch(
    plan_id: int,
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    at: At = None,
    limit: Annotated[int, Query(ge=0, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Open cases that would move to another unit if the plan were applied, per unit pair."""
    return update.redispatch_plan(
        conn,
        plan_id,
        catalogue=catalogue,
        at=_aware(at, settings.timezone),
        limit=limit,
        offset=offset,
    )


@router.post("/responsibility-updates/{plan_id}/apply")
def apply_responsibility_update(
    plan_id: int, request: Request, conn: ConnDep, decided_by: DecidedBy = None
) -> dict[str, Any]:
    """Apply a pending plan; refused when stale (409) or when it leaves conflicts (422)."""
    update.apply_responsibility_update(conn, plan_id, decided_by=actor_of(request, decided_by))
    return _body(request, get_plan(conn, plan_id), conn)


@router.post("/responsibility-updates/{plan_id}/reject")
def reject_responsibility_update(
    plan_id: int, request: Request, conn: ConnDep, decided_by: DecidedBy = None
) -> dict[str, Any]:
    """Reject a plan; it stays on record."""
    plan = reject_plan(conn, plan_id, kind=update.KIND, decided_by=actor_of(request, decided_by))
    return _body(request, plan, conn)


@router.get("/responsibility-rules")
def responsibility_rules(conn: ConnDep, settings: SettingsDep, at: At = None) -> dict[str, Any]:
    """The current rules (valid at `at` when given), most specific first."""
    at = _aware(at, settings.timezone)
    rules = update.current_rules(conn, at=at)
    return {"at": at.isoformat() if at else None, "numberMatched": len(rules), "rules": rules}


@router.get("/responsibility-rules/{code}/history")
def responsibility_rule_history(code: str, conn: ConnDep) -> dict[str, Any]:
    """Every version of a rule, oldest first (history is never deleted)."""
    return {"code": code, "versions": update.rule_history(conn, code)}


@router.get("/dispatch")
def dispatch_case(
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    sub_class: Annotated[str, Query(min_length=1, max_length=16)],
    case_type: Literal["component", "event"] | None = None,
    at: At = None,
    crs: Literal["wgs84", "cgcs2000", "gcj02"] = "wgs84",
) -> dict[str, Any]:
    """The responsible unit of a case at a place, of a subclass, and the rule and reason."""
    if crs == "gcj02":
        x, y = gcj02_to_wgs84(lon, lat)
        lon, lat = float(x), float(y)
    result = dispatch(
        conn,
        lon,
        lat,
        sub_class,
        at,
        catalogue=catalogue,
        case_type=case_type,
        tz=settings.timezone,
    )
    return result.as_dict()
