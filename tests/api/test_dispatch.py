"""Responsibility rules and dispatch over HTTP: plan, review, apply, rules, dispatch, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.cases_data import case, write_csv
from tests.dispatch.rules_data import (
    A11,
    A12,
    ALL_GRIDS,
    ll,
    polygon,
    road,
    write_geojson,
    write_rules_csv,
)

RULES = [
    {"code": "R1", "sub_class": "*", "unit": "区城管局", "grids": ",".join(ALL_GRIDS)},
    {
        "code": "R12",
        "sub_class": "06010",
        "unit": "城南环卫公司",
        "area_name": "保洁责任区 A",
        "grids": f"{A11},{A12}",
    },
]


def upload(client: TestClient, path: Path, **form: str) -> Any:
    with path.open("rb") as fh:
        return client.post("/responsibility-updates", files={"file": (path.name, fh)}, data=form)


def test_plan_apply_rules_and_dispatch(client: TestClient, tmp_path: Path) -> None:
    r = upload(client, write_rules_csv(tmp_path / "rules.csv", RULES))
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["status"] == "pending" and plan["summary"]["changes"]["added"] == 2
    assert plan["problems"] == [] and [c["code"] for c in plan["changes"]] == ["R1", "R12"]
    assert client.get(f"/responsibility-updates/{plan['id']}").json()["id"] == plan["id"]
    assert client.get("/responsibility-rules").json()["numberMatched"] == 0
    r = client.post(f"/responsibility-updates/{plan['id']}/apply")
    assert r.status_code == 200 and r.json()["status"] == "applied"

    rules = client.get("/responsibility-rules").json()
    assert [x["code"] for x in rules["rules"]] == ["R12", "R1"]  # most specific first
    assert (
        client.get("/responsibility-rules", params={"at": "2020-01-01T00:00:00"}).json()[
            "numberMatched"
        ]
        == 2
    )
    lon, lat = ll(50, 150)
    d = client.get("/dispatch", params={"lon": lon, "lat": lat, "sub_class": "06010"}).json()
    assert (d["unit"], d["unit_kind"], d["rule_id"]) == ("城南环卫公司", "company", "R12")
    assert d["reason"]["zh"] == "按规则 R12（06010 暴露垃圾 · 保洁责任区 A）派遣至 城南环卫公司"
    assert d["reason"]["en"].startswith("Dispatched to 城南环卫公司 by rule R12")
    d = client.get("/dispatch", params={"lon": lon, "lat": lat, "sub_class": "09006"}).json()
    assert d["rule_id"] == "R1" and d["rule"]["scope"] == "*"
    history = client.get("/responsibility-rules/R12/history").json()["versions"]
    assert [v["change_id"] for v in history] == [plan["id"]]
    assert client.get("/responsibility-rules/R99/history").status_code == 404
    assert client.get("/responsibility-updates").json()[0]["kind"] == "responsibility"


def test_cases_without_department_follow_the_rules(client: TestClient, tmp_path: Path) -> None:
    plan = upload(client, write_rules_csv(tmp_path / "rules.csv", RULES)).json()
    client.post(f"/responsibility-updates/{plan['id']}/apply")
    rows = [case("H1", A11, department=None, registered_at="2026-10-02 09:00")]
    with write_csv(tmp_path / "cases.csv", rows).open("rb") as fh:
        r = client.post("/cases/import", files={"file": ("cases.csv", fh, "text/csv")})
    assert r.status_code == 200, r.text
    props = client.get("/collections/cases/items/H1").json()["properties"]
    assert props["department"] == "城南环卫公司"

    changed = [RULES[0], {**RULES[1], "unit": "城北环卫公司"}]
    plan = upload(client, write_rules_csv(tmp_path / "rules.csv", changed)).json()
    assert plan["summary"]["redispatch"]["open_cases_moving"] == 1
    moves = client.get(f"/responsibility-updates/{plan['id']}/redispatch").json()
    assert [(c["case_id"], c["from_unit"], c["to_unit"]) for c in moves["cases"]] == [
        ("H1", "城南环卫公司", "城北环卫公司")
    ]
    r = client.post(f"/responsibility-updates/{plan['id']}/reject")
    assert r.json()["status"] == "rejected"
    assert client.get(f"/responsibility-updates/{plan['id']}/redispatch").status_code == 400


def test_conflicting_plan_is_refused_and_nothing_changes(
    client: TestClient, tmp_path: Path
) -> None:
    features = [
        polygon(0, 100, 150, 200, code="P1", sub_class="06010", unit="甲公司"),
        polygon(100, 100, 250, 200, code="P2", sub_class="06010", unit="乙公司"),
    ]
    plan = upload(client, write_geojson(tmp_path / "areas.geojson", features)).json()
    assert plan["summary"]["conflict_count"] == 1
    assert plan["problems"][0]["where"] == "rules P1 and P2 (feature 1 / feature 2)"
    r = client.post(f"/responsibility-updates/{plan['id']}/apply")
    assert r.status_code == 422 and "conflict" in r.json()["message"]
    assert r.json()["details"][0]["rule"] == "responsibility_conflict"
    assert client.get("/responsibility-rules").json()["numberMatched"] == 0
    assert client.get(f"/responsibility-updates/{plan['id']}").json()["status"] == "pending"


def test_bad_uploads_name_the_row_or_feature(client: TestClient, tmp_path: Path) -> None:
    rows = [
        {"code": "B1", "sub_class": "99999", "unit": "甲", "grids": A11},
        {"code": "B2", "sub_class": "06010", "unit": "甲", "grids": "530114001001099"},
        {"code": "B3", "sub_class": "06010", "grids": A11},
    ]
    r = upload(client, write_rules_csv(tmp_path / "bad.csv", rows))
    assert r.status_code == 422
    assert [(d["where"], d["rule"]) for d in r.json()["details"]] == [
        ("row 2", "unknown_sub_class"),
        ("row 3", "unknown_grid"),
        ("row 4", "missing_unit"),
    ]
    lines = [road([(0, 150), (100, 150)], code="L", sub_class="06010", unit="甲", buffer_m="x")]
    r = upload(client, write_geojson(tmp_path / "bad.geojson", lines))
    assert r.status_code == 422 and r.json()["details"][0]["where"] == "feature 1"
    assert client.get("/responsibility-updates").json() == []
    r = client.get("/dispatch", params={"lon": 102.85, "lat": 24.98, "sub_class": "99999"})
    assert r.status_code == 400


def test_rules_carry_their_geometry(client: TestClient, tmp_path: Path) -> None:
    lines = [road([(0, 150), (400, 150)], code="L1", sub_class="06012", unit="甲公司", buffer_m=8)]
    plan = upload(client, write_geojson(tmp_path / "roads.geojson", lines)).json()
    client.post(f"/responsibility-updates/{plan['id']}/apply")
    (rule,) = client.get("/responsibility-rules").json()["rules"]
    assert rule["geometry"]["type"] == "LineString" and rule["buffer_m"] == 8
    assert rule["area_kind"] == "road" and 400 * 16 < rule["area_m2"] < 400 * 16 + 250
