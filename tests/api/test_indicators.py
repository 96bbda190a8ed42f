"""Indicators, indicator layers and the monthly report over HTTP."""

from __future__ import annotations

import io
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from geogrid.tiles import tile_of
from tests.cases_data import case, lonlat, write_csv

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"


@pytest.fixture
def cases_client(client: TestClient, tmp_path: Path) -> TestClient:
    rows = [
        case(
            "A",
            A11,
            dx=10,
            dy=10,
            registered_at="2026-10-02 09:00",
            due_at="2026-10-03 09:00",
            closed_at="2026-10-02 15:00",
        ),
        case(
            "B",
            A11,
            dx=90,
            dy=90,
            registered_at="2026-10-03 09:00",
            due_at="2026-10-04 09:00",
            closed_at="2026-10-05 09:00",
            department="区住建局",
        ),
        case(
            "C",
            A12,
            registered_at="2026-10-04 09:00",
            due_at="2026-10-05 09:00",
            source="hotline",
            platform="city",
        ),
        case(
            "D",
            B11,
            registered_at="2026-10-04 09:00",
            due_at="2026-10-05 09:00",
            sub_class="01003",
            major_class="01",
            case_type="component",
        ),
    ]
    path = write_csv(tmp_path / "cases.csv", rows)
    with path.open("rb") as fh:
        r = client.post("/cases/import", files={"file": (path.name, fh, "text/csv")})
    assert r.status_code == 200, r.text
    return client


PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}


def test_indicators_json(cases_client: TestClient) -> None:
    r = cases_client.get("/indicators", params={"level": "street", **PERIOD})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {row["street_code"]: row for row in body["rows"]}
    assert rows["530114001"]["registered"] == 3
    assert rows["530114001"]["closed_on_time"] == 1 and rows["530114001"]["closed_overdue"] == 1
    assert rows["530114001"]["closure_rate"] == pytest.approx(66.67)
    assert rows["530114002"]["open_overdue"] == 1 and rows["530114002"]["on_time_rate"] == 0.0
    assert body["totals"]["registered"] == 4 and body["totals"]["closure_rate"] == 50.0
    sources = {s["source"]: s["share"] for s in body["sources"]}
    assert sources["district_supervisor"] == 75.0 and sources["hotline"] == 25.0
    top = {(t["case_type"], t["sub_class"]): t for t in body["top_sub_classes"]}
    assert top[("event", "06010")]["share"] == 100.0 and top[("event", "06010")]["rank"] == 1
    assert top[("component", "01003")]["sub_class_name"] == "雨水井盖"


def test_indicators_csv_and_xlsx(cases_client: TestClient) -> None:
    r = cases_client.get("/indicators", params={"level": "department", "format": "csv", **PERIOD})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("处置部门,立案数,结案数,按期结案数")
    assert lines[-1].startswith("合计,4,")
    r = cases_client.get("/indicators", params={"level": "grid", "format": "xlsx", **PERIOD})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "网格编码" and len(values) == 1 + 6 + 1  # header, 6 grids, totals


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"level": "street"}, "from"),
        ({"level": "county", **PERIOD}, "level"),
        ({"level": "street", "from": "2026-10-32", "to": "2026-10-31"}, "from"),
        ({"level": "street", "from": "2026-10-31", "to": "2026-10-01"}, "before"),
        ({"level": "street", "platform": "province", **PERIOD}, "platform"),
        ({"level": "street", "cutoff": "soon", **PERIOD}, "cutoff"),
        ({"level": "street", "denominator": "all", **PERIOD}, "denominator"),
    ],
)
def test_bad_indicator_parameters(cases_client: TestClient, params: dict, word: str) -> None:
    r = cases_client.get("/indicators", params=params)
    assert r.status_code == 400, r.text
    assert word in r.json()["message"]


def test_grid_items_carry_a_periods_indicators(cases_client: TestClient) -> None:
    r = cases_client.get("/collections/grids/items", params=PERIOD)
    assert r.status_code == 200, r.text
    props = {f["id"]: f["properties"] for f in r.json()["features"]}
    assert props[A11]["registered"] == 2 and props[A11]["closure_rate"] == 100.0
    assert props[A12]["open_overdue"] == 1
    assert props["530114002001002"]["registered"] == 0
    assert props["530114002001002"]["closure_rate"] is None
    plain = cases_client.get("/collections/grids/items").json()["features"][0]["properties"]
    assert "registered" not in plain
    r = cases_client.get("/collections/streets/items", params=PERIOD)
    assert {f["id"]: f["properties"]["registered"] for f in r.json()["features"]} == {
        "530114001": 3,
        "530114002": 1,
    }


def test_grid_tiles_carry_indicators_and_change_etag(cases_client: TestClient) -> None:
    lon, lat = lonlat(A11)
    x, y = tile_of(lon, lat, 16)
    url = f"/collections/grids/tiles/WebMercatorQuad/16/{x}/{y}"
    r = cases_client.get(url, params=PERIOD)
    assert r.status_code == 200
    layer = mapbox_vector_tile.decode(r.content)["grids"]
    registered = {f["properties"]["code"]: f["properties"]["registered"] for f in layer["features"]}
    assert registered[A11] == 2
    other = cases_client.get(url, params={"from": "2026-11-01", "to": "2026-11-30"})
    assert other.headers["etag"] != r.headers["etag"]
    layer = mapbox_vector_tile.decode(other.content)["grids"]
    assert all(f["properties"]["registered"] == 0 for f in layer["features"])


def test_monthly_report(cases_client: TestClient) -> None:
    r = cases_client.get("/reports/monthly", params={"month": "2026-10", "format": "html"})
    assert r.status_code == 200
    html = r.text
    assert "市级平台案件处置情况（按部门）" in html and "区级平台案件处置情况（按部门）" in html
    assert "按期结案率" in html and "事件类案件前十位小类" in html and "暴露垃圾" in html
    assert "http" not in html.replace("http-equiv", "")
    r = cases_client.get("/reports/monthly", params={"month": "2026-10", "format": "xlsx"})
    book = load_workbook(io.BytesIO(r.content))
    district = book["区级平台案件处置情况（按部门）"]
    rows = list(district.iter_rows(values_only=True))
    assert rows[0] == (
        "处置部门",
        "立案数",
        "按期结案数",
        "超期结案数",
        "按期未结案数",
        "超期未结案数",
        "累计未结案数",
        "按期结案率",
        "结案率",
    )
    # 区城管局: A closed on time, D open overdue → 50 %; 区住建局: B overdue → 100 % closure
    assert [r[0] for r in rows[1:]] == ["区住建局", "区城管局", "合计"]
    assert rows[2][1:] == (2, 1, 0, 0, 1, 1, 50.0, 50.0)
    assert cases_client.get("/reports/monthly", params={"month": "2026-13"}).status_code == 400
