"""Vector tiles (OGC API - Tiles path layout, WebMercatorQuad) of every collection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import ReadConnDep, SettingsDep, TileCacheDep
from api.indicator_params import indicator_query
from geogrid.errors import NotFound
from geogrid.features import registry
from geogrid.indicators.layers import LEVEL_OF_COLLECTION, indicator_collection
from geogrid.tiles import MAX_ZOOM, get_tile

router = APIRouter(tags=["Vector tiles"])

MVT = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "public, max-age=0, must-revalidate"


def _check_tms(tms: str) -> None:
    if tms != "WebMercatorQuad":
        raise NotFound(f"Unknown tile matrix set '{tms}'; only WebMercatorQuad is served.")


@router.get("/collections/{collection_id}/tiles/{tms}/tilejson.json")
def tilejson(collection_id: str, tms: str, request: Request) -> dict[str, Any]:
    """TileJSON 3.0 of a collection's vector tiles, for MapLibre and other clients."""
    _check_tms(tms)
    coll = registry.get(collection_id)
    base = str(request.base_url).rstrip("/")
    return {
        "tilejson": "3.0.0",
        "name": coll.id,
        "description": coll.title,
        "tiles": [f"{base}/collections/{coll.id}/tiles/{tms}/{{z}}/{{x}}/{{y}}"],
        "minzoom": coll.min_zoom,
        "maxzoom": MAX_ZOOM,
        "vector_layers": [
            {
                "id": coll.id,
                "fields": {p.name: p.type for p in coll.properties if p.in_tiles},
            }
        ],
    }


@router.get(
    "/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}},
        204: {"description": "Empty tile"},
        304: {"description": "Not modified"},
    },
)
def tile(
    collection_id: str,
    tms: str,
    z: int,
    x: int,
    y: int,
    request: Request,
    conn: ReadConnDep,
    cache: TileCacheDep,
    settings: SettingsDep,
) -> Response:
    """One Mapbox Vector Tile; grids/streets take from/to for a period's indicators."""
    _check_tms(tms)
    coll = registry.get(collection_id)
    if coll.id in LEVEL_OF_COLLECTION and (q := indicator_query(request.query_params, settings)):
        coll = indicator_collection(conn, coll, q)
    t = get_tile(conn, coll, z, x, y, cache=cache, max_features=settings.tile_max_features)
    headers = {"ETag": t.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if t.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if not t.data:
        return Response(status_code=204, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(t.gzipped, media_type=MVT, headers=headers)
    return Response(t.data, media_type=MVT, headers=headers)
