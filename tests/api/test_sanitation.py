"""The sanitation API over HTTP and PostGIS: companies, vehicles and crews, areas, segments,
vehicle fixes through ``POST /tracks``, sweeping coverage, the companies' tables."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from shapely.geometry import LineString, box
from sqlalchemy.engine import Engine

from tests.cases_data import add_road, case, write_csv
from tests.sanitation.data import AREA_N, AREA_S, MAIN_ROAD, drive, lonlat, write_geojson

COMPANIES = [
    {"id": "HW1", "name": "城洁环卫有限公司", "contract_from": "2026-01-01"},
    {"id": "HW2", "name": "绿源环卫有限公司", "contract_from": "2026-01-01",
     "contract_to": "2027-12-31", "contact": "王建华"},
]  # fmt: skip
TRACKERS = [
    {"id": "V1", "company": "HW1", "kind": "sweeper", "name": "云A·D0001", "device_id": "GPS-V1"},
    {"id": "B1", "company": "绿源环卫有限公司", "kind": "crew", "name": "乌龙一组", "members": 5},
]


def upload(client: TestClient, url: str, path: Path, **form: str) -> dict:
    with path.open("rb") as fh:
        res = client.post(url, files={"file": (path.name, fh)}, data=form)
    return {"status": res.status_code, **res.json()}


@pytest.fixture
def sanitation(client: TestClient, tmp_path: Path) -> TestClient:
    assert client.post("/sanitation/companies", json=COMPANIES).status_code == 201
    assert client.post("/sanitation/trackers", json=TRACKERS).status_code == 201
    areas = write_geojson(
        tmp_path / "areas.geojson",
        [
            (lonlat(AREA_N), {"id": "N", "name": "龙城保洁区", "company": "HW1"}),
            (lonlat(AREA_S), {"id": "S", "name": "乌龙保洁区", "company": "HW2"}),
        ],
    )
    assert upload(client, "/sanitation/areas", areas)["status"] == 201
    roads = write_geojson(
        tmp_path / "roads.geojson",
        [
            (lonlat(MAIN_ROAD), {"name": "彩云路", "road_class": "main"}),
            (lonlat(LineString([(0, 50), (200, 50)])), {"name": "云桥一巷", "road_class": "alley"}),
        ],
    )
    assert upload(client, "/sanitation/segments", roads)["status"] == 201
    return client


def test_companies_and_trackers(sanitation: TestClient) -> None:
    companies = sanitation.get("/sanitation/companies").json()
    assert [(c["id"], c["areas"], c["segments"]) for c in companies] == [
        ("HW1", 1, 1),
        ("HW2", 1, 1),
    ]
    assert companies[1]["trackers"] == {"crew": 1}
    assert sanitation.get("/sanitation/companies/绿源环卫有限公司").json()["id"] == "HW2"
    assert sanitation.get("/sanitation/companies/HW9").status_code == 404
    crews = sanitation.get("/sanitation/trackers", params={"company": "HW2"}).json()
    assert [(t["id"], t["kind_name"], t["members"]) for t in crews] == [("B1", "保洁班组", 5)]


def test_bad_entries_are_refused_naming_them(sanitation: TestClient) -> None:
    res = sanitation.post(
        "/sanitation/trackers",
        json=[{"id": "V9", "company": "nobody", "kind": "sweeper", "name": "云A·D0009"}],
    )
    assert res.status_code == 422
    body = res.json()
    assert body["details"][0]["where"] == "tracker V9"
    assert "'nobody' is not a registered company" in body["message"]
    res = sanitation.post(
        "/sanitation/companies",
        json=[{"id": "HW3", "name": "绿源环卫有限公司", "contract_from": "2026-01-01"}],
    )
    assert res.status_code == 422 and "is the name of company HW2" in res.json()["message"]
    assert sanitation.post("/sanitation/companies", json=[]).status_code == 400


def test_a_bad_area_upload_names_the_feature_and_writes_nothing(
    sanitation: TestClient, tmp_path: Path
) -> None:
    path = write_geojson(
        tmp_path / "bad.geojson",
        [
            (lonlat(box(200, 0, 400, 100)), {"id": "E", "company": "HW2", "sweeps_main": 2}),
            (lonlat(LineString([(0, 0), (5, 5)])), {"id": "X", "company": "HW2"}),
        ],
    )
    answer = upload(sanitation, "/sanitation/areas", path)
    assert answer["status"] == 422
    assert answer["details"] == [
        {
            "where": "feature 2",
            "rule": "not_polygon",
            "message": "Feature 2: is a LineString, not a polygon.",
            "severity": "error",
        }
    ]
    ids = [f["id"] for f in sanitation.get("/sanitation/areas").json()["features"]]
    assert ids == ["N", "S"]
    bad_lines = write_geojson(
        tmp_path / "lines.geojson", [(lonlat(MAIN_ROAD), {"name": "彩云路", "road_class": "快路"})]
    )
    answer = upload(sanitation, "/sanitation/segments", bad_lines)
    assert answer["status"] == 422 and answer["details"][0]["where"] == "feature 1, road_class"


def test_segments_from_the_road_network(sanitation: TestClient, territory_engine: Engine) -> None:
    add_road(territory_engine, "main", [(0, 150), (400, 150)])
    res = sanitation.post("/sanitation/segments/from-roads")
    assert res.status_code == 201 and res.json()["segments"] == 1
    segments = sanitation.get("/sanitation/segments", params={"company": "HW1"}).json()
    assert [f["properties"]["required"] for f in segments["features"]] == [2]
    bad = sanitation.post("/sanitation/segments/from-roads", params={"split_classes": "lanes"})
    assert bad.status_code == 400 and "'split_classes'" in bad.json()["message"]


def test_vehicles_send_fixes_to_tracks_and_their_coverage_is_served(
    sanitation: TestClient,
) -> None:
    fixes = drive("V1", "2026-10-09", "07:00:00", np.arange(0, 241, 12), 152.0)
    fixes[0] = {**fixes[0], "supervisor_id": None, "device_id": "GPS-V1"}  # by its device
    crew = drive("B1", "2026-10-09", "07:30:00", np.arange(-5, 206, 10), 49.0, every_s=10)
    res = sanitation.post("/tracks", json={"fixes": fixes + crew})
    assert res.status_code == 200 and res.json()["inserted"] == len(fixes) + len(crew)
    unknown = sanitation.post("/tracks", json={"fixes": [{**fixes[0], "device_id": "GPS-?"}]})
    assert unknown.status_code == 422
    params = {"from": "2026-10-09", "to": "2026-10-09"}
    answer = sanitation.get("/sanitation/coverage", params=params).json()
    shares = {m["segment_id"]: m["swept_share"] for m in answer["missed"]}
    assert shares == {"N-0001": pytest.approx(60.0, abs=0.01)}
    assert answer["totals"]["done"] == 1 and answer["rule"]["lateral_m"] == 10.0
    theirs = sanitation.get("/sanitation/coverage", params={**params, "company": "HW2"}).json()
    assert [r["company_id"] for r in theirs["companies"]] == ["HW2"]
    wide = sanitation.get("/sanitation/coverage", params={**params, "min_share": 0.5}).json()
    assert wide["missed"][0]["status"] == "short"  # 60 % is one sweep of the two required
    csv = sanitation.get("/sanitation/coverage", params={**params, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.lstrip("\ufeff").startswith("日期,路段编号")
    xlsx = sanitation.get("/sanitation/coverage", params={**params, "format": "xlsx"})
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "按公司"


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [
        ({"from": "2026-10-09", "to": "2026-10-01"}, 400, "'to'"),
        ({"from": "2026-01-01", "to": "2026-10-01"}, 400, "93 days"),
        ({"from": "2026-10-09", "to": "2026-10-09", "company": "HW9"}, 404, "HW9"),
        ({"from": "2026-10-09", "to": "2026-10-09", "max_speed_kmh": 0}, 400, "max_speed_kmh"),
        ({"from": "2026-10-09", "to": "2026-10-09", "kinds": "bus"}, 400, "'kinds'"),
    ],
)
def test_bad_coverage_parameters(
    sanitation: TestClient, params: dict[str, object], status: int, named: str
) -> None:
    res = sanitation.get("/sanitation/coverage", params=params)
    assert res.status_code == status and named in res.json()["message"]


def test_the_companies_table_in_the_indicators_api_and_the_report(
    sanitation: TestClient, tmp_path: Path
) -> None:
    rows = [
        case("A", department="城洁环卫有限公司", registered_at="2026-10-02 09:00",
             due_at="2026-10-03 09:00", closed_at="2026-10-02 12:00"),
        case("B", dx=20, department="城洁环卫有限公司", registered_at="2026-10-04 09:00",
             due_at="2026-10-05 09:00", closed_at="2026-10-04 12:00", source="grid_worker"),
        case("C", dx=40, department="绿源环卫有限公司", sub_class="06012",
             registered_at="2026-10-06 09:00", due_at="2026-10-07 09:00"),
    ]  # fmt: skip
    path = write_csv(tmp_path / "cases.csv", rows)
    with path.open("rb") as fh:
        assert sanitation.post("/cases/import", files={"file": ("c.csv", fh)}).status_code < 300
    period = {"from": "2026-10-01", "to": "2026-10-31"}
    table = sanitation.get("/indicators", params={"level": "company", **period}).json()
    got = {r["company"]: (r["registered"], r["closure_rate"]) for r in table["rows"]}
    assert got == {"城洁环卫有限公司": (1, 100.0), "绿源环卫有限公司": (1, 0.0)}
    assert table["parameters"]["excluded_sources"] == ["grid_worker"]
    csv = sanitation.get("/indicators", params={"level": "company", "format": "csv", **period})
    assert "环卫公司" in csv.text.splitlines()[0]
    share = sanitation.get("/sanitation/self-handling", params=period).json()
    assert share["totals"] == {
        "registered": 3,
        "self_handled": 1,
        "self_handled_closed": 1,
        "share": 33.33,
        "points": 0,
    }
    report = sanitation.get("/reports/monthly", params={"month": "2026-10"}).text
    assert "环卫公司案件处置情况" in report and "环卫自处置案件统计" in report
