"""Component updates on a real PostGIS: plan, every change kind, apply, history, roll-back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.catalogue import load_catalogue
from geogrid.components.rules import make_component_code, parse_component_code
from geogrid.components.update import (
    applied_versions,
    apply_component_update,
    component_history,
    plan_changes,
    plan_component_update,
    restore_component_version,
)
from geogrid.components.upload import read_component_upload
from geogrid.errors import InvalidParameter, StalePlan, ValidationFailed
from tests.cases_data import lonlat

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"
LAMP, BIN, RAIL, GREEN = "01037", "03005", "02017", "04013"


def code(sub: str, seq: int) -> str:
    return make_component_code("530114", sub, seq)


def point(grid: str, dx: float = 50, dy: float = 50, **props: Any) -> dict[str, Any]:
    lon, lat = lonlat(grid, dx, dy)
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def line(grid: str, **props: Any) -> dict[str, Any]:
    coords = [list(lonlat(grid, 10, 10)), list(lonlat(grid, 90, 10))]
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": coords},
    }


def write(tmp_path: Path, features: list[dict[str, Any]], name: str = "components.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def plan(engine: Engine, path: Path, **kw: Any) -> Any:
    with engine.begin() as conn:
        return plan_component_update(
            conn, read_component_upload(path), catalogue=load_catalogue(), created_by="test", **kw
        )


def apply(engine: Engine, plan_id: int) -> Any:
    with engine.begin() as conn:
        return apply_component_update(conn, plan_id, decided_by="test")


def current(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM components WHERE valid_to IS NULL ORDER BY code")
        ).mappings()
        return {r["code"]: dict(r) for r in rows}


def changes(engine: Engine, plan_id: int) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {c["new_code"] or c["old_code"]: c for c in plan_changes(conn, plan_id)}


INITIAL = [
    point(A11, 10, 10, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局", status="完好"),
    point(A11, 50, 10, code=code(LAMP, 2), sub_class=LAMP, owner="区城管局"),
    point(A12, 50, 50, code=code(BIN, 1), sub_class=BIN, owner="环卫公司"),
    point(B11, 50, 50, code=code(BIN, 2), sub_class=BIN, owner="环卫公司"),
    line(B11, code=code(RAIL, 1), sub_class=RAIL, owner="交警大队"),
]


@pytest.fixture
def inventory(territory_engine: Engine, tmp_path: Path) -> Engine:
    p = plan(territory_engine, write(tmp_path, INITIAL, "initial.geojson"))
    assert p.summary["changes"]["added"] == 5
    apply(territory_engine, p.id)
    return territory_engine


def test_initial_load_locates_every_component(inventory: Engine) -> None:
    stored = current(inventory)
    assert len(stored) == 5
    assert stored[code(LAMP, 1)]["grid_code"] == A11
    assert stored[code(BIN, 2)]["street_code"] == "530114002"
    assert stored[code(LAMP, 1)]["name"] == "路灯"  # the catalogue name when none is given
    assert stored[code(RAIL, 1)]["status"] == "intact"


def test_every_change_kind(inventory: Engine, tmp_path: Path) -> None:
    features = [
        point(A11, 10, 10.5, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局"),  # 0.5 m
        point(A11, 50, 15, code=code(LAMP, 2), sub_class=LAMP, owner="区城管局"),  # 5 m: moved
        point(A12, 50, 50, code=code(BIN, 1), sub_class=BIN, owner="物业公司"),  # owner
        point(B11, 50, 50, code=code(BIN, 3), sub_class=BIN, owner="环卫公司"),  # recoded
        point(A12, 80, 80, sub_class=LAMP, owner="区城管局"),  # added, code generated
        # RAIL absent but out of the file's subclasses: kept
    ]
    p = plan(inventory, write(tmp_path, features))
    s = p.summary
    assert s["changes"] == {
        "added": 1,
        "removed": 0,
        "recoded": 1,
        "moved": 1,
        "owner_changed": 1,
        "status_changed": 0,
        "changed": 0,
    }
    assert s["unchanged"] == 1 and s["codes_generated"] == 1
    found = changes(inventory, p.id)
    assert found[code(LAMP, 2)]["kind"] == "moved"
    assert 4.5 < found[code(LAMP, 2)]["details"]["moved_m"] < 5.5
    assert found[code(BIN, 1)]["details"]["old_owner"] == "环卫公司"
    assert found[code(BIN, 1)]["details"]["new_owner"] == "物业公司"
    assert found[code(BIN, 3)]["old_code"] == code(BIN, 2)
    new = code(LAMP, 3)  # sequences continue after the highest used
    assert found[new]["kind"] == "added"
    assert current(inventory)[code(LAMP, 2)]["version"] == 1  # a dry run changes nothing

    apply(inventory, p.id)
    stored = current(inventory)
    assert set(stored) == {
        code(LAMP, 1),
        code(LAMP, 2),
        code(LAMP, 3),
        code(BIN, 1),
        code(BIN, 3),
        code(RAIL, 1),
    }
    assert stored[code(LAMP, 2)]["version"] == 2 and stored[code(LAMP, 1)]["version"] == 1
    assert stored[code(BIN, 1)]["owner"] == "物业公司"
    with inventory.connect() as conn:
        history = component_history(conn, code(BIN, 2))
    assert history[-1]["valid_to"] is not None and history[-1]["ended_by"] == p.id


def test_removed_status_changed_and_partial(inventory: Engine, tmp_path: Path) -> None:
    features = [
        point(A11, 10, 10, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局", status="破损")
    ]
    p = plan(inventory, write(tmp_path, features))
    assert p.summary["changes"]["status_changed"] == 1
    assert p.summary["changes"]["removed"] == 1  # LAMP 2 is missing from a full lamp file
    partial = plan(inventory, write(tmp_path, features, "partial.geojson"), partial=True)
    assert partial.summary["changes"]["removed"] == 0
    assert partial.summary["changes"]["status_changed"] == 1


def test_roll_back_restores_the_inventory(inventory: Engine, tmp_path: Path) -> None:
    before = current(inventory)
    moved = [
        point(A11, 10, 40, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局"),
        point(A11, 50, 10, code=code(LAMP, 2), sub_class=LAMP, owner="区城管局"),
    ]
    applied = apply(inventory, plan(inventory, write(tmp_path, moved, "m.geojson")).id)
    assert current(inventory)[code(LAMP, 1)]["version"] == 2
    with inventory.begin() as conn:
        initial = applied_versions(conn)[0]
        assert applied.id == applied_versions(conn)[1]
        restored = restore_component_version(
            conn, initial, catalogue=load_catalogue(), created_by="test"
        )
    assert restored.restores == initial and restored.status == "applied"
    after = current(inventory)
    assert set(after) == set(before)
    assert after[code(LAMP, 1)]["version"] == 3  # the roll-back is itself a version
    with inventory.connect() as conn:
        g = conn.execute(
            sa.text(
                "SELECT ST_Equals(a.geom, b.geom) FROM components a, components b "
                "WHERE a.code = :c AND b.code = :c AND a.version = 1 AND b.version = 3"
            ),
            {"c": code(LAMP, 1)},
        ).scalar_one()
    assert g


def test_stale_plan_is_refused(inventory: Engine, tmp_path: Path) -> None:
    one = plan(
        inventory, write(tmp_path, [point(A11, 80, 80, sub_class=BIN)], "a.geojson"), partial=True
    )
    two = plan(
        inventory, write(tmp_path, [point(A11, 70, 70, sub_class=BIN)], "b.geojson"), partial=True
    )
    apply(inventory, one.id)
    with pytest.raises(StalePlan):
        apply(inventory, two.id)


def test_every_validation_rule_at_once(inventory: Engine, tmp_path: Path) -> None:
    features = [
        point(A11, code=code(LAMP, 7), sub_class="99999"),  # 1 unknown subclass
        line(A11, code=code(LAMP, 8), sub_class=LAMP),  # 2 a lamp is a point
        point(A11, code=code(BIN, 9), sub_class=BIN),  # 3
        point(A12, code=code(BIN, 9), sub_class=BIN),  # 4 duplicate of 3
        point(A11, code=code(BIN, 10), sub_class=LAMP),  # 5 code says 垃圾箱
        {
            **point(A11, code=code(LAMP, 11), sub_class=LAMP),
            "geometry": {"type": "Point", "coordinates": [103.5, 25.5]},
        },  # 6 outside
        point(A11, code="530115" + LAMP + "000012", sub_class=LAMP),  # 7 other district
        point(A11, code=code(LAMP, 13), sub_class=LAMP, status="坏了"),  # 8 unknown status
        point(A11, code="12345", sub_class=LAMP),  # 9 malformed code
    ]
    with pytest.raises(ValidationFailed) as err:
        plan(inventory, write(tmp_path, features))
    rules = {(p.where, p.rule) for p in err.value.problems}
    assert rules >= {
        ("feature 1", "unknown_sub_class"),
        ("feature 2", "wrong_geometry_type"),
        ("feature 4", "duplicate_code"),
        ("feature 5", "code_class_mismatch"),
        ("feature 6", "outside_district"),
        ("feature 7", "code_other_district"),
        ("feature 8", "unknown_status"),
        ("feature 9", "bad_code"),
    }
    assert "nothing was planned" in err.value.message


def test_legacy_census_fields_and_codes(inventory: Engine, tmp_path: Path) -> None:
    lon, lat = lonlat(A12, 30, 30)
    path = tmp_path / "普查.csv"
    path.write_text(
        "OBJCODE,OBJNAME,DEPTNAME1,DEPTNAME2,DEPTNAME3,OBJSTATE,ORDATE,CHDATE,lon,lat\n"
        f"5301140104000123,雨水箅子,区水务局,区水务局,排水公司,2,20120315,20200101,{lon},{lat}\n",
        encoding="utf-8",
    )
    with inventory.begin() as conn:
        upload = read_component_upload(path, crs="EPSG:4326")
        p = plan_component_update(
            conn, upload, catalogue=load_catalogue(), created_by="t", partial=True
        )
        apply_component_update(conn, p.id, decided_by="t")
    stored = current(inventory)["5301140104000123"]
    assert stored["sub_class"] == "01004"  # CJ/T 214 0104 雨水箅子
    assert (stored["status"], stored["owner"], stored["maintainer"]) == (
        "damaged",
        "区水务局",
        "排水公司",
    )
    assert stored["install_date"].isoformat() == "2012-03-15"


def test_codes_parse_and_generate() -> None:
    parsed = parse_component_code("53011401037000042")
    assert (parsed.district_code, parsed.class_code, parsed.sequence) == ("530114", "01037", 42)
    legacy = parse_component_code("5301140104000123")
    assert legacy.legacy and legacy.class_code == "0104" and legacy.sequence == 123
    assert make_component_code("530114", "03005", 7) == "53011403005000007"
    with pytest.raises(InvalidParameter):
        parse_component_code("5301140103700004x")
    with pytest.raises(InvalidParameter):
        make_component_code("530114", "03005", 1_000_000)
