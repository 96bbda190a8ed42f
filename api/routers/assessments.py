"""Assessment runs (考核, DOMAIN.md §7): score and store, read, enter manual inputs, bulletin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection
from starlette.datastructures import UploadFile as FormFile

from api.auth import actor_of
from api.deps import CatalogueDep, ConnDep, ReadConnDep, SettingsDep
from api.downloads import CSV, XLSX, download
from api.jobs import submit
from api.uploads import saved_upload
from geogrid.assessment.bulletin import build_bulletin
from geogrid.assessment.bulletin_docx import write_bulletin_docx
from geogrid.assessment.bulletin_files import render_bulletin_html, write_bulletin_xlsx
from geogrid.assessment.entries import rule_source
from geogrid.assessment.result import result_csv, result_xlsx
from geogrid.assessment.runs import (
    MAX_LISTED,
    Run,
    create_run,
    enter_inputs,
    enter_inputs_table,
    get_run,
    list_runs,
)
from geogrid.assessment.template import write_template
from geogrid.errors import InvalidParameter
from geogrid.jobs import Progress
from geogrid.patrol.coverage import CoverageRule

router = APIRouter(tags=["Assessments"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_RULES_CHARS = 500_000
Level = Literal["district", "street", "community", "grid", "department"]


class AssessmentIn(BaseModel):
    """A rule set to score for a period, with optional units filter and manual inputs."""

    model_config = ConfigDict(extra="forbid")

    rules: str = Field(
        min_length=1,
        max_length=MAX_RULES_CHARS,
        description="A preset name (kunming-district-2021, template-2022, dongying-2018, "
        "district-detail) or the rule set's YAML text.",
    )
    month: str = Field(description="YYYY-MM; YYYY for an annual rule set.", max_length=7)
    level: Level | None = Field(None, description="Units scored; default the rule set's.")
    units: list[str] | None = Field(
        None, max_length=20_000, description="Show only these units (codes or names)."
    )
    manual: dict[str, dict[str, Any]] | None = Field(
        None, description="Manual inputs: {unit: {item: value}}, unit by code or name."
    )
    created_by: str | None = Field(
        None, min_length=1, max_length=100, description="Author's name (default: the login)"
    )


def _links(root: str, run_id: int) -> dict[str, str]:
    base = f"{root}/assessments/{run_id}"
    return {
        "self": base,
        "inputs": f"{base}/inputs",
        "template": f"{base}/template.xlsx",
        "bulletin_html": f"{base}/bulletin?format=html",
        "bulletin_xlsx": f"{base}/bulletin?format=xlsx",
        "bulletin_docx": f"{base}/bulletin?format=docx",
    }


def _body(request: Request, run: Run) -> dict[str, Any]:
    return {**run.as_dict(), "links": _links(str(request.base_url).rstrip("/"), run.id)}


@router.post("/assessments", status_code=201, response_model=None)
def create_assessment(
    body: AssessmentIn,
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    run_async: Annotated[
        bool, Query(alias="async", description="Score as a background job: 202 with its link.")
    ] = False,
) -> dict[str, Any] | JSONResponse:
    """Score a rule set for a month (or year) and store the run; per unit and item, why."""
    source = rule_source(body.rules, files_allowed=False)

    def work(c: Connection, progress: Progress) -> Run:
        return create_run(
            c,
            source,
            body.month,
            created_by=actor_of(request, body.created_by),
            level=body.level,
            units=body.units,
            manual=body.manual,
            indicator_options=settings.indicator_options(),
            coverage_rule=CoverageRule(),
            progress=progress,
        )

    if run_async:
        root = str(request.base_url).rstrip("/")

        def job(c: Connection, progress: Progress) -> dict[str, Any]:
            run = work(c, progress)
            return {"assessment": run.id, "status": run.status, "links": _links(root, run.id)}

        return JSONResponse(
            submit(
                request, kind="assessment", created_by=actor_of(request, body.created_by), work=job
            ),
            202,
        )
    return _body(request, work(conn, lambda stage, fraction: None))


@router.get("/assessments")
def assessments(
    conn: ReadConnDep,
    rule_set: Annotated[str | None, Query(description="Only runs of this rule set.")] = None,
    period: Annotated[str | None, Query(description="Only runs of this period.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> list[dict[str, Any]]:
    """The stored runs, newest first: rule set, period, level, status, units, pending items."""
    return list_runs(conn, rule_set=rule_set, period=period, limit=limit)


@router.get("/assessments/{run_id}", response_model=None)
def assessment(
    run_id: int,
    request: Request,
    conn: ReadConnDep,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx (scores)")
    ] = "json",
) -> dict[str, Any] | Response:
    """A run: per unit and item the input, points and reasons; parts, totals, ranks; history."""
    run = get_run(conn, run_id)
    name = f"assessment-{run.id}-{run.period}"
    if format == "csv":
        return Response(
            "".join(result_csv(run.result)).encode(),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return download(f"{name}.xlsx", lambda p: result_xlsx(run.result, p), XLSX)
    return _body(request, run)


@dataclass(frozen=True)
class _ManualBody:
    entries: Any = None
    table: Path | None = None
    name: str | None = None


async def _manual_body(request: Request) -> AsyncIterator[_ManualBody]:
    """The inputs of a request: a JSON object, or a multipart upload in field ``file``."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, FormFile):
            raise InvalidParameter("Upload the CSV or XLSX of manual inputs in field 'file'.")
        limit = request.app.state.settings.max_upload_mb << 20
        with saved_upload(cast(UploadFile, upload), max_bytes=limit) as path:
            yield _ManualBody(table=path, name=upload.filename or path.name)
        return
    try:
        entries = await request.json()
    except ValueError:
        raise InvalidParameter(
            "Send the manual inputs as JSON {unit: {item: value}} or upload a table in the "
            "multipart field 'file'."
        ) from None
    yield _ManualBody(entries=entries)


_INPUTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "{unit: {item: value}}; null removes an input.",
                    "additionalProperties": {"type": "object", "additionalProperties": {}},
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post("/assessments/{run_id}/inputs", openapi_extra=_INPUTS_BODY)
def post_inputs(
    run_id: int,
    request: Request,
    conn: ConnDep,
    body: Annotated[_ManualBody, Depends(_manual_body)],
    entered_by: Annotated[str, Query(min_length=1, max_length=100)] = "api",
) -> dict[str, Any]:
    """Enter manual inputs (JSON or the XLSX template) and re-score; bad input changes nothing."""
    if body.table is not None:
        run = enter_inputs_table(conn, run_id, body.table, entered_by=entered_by, name=body.name)
    else:
        run = enter_inputs(conn, run_id, body.entries, entered_by=entered_by)
    return _body(request, run)


@router.get("/assessments/{run_id}/template.xlsx", response_class=Response)
def template(run_id: int, conn: ReadConnDep) -> Response:
    """The XLSX template of the run's manual inputs: a row per unit, a column per item."""
    run = get_run(conn, run_id)
    return download(f"assessment-{run.id}-inputs.xlsx", lambda p: write_template(run, p), XLSX)


@router.get("/assessments/{run_id}/bulletin", response_model=None)
def bulletin(
    run_id: int,
    conn: ReadConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    format: Annotated[Literal["html", "xlsx", "docx"], Query(description="html, xlsx, docx")] = (
        "html"
    ),
) -> Response:
    """The bulletin (通报): scores and ranking, case tables, sources, patrol, patches, map."""
    content = build_bulletin(
        conn,
        run_id,
        catalogue=catalogue,
        indicator_options=settings.indicator_options(),
        coverage_rule=CoverageRule(),
    )
    if format == "xlsx":
        name = content.file_name("xlsx")
        return download(name, lambda p: write_bulletin_xlsx(content, p), XLSX)
    if format == "docx":
        name = content.file_name("docx")
        return download(name, lambda p: write_bulletin_docx(content, p), DOCX)
    return HTMLResponse(render_bulletin_html(content))
