"""The patrol coverage map page (巡查覆盖图).

Query values arrive as text and are checked by the core (``geogrid.patrol.mapdata``), so a
form sent with empty fields works and every refusal is one sentence naming the parameter.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ReadConnDep, SettingsDep
from geogrid.features.query import layer_versions
from geogrid.patrol.mapdata import coverage_map_data, parse_coverage_query
from geogrid.territory.store import district_names
from maps.coverage import build_coverage_map

router = APIRouter(tags=["Patrol"])

HTML_HEADERS = {"Cache-Control": "no-cache"}
#: Coverage over a long period takes seconds: pages are kept per question and data version.
PAGE_LAYERS = ("fixes", "supervisors", "supervisor_grids", "grids", "streets", "districts")
PAGES_KEPT = 8


class CoverageQuery(BaseModel):
    """The period (local days, both included), a supervisor and the day of their track."""

    model_config = ConfigDict(populate_by_name=True)

    start: str | None = Field(
        None, alias="from", description="First day, YYYY-MM-DD (default: last day with fixes)."
    )
    end: str | None = Field(None, alias="to", description="Last day, YYYY-MM-DD (≤ 93 days).")
    supervisor: str | None = Field(None, description="Supervisor id: their grids and track.")
    track_date: str | None = Field(None, description="Day of the track (default: 'to').")

    def values(self) -> dict[str, str | None]:
        return self.model_dump(by_alias=True)


@router.get("/maps/coverage", response_class=HTMLResponse)
def coverage_map(
    request: Request,
    query: Annotated[CoverageQuery, Query()],
    conn: ReadConnDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """Map of patrol coverage: grids by days patrolled, never patrolled in red, one track."""
    tz = settings.timezone
    asked = parse_coverage_query(conn, query.values(), tz=tz)
    key = (asked, layer_versions(conn, PAGE_LAYERS), settings.basemap_url)
    pages: OrderedDict[object, str] = request.app.state.__dict__.setdefault(
        "coverage_pages", OrderedDict()
    )
    html = pages.get(key)
    if html is None:
        data = coverage_map_data(
            conn,
            asked.first,
            asked.last,
            supervisor=asked.supervisor,
            track_day=asked.track_day,
            tz=tz,
        )
        fmap = build_coverage_map(
            data,
            basemap_url=settings.basemap_url,
            basemap_attribution=settings.basemap_attribution,
            title="、".join(district_names(conn).values()) or None,
        )
        html = pages[key] = fmap.get_root().render()
        while len(pages) > PAGES_KEPT:
            pages.popitem(last=False)
    pages.move_to_end(key)
    return HTMLResponse(html, headers=HTML_HEADERS)
