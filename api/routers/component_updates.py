"""Component updates: upload → dry-run plan → review (JSON, XLSX) → apply or reject; history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.engine import Connection

from api.auth import actor_of, note_plan
from api.deps import CatalogueDep, ConnDep, SettingsDep
from api.downloads import XLSX, download
from api.jobs import submit
from api.uploads import saved_upload
from geogrid.changes.plans import Plan, get_plan, list_plans, reject_plan
from geogrid.components import update
from geogrid.components.report import write_component_plan_xlsx
from geogrid.components.upload import read_component_upload
from geogrid.jobs import Progress

router = APIRouter(tags=["Component updates"])

AsyncParam = Annotated[
    bool, Query(alias="async", description="Run as a background job: 202 with the job's link.")
]
DecidedBy = Annotated[
    str | None, Form(max_length=100, description="Name recorded as the author (default: the login)")
]
CHANGES_PAGE = 1000


def _url(request: Request, plan_id: int) -> str:
    return str(request.base_url).rstrip("/") + f"/component-updates/{plan_id}"


def _body(request: Request, plan: Plan, conn: Connection, offset: int = 0) -> dict[str, Any]:
    note_plan(request, plan)  # the audit row of a write names the plan
    base = _url(request, plan.id)
    changes = update.plan_changes(conn, plan.id, limit=CHANGES_PAGE, offset=offset)
    links = {
        "self": base,
        "xlsx": f"{base}/changes.xlsx",
        "apply": f"{base}/apply",
        "reject": f"{base}/reject",
    }
    if len(changes) == CHANGES_PAGE:
        links["next"] = f"{base}?offset={offset + CHANGES_PAGE}"
    return {**plan.as_dict(), "changes": changes, "links": links}


@router.post("/component-updates", status_code=201, response_model=None)
def create_component_update(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile, CSV")],
    crs: Annotated[str | None, Form(description="CRS of a file without one, or gcj02")] = None,
    partial: Annotated[bool, Form(description="Only some components: remove nothing")] = False,
    effective_from: Annotated[datetime | None, Form(description="When it takes effect")] = None,
    submitted_by: DecidedBy = None,
    run_async: AsyncParam = False,
) -> dict[str, Any] | JSONResponse:
    """Upload components; returns the dry-run plan (added, removed, moved, recoded, …)."""
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        upload = read_component_upload(path, crs=crs, file_name=file.filename or path.name)

    def work(c: Connection, progress: Progress) -> dict[str, Any]:
        plan = update.plan_component_update(
            c,
            upload,
            catalogue=catalogue,
            created_by=actor_of(request, submitted_by),
            partial=partial,
            effective_from=effective_from,
            progress=progress,
        )
        return {"plan": plan.id, "links": {"plan": _url(request, plan.id)}}

    if run_async:
        body = submit(
            request, kind="component-plan", created_by=actor_of(request, submitted_by), work=work
        )
        return JSONResponse(body, status_code=202)
    plan_id = work(conn, lambda stage, fraction: None)["plan"]
    return _body(request, get_plan(conn, plan_id), conn)


@router.get("/component-updates")
def list_component_updates(conn: ConnDep) -> list[dict[str, Any]]:
    """The newest component plans, newest first."""
    return [p.as_dict() for p in list_plans(conn, kind=update.KIND)]


@router.get("/component-updates/{plan_id}")
def component_update(
    plan_id: int,
    request: Request,
    conn: ConnDep,
    offset: Annotated[int, Query(ge=0, description="First change listed")] = 0,
) -> dict[str, Any]:
    """One plan: summary and its changes (1,000 per page), status."""
    return _body(request, get_plan(conn, plan_id, kind=update.KIND), conn, offset)


@router.get("/component-updates/{plan_id}/changes.xlsx")
def component_update_xlsx(plan_id: int, conn: ConnDep) -> FileResponse:
    """The plan as a workbook: overview and every change (变更明细)."""
    get_plan(conn, plan_id, kind=update.KIND)
    return download(
        f"component-plan-{plan_id}.xlsx",
        lambda path: write_component_plan_xlsx(conn, plan_id, path),
        XLSX,
    )


@router.post("/component-updates/{plan_id}/apply", response_model=None)
def apply_component_update(
    plan_id: int,
    request: Request,
    conn: ConnDep,
    decided_by: DecidedBy = None,
    run_async: AsyncParam = False,
) -> dict[str, Any] | JSONResponse:
    """Apply a pending plan in one transaction; a stale plan is refused (409)."""
    get_plan(conn, plan_id, kind=update.KIND)

    def work(c: Connection, progress: Progress) -> dict[str, Any]:
        plan = update.apply_component_update(
            c, plan_id, decided_by=actor_of(request, decided_by), progress=progress
        )
        return {"plan": plan.id, "status": plan.status, "links": {"plan": _url(request, plan.id)}}

    if run_async:
        body = submit(
            request, kind="component-apply", created_by=actor_of(request, decided_by), work=work
        )
        return JSONResponse(body, status_code=202)
    work(conn, lambda stage, fraction: None)
    return _body(request, get_plan(conn, plan_id), conn)


@router.post("/component-updates/{plan_id}/reject")
def reject_component_update(
    plan_id: int, request: Request, conn: ConnDep, decided_by: DecidedBy = None
) -> dict[str, Any]:
    """Reject a plan; it stays on record."""
    plan = reject_plan(conn, plan_id, kind=update.KIND, decided_by=actor_of(request, decided_by))
    return _body(request, plan, conn)


@router.get("/components/{code}/history")
def component_history(code: str, conn: ConnDep) -> dict[str, Any]:
    """Every version of a component, oldest first (history is never deleted)."""
    return {"code": code, "versions": update.component_history(conn, code)}


@router.get("/component-versions")
def component_versions(conn: ConnDep) -> dict[str, list[int]]:
    """Applied component versions (plan ids); 0 is the initial state."""
    return {"versions": update.applied_versions(conn)}


@router.post("/component-versions/{version}/restore")
def restore_component_version(
    version: int,
    request: Request,
    conn: ConnDep,
    catalogue: CatalogueDep,
    decided_by: DecidedBy = None,
) -> dict[str, Any]:
    """Roll the inventory back to a version; the roll-back is itself a new, applied version."""
    plan = update.restore_component_version(
        conn, version, catalogue=catalogue, created_by=actor_of(request, decided_by)
    )
    return _body(request, plan, conn)
