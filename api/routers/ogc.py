"""OGC API - Features, Part 1 (core, GeoJSON, OpenAPI 3.0) over the collection registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.deps import ReadConnDep, SettingsDep
from api.indicator_params import INDICATOR_PARAMS, indicator_query
from geogrid.errors import InvalidParameter
from geogrid.features import Collection, registry
from geogrid.features.query import BBox, Interval, extent, get_item, query_items
from geogrid.indicators.layers import LEVEL_OF_COLLECTION, indicator_collection

router = APIRouter(tags=["OGC API - Features"])

GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
]
ITEMS_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "f", "datetime"}
FormatParam = Annotated[str | None, Query(description="Output format: json (the only one).")]


def _check_format(f: str | None) -> None:
    if f not in (None, "json", "geojson"):
        raise InvalidParameter(f"Parameter 'f' must be 'json', got '{f}'.")


def _link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _collection_doc(request: Request, coll: Collection, conn: ReadConnDep) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    box = extent(conn, coll)
    doc: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            _link(f"{base}/collections/{coll.id}", "self", "application/json"),
            _link(f"{base}/collections/{coll.id}/items", "items", GEOJSON, coll.title),
            _link(
                f"{base}/collections/{coll.id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}",
                "item",
                "application/vnd.mapbox-vector-tile",
                "Vector tiles",
            ),
        ],
    }
    if box is not None:
        doc["extent"] = {"spatial": {"bbox": [list(box)], "crs": CRS84}}
    return doc


@router.get("/")
def landing(request: Request, f: FormatParam = None) -> dict[str, Any]:
    """Landing page of the OGC API: links to the API definition, conformance and data."""
    _check_format(f)
    base = str(request.base_url).rstrip("/")
    return {
        "title": "geogrid",
        "description": "网格化城市管理 · unit grids and map layers of the district",
        "links": [
            _link(f"{base}/", "self", "application/json"),
            _link(
                f"{base}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            _link(f"{base}/docs", "service-doc", "text/html"),
            _link(f"{base}/conformance", "conformance", "application/json"),
            _link(f"{base}/collections", "data", "application/json"),
            _link(f"{base}/maps/grids", "alternate", "text/html", "单元网格地图"),
        ],
    }


@router.get("/conformance")
def conformance(f: FormatParam = None) -> dict[str, list[str]]:
    """The conformance classes this API implements."""
    _check_format(f)
    return {"conformsTo": CONFORMANCE}


@router.get("/collections")
def collections(request: Request, conn: ReadConnDep, f: FormatParam = None) -> dict[str, Any]:
    """The feature collections served: streets, communities, grids."""
    _check_format(f)
    base = str(request.base_url).rstrip("/")
    return {
        "links": [_link(f"{base}/collections", "self", "application/json")],
        "collections": [_collection_doc(request, c, conn) for c in registry],
    }


@router.get("/collections/{collection_id}")
def collection(
    collection_id: str, request: Request, conn: ReadConnDep, f: FormatParam = None
) -> dict[str, Any]:
    """One collection's description, extent and links."""
    _check_format(f)
    return _collection_doc(request, registry.get(collection_id), conn)


@router.get("/collections/{collection_id}/items", response_class=Response)
def items(
    collection_id: str,
    request: Request,
    conn: ReadConnDep,
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, description="Features per page (at most the maximum).")
    ] = 100,
    offset: Annotated[int, Query(ge=0, description="Features to skip.")] = 0,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in CRS84.")] = None,
    when: Annotated[
        str | None,
        Query(alias="datetime", description="Instant or interval (a/b, ../b, a/..), RFC 3339."),
    ] = None,
    f: FormatParam = None,
) -> Response:
    """Features as GeoJSON, paged, filtered; grids/streets take a period's indicators."""
    _check_format(f)
    coll = registry.get(collection_id)
    # OGC API - Features: a limit above the maximum is not an error, the maximum is used.
    limit = min(limit, settings.max_page_size)
    if request.query_params.get("bbox-crs") not in (None, CRS84):
        raise InvalidParameter(f"Parameter 'bbox-crs' must be {CRS84}.")
    skip = ITEMS_PARAMS | (set(INDICATOR_PARAMS) if coll.id in LEVEL_OF_COLLECTION else set())
    filters = {k: v for k, v in request.query_params.items() if k not in skip}
    if coll.id in LEVEL_OF_COLLECTION and (q := indicator_query(request.query_params, settings)):
        coll = indicator_collection(conn, coll, q)
    page = query_items(
        conn,
        coll,
        limit=limit,
        offset=offset,
        bbox=BBox.parse(bbox) if bbox is not None else None,
        filters=filters,
        interval=Interval.parse(when, tz=settings.timezone) if when else None,
    )
    links = [_link(str(request.url), "self", GEOJSON)]
    if page.has_next:
        links.append(
            _link(str(request.url.include_query_params(offset=offset + limit)), "next", GEOJSON)
        )
    if offset > 0:
        links.append(
            _link(
                str(request.url.include_query_params(offset=max(0, offset - limit))),
                "prev",
                GEOJSON,
            )
        )
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    body = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":['
    body += ",".join(page.features) + "]}"
    return Response(body.encode(), media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=Response)
def item(
    collection_id: str, feature_id: str, request: Request, conn: ReadConnDep, f: FormatParam = None
) -> Response:
    """One feature by its id (the code)."""
    _check_format(f)
    coll = registry.get(collection_id)
    feature = get_item(conn, coll, feature_id)
    base = str(request.base_url).rstrip("/")
    links = json.dumps(
        [
            _link(str(request.url), "self", GEOJSON),
            _link(f"{base}/collections/{coll.id}", "collection", "application/json"),
        ]
    )
    return Response((feature[:-1] + ',"links":' + links + "}").encode(), media_type=GEOJSON)
