"""Hotspots of cases over the unit grids (Getis-Ord Gi*): GeoJSON and the map page.

Query values arrive as text and are checked by the core (``geogrid.hotspots.request``), so every
refusal is one sentence naming the parameter.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CatalogueDep, ReadConnDep, SettingsDep
from geogrid.features.query import layer_versions
from geogrid.hotspots import find_hotspots, hotspot_page, hotspots_geojson, parse_hotspot_request
from geogrid.territory.store import district_names
from maps.hotspots import build_hotspots_map

router = APIRouter(tags=["hotspots"])

GEOJSON = "application/geo+json"
HTML_HEADERS = {"Cache-Control": "no-cache"}
#: A city-scale page takes seconds to build: pages are kept per query and data version.
PAGE_LAYERS = ("cases", "grids", "communities", "streets", "districts")
PAGES_KEPT = 8


class CaseQuery(BaseModel):
    """Which cases: the period (local days, both included) and optional filters."""

    model_config = ConfigDict(populate_by_name=True)

    start: str | None = Field(None, alias="from", description="First day, YYYY-MM-DD.")
    end: str | None = Field(None, alias="to", description="Last day, YYYY-MM-DD (≤ 366 days).")
    sub_class: str | None = Field(None, description="5-digit subclass code, e.g. 06010.")
    source: str | None = Field(None, description="Case source, e.g. hotline.")

    def values(self) -> dict[str, str | None]:
        return self.model_dump(by_alias=True)


class HotspotQuery(CaseQuery):
    """A Gi* analysis: the cases, the value, the weights and the significance test."""

    value: str | None = Field(None, description="count (default) or density (cases per km²).")
    weights: str | None = Field(None, description="queen (default), rook, distance or knn.")
    distance_m: str | None = Field(None, description="Band in metres (weights=distance).")
    k: str | None = Field(None, description="Neighbours (weights=knn), default 8.")
    permutations: str | None = Field(None, description="0 (normal p) to 9999 (pseudo p).")
    fdr: str | None = Field(None, description="true: false-discovery-rate correction.")
    boundaries: str | None = Field(None, description="current (default) or registered grids.")


@router.get("/hotspots", response_class=JSONResponse)
def hotspots(
    query: Annotated[HotspotQuery, Query()], conn: ReadConnDep, settings: SettingsDep
) -> JSONResponse:
    """Getis-Ord Gi* hot and cold spots of the cases of a period, per unit grid (GeoJSON)."""
    result = find_hotspots(conn, parse_hotspot_request(query.values()), tz=settings.timezone)
    return JSONResponse(hotspots_geojson(result), media_type=GEOJSON)


@router.get("/maps/hotspots", response_class=HTMLResponse)
def hotspots_map(
    request: Request,
    query: Annotated[CaseQuery, Query()],
    conn: ReadConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
) -> HTMLResponse:
    """Map of case hotspots (Gi* classes of the grids), case heat and the latest cases."""
    versions = layer_versions(conn, PAGE_LAYERS)
    key = (tuple(sorted((k, v or "") for k, v in query.values().items())), versions)
    pages: OrderedDict[object, str] = request.app.state.__dict__.setdefault(
        "hotspot_pages", OrderedDict()
    )
    html = pages.get(key)
    if html is None:
        page = hotspot_page(
            conn, query.values(), tz=settings.timezone, sub_class_name=catalogue.name
        )
        fmap = build_hotspots_map(
            page,
            basemap_url=settings.basemap_url,
            basemap_attribution=settings.basemap_attribution,
            title="、".join(district_names(conn).values()) or None,
        )
        html = pages[key] = fmap.get_root().render()
        while len(pages) > PAGES_KEPT:
            pages.popitem(last=False)
    pages.move_to_end(key)
    return HTMLResponse(html, headers=HTML_HEADERS)
