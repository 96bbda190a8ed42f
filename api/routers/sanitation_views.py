"""The sanitation map page (环卫作业图): areas, segments by share swept, tracks, open cases.

Query values arrive as text and are checked by the core (``geogrid.sanitation.mapdata``), so
a form sent with empty fields works and every refusal is one sentence naming the parameter.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import ReadConnDep, SettingsDep
from geogrid.features.query import layer_versions
from geogrid.sanitation.mapdata import parse_sanitation_query, sanitation_map_data
from geogrid.territory.store import district_names
from maps.sanitation import build_sanitation_map

router = APIRouter(tags=["Sanitation"])

HTML_HEADERS = {"Cache-Control": "no-cache"}
#: A day's page takes a second to measure: pages are kept per question and data version.
PAGE_LAYERS = (
    "fixes",
    "cases",
    "sanitation_companies",
    "sanitation_areas",
    "sanitation_segments",
    "sanitation_trackers",
    "districts",
)
PAGES_KEPT = 8


class SanitationQuery(BaseModel):
    """The day shown and one company (id or name; empty: all)."""

    date: str | None = Field(None, description="Day, YYYY-MM-DD (default: newest with fixes).")
    company: str | None = Field(None, description="A company's id or name (default: all).")


@router.get("/maps/sanitation", response_class=HTMLResponse)
def sanitation_map(
    request: Request,
    query: Annotated[SanitationQuery, Query()],
    conn: ReadConnDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """Map of a day's street cleaning: areas, segments by share swept, tracks, open cases."""
    tz = settings.timezone
    asked = parse_sanitation_query(conn, query.model_dump(), tz=tz)
    key = (asked, layer_versions(conn, PAGE_LAYERS), settings.basemap_url)
    pages: OrderedDict[object, str] = request.app.state.__dict__.setdefault(
        "sanitation_pages", OrderedDict()
    )
    html = pages.get(key)
    if html is None:
        data = sanitation_map_data(conn, asked.day, company=asked.company, tz=tz)
        fmap = build_sanitation_map(
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
