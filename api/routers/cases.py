"""Cases (案件): register one, import a CSV/XLSX table; read them as the `cases` collection."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from api.auth import WriterDep, note_change
from api.deps import CalendarDep, CatalogueDep, ConnDep, SettingsDep
from api.jobs import submit
from api.uploads import saved_upload
from geogrid.cases import register_case
from geogrid.cases.parse import parse_cases
from geogrid.cases.store import store_cases
from geogrid.features import registry
from geogrid.features.query import get_item
from geogrid.io.sheets import read_table
from geogrid.jobs import Progress

router = APIRouter(tags=["Cases"])

CrsForm = Annotated[
    Literal["wgs84", "cgcs2000", "gcj02"],
    Form(description="Coordinates: wgs84 (also CGCS2000) or gcj02 (converted, original kept)."),
]


class CaseIn(BaseModel):
    """One case, with the fields of the import contract (DOMAIN.md §3)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(max_length=64)
    source: str
    sub_class: str = Field(description="5-digit class code (legacy codes are mapped).")
    lon: float
    lat: float
    platform: str | None = None
    case_type: Literal["component", "event"] | None = None
    major_class: str | None = None
    description: str | None = Field(default=None, max_length=2000)
    department: str | None = None
    urgency: Literal["normal", "urgent"] | None = None
    component_code: str | None = None
    reported_at: datetime | None = None
    registered_at: datetime | None = None
    dispatched_at: datetime | None = None
    handled_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None
    rework_count: int = Field(default=0, ge=0)
    extended: bool = False
    postponed: bool = False
    returned_count: int = Field(default=0, ge=0)
    satisfaction: Literal["满意", "基本满意", "不满意"] | None = None
    crs: Literal["wgs84", "cgcs2000", "gcj02"] = "wgs84"


@router.post("/cases", status_code=201, response_class=JSONResponse)
def create_case(
    request: Request,
    case: CaseIn,
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    calendar: CalendarDep,
    writer: WriterDep,
) -> JSONResponse:
    """Register (or update) one case; it is located in its grid, community and street."""
    record = case.model_dump(exclude_none=True, exclude={"crs"})
    for key, value in record.items():
        if isinstance(value, datetime):
            record[key] = value.isoformat()
    note_change(request, entity_id=case.case_id)
    result = register_case(
        conn,
        record,
        catalogue=catalogue,
        calendar=calendar,
        tz=settings.timezone,
        crs=case.crs,
        scope=writer.scope,
    )
    note_change(request, summary={"inserted": result.inserted, "updated": result.updated})
    feature = json.loads(get_item(conn, registry.get("cases"), case.case_id))
    return JSONResponse(feature, status_code=201 if result.inserted else 200)


@router.post("/cases/import", response_model=None)
def import_cases(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    calendar: CalendarDep,
    writer: WriterDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX with the case columns")],
    crs: CrsForm = "wgs84",
    run_async: Annotated[
        bool, Query(alias="async", description="Store as a background job: 202 with its link.")
    ] = False,
) -> dict[str, Any] | JSONResponse:
    """Import cases (idempotent on case_id); a bad row refuses the whole file, listing all."""
    shown = file.filename or "cases"
    with saved_upload(file, max_bytes=settings.max_upload_mb << 20) as path:
        frame = read_table(path, name=shown)
    table = parse_cases(
        frame, catalogue=catalogue, calendar=calendar, tz=settings.timezone, crs=crs, shown=shown
    )

    def work(c: Connection, progress: Progress) -> dict[str, Any]:
        result = store_cases(c, table, shown=shown, progress=progress, scope=writer.scope)
        return {
            "file": shown,
            "rows": len(table),
            "inserted": result.inserted,
            "updated": result.updated,
        }

    if run_async:
        job = submit(request, kind="case-import", created_by=writer.actor, work=work)
        note_change(request, summary={"file": shown, "rows": len(table), "job": job["job"]})
        return JSONResponse(job, 202)
    result = work(conn, lambda stage, fraction: None)
    note_change(request, summary=result)
    return result
