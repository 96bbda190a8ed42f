"""OGC API - Features over the hand-made territory (tests/territory.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.territory import GRIDS

GRID_PROPS = {
    "code",
    "community_code",
    "community_name",
    "street_code",
    "street_name",
    "grid_type",
    "area_m2",
}


def test_health_reports_postgres_and_postgis(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert int(body["postgresql"].split(".")[0]) >= 14
    assert body["postgis"].startswith("3.")
    assert body["schema"] is not None


def test_landing_and_conformance_link_the_api(client: TestClient) -> None:
    rels = {link["rel"] for link in client.get("/").json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    assert client.get("/docs").status_code == 200


def test_collections_list_territory_and_cases_with_extent(client: TestClient) -> None:
    colls = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    assert set(colls) == {"streets", "communities", "grids", "cases", "components"}
    assert "extent" not in colls["cases"]  # no case yet
    minx, miny, maxx, maxy = colls["grids"]["extent"]["spatial"]["bbox"][0]
    assert 102.8 < minx < maxx < 102.9 and 24.9 < miny < maxy < 25.0
    assert client.get("/collections/grids").json()["title"] == "单元网格"


def test_grid_items_carry_codes_names_and_areas_in_square_metres(client: TestClient) -> None:
    res = client.get("/collections/grids/items")
    assert res.headers["content-type"].startswith("application/geo+json")
    body = res.json()
    assert body["numberMatched"] == body["numberReturned"] == 6
    feats = {f["id"]: f for f in body["features"]}
    assert set(feats) == set(GRIDS)
    first = feats["530114001001001"]["properties"]
    assert set(first) >= GRID_PROPS
    assert first["community_name"] == "春城社区"
    assert first["street_name"] == "龙城街道"
    # An exact 100 m square in the Gauss–Krüger projection: 10,000 m² within the scale error.
    for f in feats.values():
        assert f["properties"]["area_m2"] == pytest.approx(10_000, rel=5e-3)
        assert f["geometry"]["type"] == "MultiPolygon"
    assert feats["530114002001001"]["properties"]["grid_type"] == "industrial"


def test_paging_follows_next_links_to_every_feature(client: TestClient) -> None:
    seen: list[str] = []
    url: str | None = "/collections/grids/items?limit=4"
    while url:
        body = client.get(url).json()
        assert body["numberMatched"] == 6
        seen += [f["id"] for f in body["features"]]
        url = next((lnk["href"] for lnk in body["links"] if lnk["rel"] == "next"), None)
    assert seen == sorted(GRIDS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("street=530114002", {"530114002001001", "530114002001002"}),
        ("street=龙城街道", {c for c in GRIDS if c.startswith("530114001")}),
        ("community=530114001002", {"530114001002001", "530114001002002"}),
        ("community=春城社区&grid_type=city", {"530114001001001", "530114001001002"}),
        ("grid_type=农村", {"530114001002001"}),
    ],
)
def test_property_filters(client: TestClient, query: str, expected: set[str]) -> None:
    body = client.get(f"/collections/grids/items?{query}").json()
    assert {f["id"] for f in body["features"]} == expected
    assert body["numberMatched"] == len(expected)


def test_bbox_selects_grids_it_touches(client: TestClient) -> None:
    all_feats = client.get("/collections/grids/items").json()["features"]
    # A small box around the centre of the first grid's west edge
    ring = next(f for f in all_feats if f["id"] == "530114002001002")["geometry"]["coordinates"][0][
        0
    ]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    body = client.get(
        f"/collections/grids/items?bbox={cx - 1e-5},{cy - 1e-5},{cx + 1e-5},{cy + 1e-5}"
    ).json()
    assert [f["id"] for f in body["features"]] == ["530114002001002"]


def test_one_item_by_code_and_missing_item(client: TestClient) -> None:
    feat = client.get("/collections/communities/items/530114002001").json()
    assert feat["properties"]["name"] == "斗南社区"
    assert feat["properties"]["street_name"] == "乌龙街道"
    res = client.get("/collections/grids/items/530114009009009")
    assert res.status_code == 404
    assert "530114009009009" in res.json()["message"]


def test_streets_collection_has_union_areas(client: TestClient) -> None:
    feats = client.get("/collections/streets/items").json()["features"]
    areas = {f["id"]: f["properties"]["area_m2"] for f in feats}
    assert areas["530114001"] == pytest.approx(40_000, rel=5e-3)
    assert areas["530114002"] == pytest.approx(20_000, rel=5e-3)


@pytest.mark.parametrize(
    ("url", "status", "names"),
    [
        ("/collections/grids/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/grids/items?bbox=a,b,c,d", 400, "bbox"),
        ("/collections/grids/items?bbox=10,10,5,5", 400, "bbox"),
        ("/collections/grids/items?limit=-1", 400, "limit"),
        ("/collections/grids/items?limit=abc", 400, "limit"),
        ("/collections/grids/items?offset=-5", 400, "offset"),
        ("/collections/grids/items?colour=red", 400, "colour"),
        ("/collections/grids/items?grid_type=castle", 400, "grid_type"),
        ("/collections/grids/items?f=xml", 400, "'f'"),
        ("/collections/nothing/items", 404, "nothing"),
        ("/collections/nothing", 404, "nothing"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_parameter(
    client: TestClient, url: str, status: int, names: str
) -> None:
    res = client.get(url)
    assert res.status_code == status, res.text
    body = res.json()
    assert set(body) == {"code", "message", "details"}
    assert names in body["message"]
    assert "Traceback" not in res.text and "SELECT" not in res.text


def test_a_limit_above_the_maximum_is_capped_not_refused(client: TestClient) -> None:
    body = client.get("/collections/grids/items?limit=1000000").json()
    assert body["numberReturned"] == 6
