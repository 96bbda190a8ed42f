"""Web map pages (folium), built from the same core queries as the API."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ReadConnDep, SettingsDep
from geogrid.features import registry
from geogrid.features.query import feature_collection, layer_versions
from geogrid.territory.store import district_names
from maps.grids import build_grids_map

router = APIRouter(tags=["Map pages"])

PAGE_FEATURE_LIMIT = 50000
HTML_HEADERS = {"Cache-Control": "no-cache"}


@router.get("/maps/grids", response_class=HTMLResponse)
def grids_map(request: Request, conn: ReadConnDep, settings: SettingsDep) -> HTMLResponse:
    """Map of the unit grids coloured by street, with community and street boundaries."""
    layers = ("grids", "communities", "streets", "districts")
    key = ("grids", layer_versions(conn, layers), settings.basemap_url)
    pages: dict[object, str] = request.app.state.map_pages
    html = pages.get(key)
    if html is None:
        data = {
            name: json.loads(feature_collection(conn, registry.get(name), limit=PAGE_FEATURE_LIMIT))
            for name in layers[:3]
        }
        fmap = build_grids_map(
            data["grids"],
            data["streets"],
            data["communities"],
            basemap_url=settings.basemap_url,
            basemap_attribution=settings.basemap_attribution,
            asset_base="/static",
            title="、".join(district_names(conn).values()) or None,
        )
        html = fmap.get_root().render()
        pages.clear()
        pages[key] = html
    return HTMLResponse(html, headers=HTML_HEADERS)
