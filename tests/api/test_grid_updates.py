"""Grid-boundary updates over HTTP: plan, 对照表, map, apply, stale plans, roll-back, bad input."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pyproj import Transformer
from shapely.geometry import box, mapping
from sqlalchemy.engine import Engine

from maps.assets import find_external_urls
from tests.territory import X0, Y0

_GK_TO_WGS84 = Transformer.from_crs("EPSG:4543", "EPSG:4326", always_xy=True)
TO_WGS84 = _GK_TO_WGS84.transform


def square(x: float, y: float, w: float = 100.0, h: float = 100.0) -> dict[str, Any]:
    """A rectangle given in Gauss–Krüger metres (offsets from the territory origin), as GeoJSON."""
    rect = box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)
    return mapping(
        shapely.transform(rect, lambda xy: np.column_stack(TO_WGS84(xy[:, 0], xy[:, 1])))
    )


def feature(code: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"code": code, "community_code": code[:12], **props},
    }


def upload(
    client: TestClient, features: list[dict[str, Any]], name: str = "grids.geojson", **form: str
) -> Any:
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return client.post(
        "/grid-updates", files={"file": (name, body, "application/geo+json")}, data=form
    )


# Community 530114001001 (春城社区) is the square 0..200 x 100..200: grids 001 (west), 002 (east).
SPLIT_A11 = [
    feature("530114001001003", square(0, 150, 100, 50)),  # north half of old 001
    feature("530114001001004", square(0, 100, 100, 50)),  # south half of old 001
    feature("530114001001002", square(100, 100)),  # unchanged
]


CASE_SQL = """
INSERT INTO cases (district_code, case_id, source, case_type, major_class, sub_class, geom,
    grid_code, community_code, street_code, current_grid_code, current_community_code,
    current_street_code, registered_at)
VALUES ('530114', :id, 'district_supervisor', 'event', '06', '06010',
    ST_SetSRID(ST_Point(:lon, :lat), 4326), :g, left(:g, 12), left(:g, 9), :g, left(:g, 12),
    left(:g, 9), now())
"""

SNAPSHOT_SQL = """
SELECT (SELECT count(*) FROM grids), (SELECT count(*) FROM communities),
       (SELECT count(*) FROM change_plans), (SELECT count(*) FROM change_plan_features),
       (SELECT md5(string_agg(code || version || ST_AsEWKB(geom)::text, ','
                              ORDER BY code, version)) FROM grids),
       (SELECT md5(string_agg(case_id || coalesce(current_grid_code, ''), ','
                              ORDER BY case_id)) FROM cases)
"""


def add_case(engine: Engine, case_id: str, x: float, y: float, grid: str) -> None:
    lon, lat = TO_WGS84(X0 + x, Y0 + y)
    with engine.begin() as conn:
        conn.execute(sa.text(CASE_SQL), {"id": case_id, "lon": lon, "lat": lat, "g": grid})


def snapshot(engine: Engine) -> tuple[Any, ...]:
    """Row counts and a checksum of every geometry: equal snapshots = unchanged database."""
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(SNAPSHOT_SQL)).one())


def test_split_plan_lists_changes_and_cases_then_applies(
    client: TestClient, territory_engine: Engine
) -> None:
    add_case(territory_engine, "C1", 50, 180, "530114001001001")  # north half → 003
    add_case(territory_engine, "C2", 50, 120, "530114001001001")  # south half → 004
    add_case(territory_engine, "C3", 150, 150, "530114001001002")  # unchanged grid
    add_case(territory_engine, "C4", 50, 50, "530114002001001")  # other community
    res = upload(client, SPLIT_A11)
    assert res.status_code == 201, res.text
    plan = res.json()
    assert plan["status"] == "pending"
    changes = plan["summary"]["changes"]
    assert {k: n for k, n in changes.items() if n} == {"split": 1, "unchanged": 1}
    split = plan["changes"][0]
    assert split["kind"] == "split"
    assert split["old_codes"] == ["530114001001001"]
    assert sorted(split["new_codes"]) == ["530114001001003", "530114001001004"]
    assert plan["summary"]["cases"] == {"listed": 2, "reassigned": 2, "unassigned": 0}

    csv_text = client.get(f"/grid-updates/{plan['id']}/changes.csv").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("案卷号,原单元网格")
    assert lines[1].startswith("C1,530114001001001,530114001001,530114001,530114001001003")
    assert lines[2].startswith("C2,530114001001001,530114001001,530114001,530114001001004")

    wb = load_workbook(io.BytesIO(client.get(f"/grid-updates/{plan['id']}/changes.xlsx").content))
    assert wb.sheetnames == ["方案概况", "网格变化", "变化统计", "案件影响", "案件对照表"]
    rows = list(wb["案件对照表"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["C1", "C2"]
    assert list(wb["网格变化"].iter_rows(values_only=True))[1][0] == "拆分"

    page = client.get(f"/grid-updates/{plan['id']}/map")
    assert page.status_code == 200 and "拆分" in page.text
    assert find_external_urls(page.text) == []

    # Nothing changed before apply.
    assert client.get("/collections/grids/items/530114001001001").status_code == 200
    applied = client.post(f"/grid-updates/{plan['id']}/apply").json()
    assert applied["status"] == "applied"
    assert client.get("/collections/grids/items/530114001001001").status_code == 404
    assert client.get("/collections/grids/items/530114001001003").status_code == 200
    with territory_engine.connect() as conn:
        cases = dict(conn.execute(sa.text("SELECT case_id, current_grid_code FROM cases")).all())
        registered = dict(conn.execute(sa.text("SELECT case_id, grid_code FROM cases")).all())
    assert cases == {
        "C1": "530114001001003",
        "C2": "530114001001004",
        "C3": "530114001001002",
        "C4": "530114002001001",
    }
    assert registered["C1"] == "530114001001001"  # historical truth is kept
    history = client.get("/grids/530114001001001/history").json()["versions"]
    assert len(history) == 1 and history[0]["ended_by"] == plan["id"]
    assert history[0]["valid_to"] is not None


def test_stale_plan_is_refused(client: TestClient) -> None:
    first = upload(client, SPLIT_A11).json()
    second = upload(client, SPLIT_A11).json()
    assert client.post(f"/grid-updates/{first['id']}/apply").status_code == 200
    assert client.get(f"/grid-updates/{second['id']}").json()["status"] == "stale"
    res = client.post(f"/grid-updates/{second['id']}/apply")
    assert res.status_code == 409
    assert "changed since" in res.json()["message"]
    again = client.post(f"/grid-updates/{first['id']}/apply")
    assert again.status_code == 409


def test_reject_keeps_the_plan_on_record(client: TestClient) -> None:
    plan = upload(client, SPLIT_A11).json()
    assert client.post(f"/grid-updates/{plan['id']}/reject").json()["status"] == "rejected"
    assert client.post(f"/grid-updates/{plan['id']}/apply").status_code == 409
    assert [p["id"] for p in client.get("/grid-updates").json()] == [plan["id"]]


def test_roll_back_restores_the_exact_previous_geometries(
    client: TestClient, territory_engine: Engine
) -> None:
    def current() -> dict[str, str]:
        with territory_engine.connect() as conn:
            return dict(
                conn.execute(
                    sa.text(
                        "SELECT code, md5(ST_AsEWKB(geom)::text) FROM grids WHERE valid_to IS NULL"
                    )
                ).all()
            )

    before = current()
    plan = upload(client, SPLIT_A11).json()
    client.post(f"/grid-updates/{plan['id']}/apply")
    assert current() != before
    restored = client.post("/grid-versions/0/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["status"] == "applied" and body["restores_version"] == 0
    assert current() == before
    assert client.get("/grid-versions").json()["versions"] == [0, plan["id"], body["id"]]
    versions = client.get("/grids/530114001001001/history").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]


def test_a_failed_upload_changes_nothing(client: TestClient, territory_engine: Engine) -> None:
    before = snapshot(territory_engine)
    overlapping = [
        feature("530114001001001", square(0, 100, 120, 100)),  # overlaps 002 by 20 m x 100 m
        feature("530114001001002", square(100, 100)),
    ]
    res = upload(client, overlapping)
    assert res.status_code == 422
    body = res.json()
    assert body["code"] == "validation_failed"
    rules = {d["rule"] for d in body["details"]}
    assert "overlap" in rules
    overlap = next(d for d in body["details"] if d["rule"] == "overlap")
    assert "530114001001001" in overlap["message"] and "530114001001002" in overlap["message"]
    assert snapshot(territory_engine) == before


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("grids.csv", 'code,wkt\n530114001001001,"POLYGON((0 0,1 0,1 1,0 0))"\n', "CRS"),
        ("grids.geojson", "{not json", "grids.geojson"),
        ("grids.exe", "MZ\x90\x00", "format"),
        ("grids.geojson", "", "empty"),
    ],
)
def test_unreadable_files_are_refused_clearly(
    client: TestClient, territory_engine: Engine, name: str, content: str, needle: str
) -> None:
    before = snapshot(territory_engine)
    res = client.post("/grid-updates", files={"file": (name, content.encode(), "text/plain")})
    assert res.status_code == 422, res.text
    assert needle.lower() in (res.json()["message"] + json.dumps(res.json()["details"])).lower()
    assert snapshot(territory_engine) == before


def test_unknown_plan_is_404(client: TestClient) -> None:
    assert client.get("/grid-updates/999").status_code == 404
    assert client.post("/grid-updates/999/apply").status_code == 404
    assert client.get("/grids/530114009009009/history").status_code == 404
    assert client.post("/grid-versions/77/restore").status_code == 404


def test_plan_checksum_names_the_file(client: TestClient) -> None:
    body = json.dumps({"type": "FeatureCollection", "features": SPLIT_A11}).encode()
    res = client.post("/grid-updates", files={"file": ("v2.geojson", body, "application/json")})
    plan = res.json()
    assert plan["file_name"] == "v2.geojson"
    assert plan["file_sha256"] == hashlib.sha256(body).hexdigest()
    assert plan["source_crs"] in ("EPSG:4326", "OGC:CRS84")


def test_a_moved_boundary_moves_the_cases_beside_it(
    client: TestClient, territory_engine: Engine
) -> None:
    add_case(territory_engine, "NEAR", 110, 150, "530114001001002")  # 10 m east of the boundary
    add_case(territory_engine, "FAR", 190, 150, "530114001001002")
    add_case(territory_engine, "WEST", 50, 150, "530114001001001")
    moved = [
        feature("530114001001001", square(0, 100, 120, 100)),  # boundary 20 m further east
        feature("530114001001002", square(120, 100, 80, 100)),
    ]
    res = upload(client, moved)
    assert res.status_code == 201, res.text
    plan = res.json()
    assert {k: n for k, n in plan["summary"]["changes"].items() if n} == {"reshaped": 2}
    # Every case of a reshaped grid is listed; only NEAR changes grid.
    assert plan["summary"]["cases"] == {"listed": 3, "reassigned": 1, "unassigned": 0}
    client.post(f"/grid-updates/{plan['id']}/apply")
    with territory_engine.connect() as conn:
        current = dict(conn.execute(sa.text("SELECT case_id, current_grid_code FROM cases")).all())
    assert current == {
        "NEAR": "530114001001001",
        "FAR": "530114001001002",
        "WEST": "530114001001001",
    }
