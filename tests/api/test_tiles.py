"""Vector tiles of the hand-made territory: content, caching headers, freshness, bad input."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from geogrid.tiles import tile_of
from tests.territory import GRIDS, grid_bbox_wgs84


@pytest.fixture
def z14(territory_engine: Engine) -> str:
    minx, miny, maxx, maxy = grid_bbox_wgs84(territory_engine)
    x, y = tile_of((minx + maxx) / 2, (miny + maxy) / 2, 14)
    assert tile_of(minx, maxy, 14) == tile_of(maxx, miny, 14) == (x, y), "territory spans tiles"
    return f"14/{x}/{y}"


def test_tile_holds_every_grid_with_its_attributes(client: TestClient, z14: str) -> None:
    res = client.get(f"/collections/grids/tiles/WebMercatorQuad/{z14}")
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(res.content)
    assert list(layers) == ["grids"]
    feats = layers["grids"]["features"]
    assert len(feats) == 6
    props = {f["properties"]["code"]: f["properties"] for f in feats}
    assert set(props) == set(GRIDS)
    assert props["530114002001001"]["street_name"] == "乌龙街道"
    assert props["530114002001001"]["grid_type"] == "industrial"
    assert props["530114001001001"]["area_m2"] == pytest.approx(10_000, rel=5e-3)
    assert all(f["geometry"]["type"] == "Polygon" for f in feats)


def test_gzip_when_asked(client: TestClient, z14: str) -> None:
    url = f"/collections/grids/tiles/WebMercatorQuad/{z14}"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    # httpx decodes gzip transparently: the decoded body is the same tile.
    assert zipped.content == plain.content
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content


def test_etag_revalidation_and_freshness_after_an_edit(
    client: TestClient, z14: str, territory_engine: Engine
) -> None:
    url = f"/collections/grids/tiles/WebMercatorQuad/{z14}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert "must-revalidate" in first.headers["cache-control"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    # An edit of a grid makes the cached tile stale: new ETag, new content.
    with territory_engine.begin() as conn:
        conn.execute(sa.text("UPDATE grids SET grid_type = 'rural' WHERE code = '530114001001001'"))
    second = client.get(url, headers={"If-None-Match": etag})
    assert second.status_code == 200
    assert second.headers["etag"] != etag
    props = {
        f["properties"]["code"]: f["properties"]
        for f in mapbox_vector_tile.decode(second.content)["grids"]["features"]
    }
    assert props["530114001001001"]["grid_type"] == "rural"
    # Renaming a street (another table the layer depends on) also changes grid tiles.
    with territory_engine.begin() as conn:
        conn.execute(sa.text("UPDATE streets SET name = '洛龙街道' WHERE code = '530114001'"))
    third = client.get(url)
    assert third.headers["etag"] != second.headers["etag"]
    props = {
        f["properties"]["code"]: f["properties"]
        for f in mapbox_vector_tile.decode(third.content)["grids"]["features"]
    }
    assert props["530114001001001"]["street_name"] == "洛龙街道"


def test_empty_tile_is_204(client: TestClient) -> None:
    res = client.get("/collections/grids/tiles/WebMercatorQuad/14/0/0")
    assert res.status_code == 204
    assert res.content == b""
    assert "etag" in res.headers


def test_low_zoom_tile_still_has_all_grids(client: TestClient, territory_engine: Engine) -> None:
    minx, miny, maxx, maxy = grid_bbox_wgs84(territory_engine)
    x, y = tile_of((minx + maxx) / 2, (miny + maxy) / 2, 8)
    res = client.get(f"/collections/grids/tiles/WebMercatorQuad/8/{x}/{y}")
    assert res.status_code == 200
    assert len(res.content) < 5_000


def test_street_and_community_tiles(client: TestClient, z14: str) -> None:
    for coll, n in (("streets", 2), ("communities", 3)):
        res = client.get(f"/collections/{coll}/tiles/WebMercatorQuad/{z14}")
        assert len(mapbox_vector_tile.decode(res.content)[coll]["features"]) == n


def test_tilejson_points_at_the_tiles(client: TestClient) -> None:
    tj = client.get("/collections/grids/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tiles"][0].endswith("/collections/grids/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert "street_name" in tj["vector_layers"][0]["fields"]


@pytest.mark.parametrize(
    ("url", "status", "names"),
    [
        ("/collections/grids/tiles/WebMercatorQuad/40/0/0", 400, "'z'"),
        ("/collections/grids/tiles/WebMercatorQuad/3/8/0", 400, "'x'"),
        ("/collections/grids/tiles/WebMercatorQuad/3/0/-1", 400, "'y'"),
        ("/collections/grids/tiles/WebMercatorQuad/a/0/0", 400, "z"),
        ("/collections/grids/tiles/WorldCRS84Quad/3/0/0", 404, "WorldCRS84Quad"),
        ("/collections/nothing/tiles/WebMercatorQuad/3/0/0", 404, "nothing"),
    ],
)
def test_bad_tile_addresses(client: TestClient, url: str, status: int, names: str) -> None:
    res = client.get(url)
    assert res.status_code == status
    assert names in res.json()["message"]


def test_tile_of_known_addresses() -> None:
    assert tile_of(0.0, 0.0, 1) == (1, 1)
    assert tile_of(-180.0, 85.0, 3) == (0, 0)
    assert tile_of(180.0, -85.0, 3) == (7, 7)  # the east and south edges stay in range
    assert tile_of(102.85, 24.98, 14) == (12872, 7017)  # the demo district's centre tile
