"""GET /hotspots and GET /maps/hotspots over the hand-made territory and a few cases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from geogrid.hotspots import CLASSES
from maps.assets import find_external_urls
from tests.browser import count_leaflet_paths, render_page
from tests.hotspots.test_counts import A11, A12, B12, CASES, add_cases
from tests.territory import GRIDS

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def cases_client(client: TestClient, territory_engine: Engine) -> TestClient:
    add_cases(territory_engine, CASES)
    return client


def test_one_feature_per_grid_with_the_properties(cases_client: TestClient) -> None:
    res = cases_client.get(f"/hotspots?{MARCH}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/geo+json")
    doc = res.json()
    assert doc["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in doc["features"]) == sorted(GRIDS)
    props = {f["id"]: f["properties"] for f in doc["features"]}
    assert set(props[A11]) == {
        "code",
        "street_code",
        "cases",
        "density",
        "z",
        "p",
        "class",
        "label",
    }
    assert (props[A11]["cases"], props[A12]["cases"], props[B12]["cases"]) == (3, 1, 1)
    assert props[A11]["street_code"] == "530114001"
    assert all(p["class"] in CLASSES for p in props.values())
    assert list(doc["summary"]) == list(CLASSES) and sum(doc["summary"].values()) == len(GRIDS)
    assert doc["parameters"]["from"] == "2026-03-01" and doc["parameters"]["weights"] == "queen"
    assert doc["unassigned"] == 1


def test_options_reach_the_analysis(cases_client: TestClient) -> None:
    res = cases_client.get(
        f"/hotspots?{MARCH}&boundaries=registered&weights=knn&k=2&value=density"
        "&permutations=99&fdr=true&source=district_supervisor"
    )
    assert res.status_code == 200, res.text
    doc = res.json()
    params = doc["parameters"]
    assert (params["boundaries"], params["weights"], params["k"]) == ("registered", "knn", 2)
    assert (params["p_value"], params["fdr"], params["value"]) == ("permutation", True, "density")
    assert {f["id"]: f["properties"]["cases"] for f in doc["features"]}[B12] == 0
    assert doc["unassigned"] == 2


def test_no_case_in_the_period_is_a_result_with_a_note(cases_client: TestClient) -> None:
    doc = cases_client.get("/hotspots?from=2020-01-01&to=2020-01-31").json()
    assert doc["summary"]["not_significant"] == len(GRIDS)
    assert [n["code"] for n in doc["notes"]] == ["constant_values"]
    assert all(f["properties"]["z"] is None for f in doc["features"])


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("to=2026-03-31", "'from'"),
        ("from=2026-03-01", "'to'"),
        ("from=March&to=2026-03-31", "'from'"),
        ("from=2026-03-31&to=2026-03-01", "'to'"),
        ("from=2025-01-01&to=2026-03-01", "'from' and 'to'"),
        (f"{MARCH}&sub_class=6010", "'sub_class'"),
        (f"{MARCH}&weights=hex", "'weights'"),
        (f"{MARCH}&permutations=lots", "'permutations'"),
        (f"{MARCH}&k=3", "'k'"),
        (f"{MARCH}&fdr=perhaps", "'fdr'"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, query: str, parameter: str
) -> None:
    res = client.get(f"/hotspots?{query}")
    assert res.status_code == 400
    body = res.json()
    assert body["code"] == "invalid_parameter"
    assert parameter in body["message"] and body["message"].endswith(".")


def test_the_map_page_uses_the_latest_30_days_and_local_assets(cases_client: TestClient) -> None:
    res = cases_client.get("/maps/hotspots")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    html = res.text
    assert find_external_urls(html) == []
    assert 'value="2026-03-03"' in html and 'value="2026-04-01"' in html
    for label in ("案件热点分析 · 呈贡区", "开始日期", "结束日期", "小类", "来源", "查询", "图例"):
        assert label in html
    assert "/static/vendor/leaflet.markercluster/" in html


def test_the_map_page_filters_and_names_subclasses(cases_client: TestClient) -> None:
    html = cases_client.get(f"/maps/hotspots?{MARCH}&sub_class=06010&source=hotline").text
    assert '<option value="06010" selected>06010 暴露垃圾' in html
    assert '<option value="hotline" selected>热线</option>' in html


def test_the_map_page_of_an_empty_database_says_so(client: TestClient) -> None:
    res = client.get("/maps/hotspots")
    assert res.status_code == 200
    assert "数据库中还没有案件" in res.text


def test_a_bad_page_parameter_is_400(client: TestClient) -> None:
    res = client.get("/maps/hotspots?sub_class=abc")
    assert res.status_code == 400 and "'sub_class'" in res.json()["message"]


@pytest.mark.browser
def test_chromium_draws_the_served_page_offline(live_url: str, territory_engine: Engine) -> None:
    add_cases(territory_engine, CASES)
    result = render_page(f"{live_url}/maps/hotspots?{MARCH}", out_png=None)

    assert result.console_errors == []
    assert result.failed_loads == []
    assert all(u.startswith(live_url) or u.startswith("data:") for u in result.requests)
    assert count_leaflet_paths(result.dom) >= len(GRIDS)
    assert "marker-cluster" in result.dom  # the three cases of A1-1 share one place


def test_map_page_is_rebuilt_when_cases_change(client: TestClient) -> None:
    from tests.cases_data import lonlat

    params = {"from": "2026-10-01", "to": "2026-10-31"}
    first = client.get("/maps/hotspots", params=params)
    assert first.status_code == 200
    assert client.get("/maps/hotspots", params=params).text == first.text  # kept
    lon, lat = lonlat("530114001001001")
    case = {
        "case_id": "NEW1",
        "source": "hotline",
        "sub_class": "06010",
        "lon": lon,
        "lat": lat,
        "registered_at": "2026-10-15T09:00:00",
    }
    assert client.post("/cases", json=case).status_code == 201
    again = client.get("/maps/hotspots", params=params)
    assert again.text != first.text and "NEW1" in again.text
