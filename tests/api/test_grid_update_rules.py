"""One uploaded file per validation rule, each breaking exactly that rule (DOMAIN.md §1).

Community 530114001001 (春城社区) is the square 0..200 x 100..200 m of tests/territory.py; the
valid file is its two grids as they are. Every refused upload leaves the database unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.test_grid_updates import feature, snapshot, square, upload

WEST = "530114001001001"
EAST = "530114001001002"


def valid() -> list[dict[str, Any]]:
    return [feature(WEST, square(0, 100)), feature(EAST, square(100, 100))]


def bow_tie() -> dict[str, Any]:
    ring = [square(0, 100)["coordinates"][0][i] for i in (0, 2, 1, 3, 0)]
    return {"type": "Polygon", "coordinates": [ring]}


def swapped(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[y, x] for x, y in geometry["coordinates"][0]]]}


CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "empty_geometry": (
        [{**feature(WEST, square(0, 100)), "geometry": None}, feature(EAST, square(100, 100))],
        WEST,
    ),
    "not_polygon": (
        [
            feature(WEST, {"type": "Point", "coordinates": [102.85, 24.98]}),
            feature(EAST, square(100, 100)),
        ],
        WEST,
    ),
    "invalid_geometry": ([feature(WEST, bow_tie()), feature(EAST, square(100, 100))], WEST),
    "malformed_code": (
        [
            {
                **feature(WEST, square(0, 100)),
                "properties": {"code": "53011400100100A", "community_code": "530114001001"},
            },
            feature(EAST, square(100, 100)),
        ],
        "53011400100100A",
    ),
    "code_community_mismatch": (
        [
            {
                **feature(WEST, square(0, 100)),
                "properties": {"code": "530114001002003", "community_code": "530114001001"},
            },
            feature(EAST, square(100, 100)),
        ],
        "530114001002003",
    ),
    "duplicate_code": ([feature(WEST, square(0, 100)), feature(WEST, square(100, 100))], WEST),
    "outside_community": (
        [feature(WEST, square(0, 100)), feature(EAST, square(100, 100, 110))],
        EAST,
    ),
    "gap": ([feature(WEST, square(0, 100, 90)), feature(EAST, square(100, 100))], "530114001001"),
    # The reader catches latitudes over 90 before the validator sees them; it names the swap.
    "not_lonlat": (
        [feature(WEST, swapped(square(0, 100))), feature(EAST, square(100, 100))],
        "swap the two columns",
    ),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_refuses_its_file_and_changes_nothing(
    client: TestClient, territory_engine: Engine, rule: str
) -> None:
    features, where = CASES[rule]
    before = snapshot(territory_engine)
    res = upload(client, features)
    assert res.status_code == 422, res.text
    details = res.json()["details"]
    errors = [d for d in details if d.get("severity", "error") == "error"]
    assert rule in {d["rule"] for d in errors}, json.dumps(details, ensure_ascii=False)
    hit = next(d for d in errors if d["rule"] == rule)
    assert where in hit["where"] + hit["message"]
    assert snapshot(territory_engine) == before


def test_the_valid_file_passes_with_no_problem(client: TestClient) -> None:
    res = upload(client, valid())
    assert res.status_code == 201, res.text
    plan = res.json()
    assert plan["warnings"] == []
    assert {k: n for k, n in plan["summary"]["changes"].items() if n} == {"unchanged": 2}


def test_fix_repairs_an_invalid_grid_instead_of_refusing_it(client: TestClient) -> None:
    features = [feature(WEST, bow_tie()), feature(EAST, square(100, 100))]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    fixed = client.post("/grid-updates", data={"fix": "true"}, files={"file": ("g.geojson", body)})
    rules = {d["rule"] for d in fixed.json()["details"]}
    # Repaired, the bow-tie no longer fills its square: the gaps it leaves are reported.
    assert fixed.status_code == 422
    assert "invalid_geometry" not in rules and "gap" in rules


def test_a_removed_code_is_never_reused(client: TestClient) -> None:
    merged = [feature("530114001001003", square(0, 100, 200, 100))]
    plan = upload(client, merged).json()
    assert client.post(f"/grid-updates/{plan['id']}/apply").status_code == 200
    res = upload(client, valid())
    assert res.status_code == 422
    reused = [d for d in res.json()["details"] if d["rule"] == "code_reused"]
    assert {d["where"] for d in reused} == {f"feature 1 ({WEST})", f"feature 2 ({EAST})"}
