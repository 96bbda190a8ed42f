"""The patch map page (图斑核查图) and the XYZ tiles of a batch's imagery it shows."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ReadConnDep, SettingsDep
from geogrid.satellite.mapdata import patch_map_data
from geogrid.satellite.tiles import check_tile, render_tile, tile_source
from geogrid.territory.store import district_names
from maps.patches import build_patches_map

router = APIRouter(tags=["Satellite patches"])

HTML_HEADERS = {"Cache-Control": "no-cache"}
#: Tiles change only when an image is registered again: a short freshness, then the ETag.
TILE_CACHE_CONTROL = "public, max-age=300"


@router.get("/maps/patches", response_class=HTMLResponse)
def patches_map(
    conn: ReadConnDep,
    settings: SettingsDep,
    batch: Annotated[str | None, Query(description="Batch id (default: the newest).")] = None,
) -> HTMLResponse:
    """Map of a batch's patches by verdict, with before/after imagery tiles and chips."""
    data = patch_map_data(conn, batch or None)
    fmap = build_patches_map(
        data,
        basemap_url=settings.basemap_url,
        basemap_attribution=settings.basemap_attribution,
        title="、".join(district_names(conn).values()) or None,
    )
    return HTMLResponse(fmap.get_root().render(), headers=HTML_HEADERS)


@router.get(
    "/patch-batches/{batch_id}/imagery/{role}/tiles/{z}/{x}/{y}.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}},
        204: {"description": "The tile misses the image."},
        304: {"description": "Not modified (If-None-Match)."},
    },
)
def imagery_tile(
    batch_id: str,
    role: Literal["reference", "before", "after"],
    z: int,
    x: int,
    y: int,
    request: Request,
    conn: ReadConnDep,
) -> Response:
    """A 256 px PNG tile (Web Mercator) of a batch's image in true colour; 204 outside it."""
    check_tile(z, x, y)
    source = tile_source(conn, batch_id, role)
    headers = {"ETag": f'"{source.version}"', "Cache-Control": TILE_CACHE_CONTROL}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    png = render_tile(source, z, x, y)
    if png is None:
        return Response(status_code=204, headers=headers)
    return Response(png, media_type="image/png", headers=headers)
