"""Indicators (DOMAIN.md §4) per level and period, and the monthly report tables."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import CatalogueDep, ReadConnDep, SettingsDep
from api.downloads import XLSX, csv_file, download
from api.indicator_params import indicator_query
from geogrid.errors import InvalidParameter
from geogrid.indicators import IndicatorQuery, compute_indicators, compute_shares
from geogrid.indicators.html import render_monthly_report
from geogrid.indicators.report import (
    indicator_csv,
    indicator_xlsx,
    monthly_report,
    write_report_xlsx,
)
from geogrid.satellite.scoring import score_patches
from geogrid.territory.store import district_names

router = APIRouter(tags=["Indicators"])


@router.get("/indicators", response_model=None)
def indicators(
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    level: Annotated[
        str,
        Query(
            description="grid, community, street, district, department, source, platform, sub_class"
        ),
    ] = "street",
    from_: Annotated[str | None, Query(alias="from", description="First day, YYYY-MM-DD.")] = None,
    to: Annotated[str | None, Query(description="Last day, YYYY-MM-DD.")] = None,
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")
    ] = "json",
    top: Annotated[int, Query(ge=1, le=100, description="Top-N subclasses per type.")] = 10,
    include: Annotated[
        Literal["satellite"] | None,
        Query(description="satellite: scores of the patch batches dispatched in the period."),
    ] = None,
) -> dict[str, Any] | Response:
    """Indicators of the cases registered in a period, per level (cutoff, filters, boundaries)."""
    if from_ is None or to is None:
        raise InvalidParameter("Parameters 'from' and 'to' (days, YYYY-MM-DD) are required.")
    query = indicator_query(request.query_params, settings, level=level)
    assert query is not None
    table = compute_indicators(conn, query)
    name = f"indicators-{query.level}-{query.period.start}-{query.period.end}"
    if format == "csv":
        return csv_file(f"{name}.csv", indicator_csv(table))
    if format == "xlsx":
        return download(f"{name}.xlsx", lambda p: indicator_xlsx(table, p), XLSX)
    shares = compute_shares(conn, query, catalogue, top=top)
    extra = {}
    if include == "satellite":
        span = query.period
        extra["satellite"] = score_patches(
            conn, dispatched_from=span.t0, dispatched_to=span.t1, at=span.cutoff
        )
    return {
        "level": query.level,
        "period": {
            "from": query.period.start.isoformat(),
            "to": query.period.end.isoformat(),
            "cutoff": query.period.cutoff.isoformat(),
        },
        "parameters": {
            k: v for k, v in dataclasses.asdict(query).items() if k not in ("level", "period")
        },
        "columns": table.columns,
        "rows": table.rows,
        "totals": table.totals,
        "top_sub_classes": shares.top_sub_classes,
        "sources": shares.sources,
        **extra,
    }


@router.get("/reports/monthly", response_model=None)
def monthly(
    conn: ReadConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
    month: Annotated[str, Query(description="YYYY-MM")],
    format: Annotated[Literal["xlsx", "html"], Query(description="xlsx or html")] = "html",
) -> Response:
    """The month's department tables (city, district platform), sources, top-10 subclasses."""
    query = IndicatorQuery.monthly(month, **settings.indicator_options())
    names = "、".join(district_names(conn).values())
    report = monthly_report(conn, query, catalogue, month=month, district_name=names)
    if format == "xlsx":
        return download(f"monthly-{month}.xlsx", lambda p: write_report_xlsx(report, p), XLSX)
    return HTMLResponse(render_monthly_report(report))
