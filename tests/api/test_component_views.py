"""Component statistics, the components collection and the component map page, over HTTP."""

from __future__ import annotations

import csv
import io

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy.engine import Engine

from geogrid.tiles import tile_of
from maps.assets import find_external_urls
from maps.components import LAYER_NAMES
from tests.browser import count_leaflet_paths, render_page
from tests.components_data import (
    A11,
    BIN,
    GREEN,
    LAMP,
    RAIL,
    code,
    insert_component_case,
    insert_components,
)
from tests.territory import GRIDS, X0, Y0


@pytest.fixture
def components(territory_engine: Engine) -> Engine:
    insert_components(territory_engine)
    insert_component_case(territory_engine, "K1", code(LAMP, 1))
    insert_component_case(territory_engine, "K2", code(BIN, 2), closed=True)
    return territory_engine


def test_statistics_json_per_street_and_major_class(client: TestClient, components: Engine) -> None:
    res = client.get("/components/statistics", params={"level": "street", "by": "class"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["level"] == "street" and body["by"] == "class"
    rows = {(r["code"], r["class"]): r for r in body["rows"]}
    lamps = rows[("530114001", "01")]
    assert lamps["name"] == "龙城街道" and lamps["class_name"] == "市政公用设施"
    assert lamps["components"] == 2 and lamps["with_open_cases"] == 1
    assert lamps["density_per_km2"] == pytest.approx(50.0, abs=0.05)
    assert rows[("530114002", "03")]["class_name"] == "市容环卫设施"
    assert rows[("530114002", "03")]["with_open_cases"] == 0  # its case is closed
    totals = body["totals"]
    assert totals["components"] == 7 and totals["with_open_cases"] == 1 and totals["units"] == 2


def test_statistics_filters_and_the_default_level(client: TestClient, components: Engine) -> None:
    res = client.get("/components/statistics", params={"by": "sub_class", "status": "破损"})
    assert res.status_code == 200, res.text
    rows = [(r["code"], r["class"], r["class_name"]) for r in res.json()["rows"]]
    assert rows == [("530114001", RAIL, "交通护栏"), ("530114002", LAMP, "路灯")]
    res = client.get("/components/statistics", params={"level": "grid", "class": "01"})
    assert [(r["code"], r["components"]) for r in res.json()["rows"]] == [
        (A11, 2),
        ("530114002001001", 1),
    ]


def test_statistics_csv_has_chinese_headers(client: TestClient, components: Engine) -> None:
    res = client.get(
        "/components/statistics",
        params={"level": "district", "by": "sub_class", "format": "csv"},
    )
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert "components-district-sub_class.csv" in res.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert table[0] == [
        "区域编码",
        "名称",
        "小类",
        "小类名称",
        "部件数",
        "面积（平方公里）",
        "密度（个/平方公里）",
        "有未结案件部件数",
    ]
    assert [row[:5] for row in table[1:-1]] == [
        ["530114", "呈贡区", LAMP, "路灯", "3"],
        ["530114", "呈贡区", RAIL, "交通护栏", "1"],
        ["530114", "呈贡区", BIN, "垃圾箱", "2"],
        ["530114", "呈贡区", GREEN, "绿地", "1"],
    ]
    assert table[-1][0] == "合计" and table[-1][4] == "7" and table[-1][7] == "1"
    assert float(table[1][6]) == pytest.approx(50.0, abs=0.05)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"level": "city"}, "'level'"),
        ({"by": "owner"}, "'by'"),
        ({"format": "xlsx"}, "'format'"),
        ({"class": "1"}, "'class'"),
        ({"sub_class": "x"}, "'sub_class'"),
        ({"status": "坏了"}, "'status'"),
    ],
)
def test_bad_statistics_parameters_are_400(
    client: TestClient, params: dict[str, str], names: str
) -> None:
    res = client.get("/components/statistics", params=params)
    assert res.status_code == 400, res.text
    assert res.json()["code"] == "invalid_parameter"
    assert names in res.json()["message"]


def test_items_filter_and_refuse_a_bad_filter(client: TestClient, components: Engine) -> None:
    res = client.get("/collections/components/items", params={"status": "破损"})
    assert res.status_code == 200
    assert sorted(f["id"] for f in res.json()["features"]) == [code(LAMP, 3), code(RAIL, 1)]
    res = client.get("/collections/components/items", params={"street": "乌龙街道", "class": "03"})
    assert [f["id"] for f in res.json()["features"]] == [code(BIN, 2)]
    bad = client.get("/collections/components/items", params={"grid": "A11"})
    assert bad.status_code == 400 and "'grid'" in bad.json()["message"]


def test_tile_at_z16_over_a_component(client: TestClient, components: Engine) -> None:
    col, row, _ = GRIDS["530114002001001"]
    lon, lat = Transformer.from_crs(4543, 4326, always_xy=True).transform(
        X0 + col * 100 + 50, Y0 + row * 100 + 50
    )
    x, y = tile_of(lon, lat, 16)
    res = client.get(f"/collections/components/tiles/WebMercatorQuad/16/{x}/{y}")
    assert res.status_code == 200
    features = mapbox_vector_tile.decode(res.content)["components"]["features"]
    lamp = next(f for f in features if f["properties"]["code"] == code(LAMP, 3))
    assert lamp["properties"]["sub_class"] == LAMP and lamp["properties"]["status"] == "damaged"
    tilejson = client.get("/collections/components/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["minzoom"] == 13
    assert set(tilejson["vector_layers"][0]["fields"]) == {
        "code",
        "major_class",
        "sub_class",
        "status",
    }


def test_map_page_is_offline_and_counts_what_it_shows(
    client: TestClient, components: Engine
) -> None:
    res = client.get("/maps/components")
    assert res.status_code == 200
    html = res.text
    assert "管理部件 · 呈贡区" in html and "显示 7 个部件" in html
    assert find_external_urls(html) == []
    filtered = client.get("/maps/components", params={"street": "530114002", "class": ""})
    assert "显示 2 个部件" in filtered.text
    assert '<option value="530114002" selected>' in filtered.text
    bad = client.get("/maps/components", params={"status": "broken"})
    assert bad.status_code == 400 and "'status'" in bad.json()["message"]


def test_map_page_of_an_empty_inventory(client: TestClient) -> None:
    res = client.get("/maps/components")
    assert res.status_code == 200 and "数据库中还没有部件" in res.text


@pytest.mark.browser
def test_chromium_draws_the_components_offline(live_url: str, components: Engine) -> None:
    result = render_page(f"{live_url}/maps/components", out_png=None)
    assert result.console_errors == []
    assert result.failed_loads == []
    assert all(u.startswith(live_url) or u.startswith("data:") for u in result.requests)
    assert count_leaflet_paths(result.dom) >= 2  # the rail line and the green polygon
    assert "gg-comp gg-comp-01" in result.dom or "marker-cluster" in result.dom
    for name in LAYER_NAMES.values():
        assert name in result.dom, name
