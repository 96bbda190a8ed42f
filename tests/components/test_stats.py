"""Component statistics on a real PostGIS: hand-counted components, densities, open cases.

The hand-made grids are 100 m squares (0.01 km², tests/territory.py; on the ellipsoid 0.02 %
less), streets 龙城 0.04 km² and 乌龙 0.02 km², so 3 components in a grid are 300 per km².
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.catalogue import load_catalogue
from geogrid.components.stats import (
    component_map_data,
    component_statistics,
    density,
    name_classes,
    open_component_cases,
    statistics_csv,
    statistics_totals,
)
from geogrid.errors import InvalidParameter
from geogrid.layers import load_layers
from tests.components_data import (
    A11,
    A12,
    A21,
    B11,
    BIN,
    GREEN,
    LAMP,
    RAIL,
    code,
    insert_component_case,
    insert_components,
)


@pytest.fixture
def inventory(territory_engine: Engine) -> Engine:
    load_layers()
    insert_components(territory_engine)
    for case_id, component, closed, registered in (
        ("K1", code(LAMP, 1), False, "2026-03-01T09:00+08:00"),
        ("K2", code(LAMP, 1), False, "2026-02-01T08:00+08:00"),
        ("K3", code(LAMP, 3), False, "2026-03-01T09:00+08:00"),
        ("K4", code(BIN, 1), True, "2026-03-01T09:00+08:00"),
        ("K5", code(LAMP, 2), True, "2026-03-01T09:00+08:00"),
        ("K6", None, False, "2026-03-01T09:00+08:00"),  # an open event case
        ("K7", code(BIN, 9), False, "2026-03-01T09:00+08:00"),  # no such component
    ):
        insert_component_case(
            territory_engine, case_id, component, closed=closed, registered_at=registered
        )
    return territory_engine


def stats(inventory: Engine, **kw: Any) -> dict[tuple[str | None, str], dict[str, Any]]:
    with inventory.connect() as conn:
        rows = component_statistics(conn, **kw)
    return {(r["code"], r["class"]): r for r in rows}


def area_m2(inventory: Engine, table: str, unit: str) -> float:
    with inventory.connect() as conn:
        return float(
            conn.execute(
                sa.text(f"SELECT area_m2 FROM {table} WHERE code = :c AND valid_to IS NULL"),
                {"c": unit},
            ).scalar_one()
        )


def test_counts_and_densities_per_grid_and_major_class(inventory: Engine) -> None:
    rows = stats(inventory, level="grid", by="class")
    counts = {key: r["components"] for key, r in rows.items()}
    assert counts == {
        (A11, "01"): 2,
        (A11, "03"): 1,
        (A12, "02"): 1,
        (A21, "04"): 1,
        (B11, "01"): 1,
        (B11, "03"): 1,
    }
    lamps = rows[(A11, "01")]
    assert lamps["area_km2"] == pytest.approx(0.01, rel=5e-4)
    assert lamps["density_per_km2"] == pytest.approx(200.0, abs=0.1)
    assert lamps["density_per_km2"] == round(2 / (area_m2(inventory, "grids", A11) / 1e6), 2)
    assert rows[(A11, "03")]["density_per_km2"] == pytest.approx(100.0, abs=0.05)
    assert lamps["name"] is None  # the hand-made grids have no name


def test_a_grid_of_three_components_is_300_per_km2(inventory: Engine) -> None:
    rows = stats(inventory, level="grid", by="sub_class", status="intact")
    assert sum(r["components"] for (g, _), r in rows.items() if g == A11) == 3
    with inventory.connect() as conn:
        rows_all = component_statistics(conn, level="grid", by="class", major_class="01")
    assert [(r["code"], r["components"]) for r in rows_all] == [(A11, 2), (B11, 1)]
    assert density(3, area_m2(inventory, "grids", A11)) == pytest.approx(300.0, abs=0.1)


def test_street_and_community_levels_are_named(inventory: Engine) -> None:
    streets = stats(inventory, level="street", by="class")
    assert {k: r["components"] for k, r in streets.items()} == {
        ("530114001", "01"): 2,
        ("530114001", "02"): 1,
        ("530114001", "03"): 1,
        ("530114001", "04"): 1,
        ("530114002", "01"): 1,
        ("530114002", "03"): 1,
    }
    longcheng = streets[("530114001", "01")]
    assert longcheng["name"] == "龙城街道"
    assert longcheng["area_km2"] == pytest.approx(0.04, rel=5e-4)
    assert longcheng["density_per_km2"] == pytest.approx(50.0, abs=0.05)
    assert streets[("530114002", "03")]["name"] == "乌龙街道"
    assert streets[("530114002", "03")]["density_per_km2"] == pytest.approx(50.0, abs=0.05)
    communities = stats(inventory, level="community", by="sub_class")
    assert communities[("530114001001", LAMP)]["name"] == "春城社区"
    assert communities[("530114001001", LAMP)]["components"] == 2
    assert communities[("530114001002", GREEN)]["name"] == "彩云社区"


def test_district_level_by_sub_class(inventory: Engine) -> None:
    rows = stats(inventory, level="district", by="sub_class")
    assert {cls: r["components"] for (_, cls), r in rows.items()} == {
        LAMP: 3,
        RAIL: 1,
        BIN: 2,
        GREEN: 1,
    }
    lamps = rows[("530114", LAMP)]
    assert lamps["name"] == "呈贡区" and lamps["area_km2"] == pytest.approx(0.06, rel=5e-4)
    assert lamps["density_per_km2"] == pytest.approx(50.0, abs=0.05)


def test_filters_by_status_class_and_sub_class(inventory: Engine) -> None:
    damaged = stats(inventory, level="street", by="class", status="破损")
    assert {k: r["components"] for k, r in damaged.items()} == {
        ("530114001", "02"): 1,
        ("530114002", "01"): 1,
    }
    bins = stats(inventory, level="street", by="sub_class", major_class="03")
    assert {k: r["components"] for k, r in bins.items()} == {
        ("530114001", BIN): 1,
        ("530114002", BIN): 1,
    }
    assert stats(inventory, level="grid", by="class", sub_class=GREEN).keys() == {(A21, "04")}


def test_with_open_cases_counts_components_of_open_linked_cases_once(inventory: Engine) -> None:
    rows = stats(inventory, level="grid", by="class")
    # Lamp #1: two open cases, one component; lamp #2 and bin #1: closed cases only.
    assert rows[(A11, "01")]["with_open_cases"] == 1
    assert rows[(A11, "03")]["with_open_cases"] == 0
    assert rows[(B11, "01")]["with_open_cases"] == 1  # lamp #3
    assert rows[(B11, "03")]["with_open_cases"] == 0
    assert sum(r["with_open_cases"] for r in rows.values()) == 2


def test_totals_count_each_unit_area_once(inventory: Engine) -> None:
    with inventory.connect() as conn:
        rows = component_statistics(conn, level="street", by="class")
    totals = statistics_totals(rows)
    assert totals["components"] == 7 and totals["with_open_cases"] == 2
    assert totals["units"] == 2
    assert totals["area_km2"] == pytest.approx(0.06, rel=5e-4)
    assert totals["density_per_km2"] == pytest.approx(116.67, abs=0.05)


def test_rows_named_from_the_catalogue_and_written_as_csv(inventory: Engine) -> None:
    with inventory.connect() as conn:
        rows = component_statistics(conn, level="street", by="sub_class")
    named = name_classes(rows, load_catalogue(), by="sub_class")
    assert {r["class"]: r["class_name"] for r in named} == {
        LAMP: "路灯",
        RAIL: "交通护栏",
        BIN: "垃圾箱",
        GREEN: "绿地",
    }
    lines = list(statistics_csv(named, statistics_totals(rows), by="sub_class"))
    assert lines[0] == (
        "\ufeff区域编码,名称,小类,小类名称,部件数,面积（平方公里）,密度（个/平方公里）,"
        "有未结案件部件数\r\n"
    )
    assert lines[1].startswith("530114001,龙城街道,01037,路灯,2,0.0399")
    assert lines[-1].startswith("合计,,,,7,0.0599")
    majors = name_classes(rows[:1], load_catalogue(), by="class")
    assert majors[0]["class_name"] == LAMP  # a 5-digit code is no major class: kept as is


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"level": "city", "by": "class"}, "Parameter 'level' must be one of grid, community"),
        ({"level": "grid", "by": "department"}, "Parameter 'by' must be one of class, sub_class"),
        ({"level": "grid", "by": "class", "status": "坏"}, "Filter 'status' must be one of"),
        ({"level": "grid", "by": "class", "sub_class": "1037"}, "Filter 'sub_class' must be"),
        ({"level": "grid", "by": "class", "major_class": "A1"}, "Filter 'class' must be"),
    ],
)
def test_bad_parameters_are_named(inventory: Engine, kw: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidParameter, match=says), inventory.connect() as conn:
        component_statistics(conn, **kw)


def test_open_component_cases_most_first(inventory: Engine) -> None:
    with inventory.connect() as conn:
        rows = open_component_cases(conn, limit=10)
    assert [(r["code"], r["open_cases"]) for r in rows] == [(code(LAMP, 1), 2), (code(LAMP, 3), 1)]
    first = rows[0]
    assert first["sub_class"] == LAMP and first["status"] == "intact"
    assert first["owner"] == "区城市管理局" and first["name"] == "路灯"
    assert first["oldest_registered_at"].isoformat() == "2026-02-01T00:00:00+00:00"
    with inventory.connect() as conn:
        assert len(open_component_cases(conn, limit=1)) == 1
        with pytest.raises(InvalidParameter, match="'limit'"):
            open_component_cases(conn, limit=0)


def test_map_data_caps_the_components_and_counts_all(inventory: Engine) -> None:
    with inventory.connect() as conn:
        everything = component_map_data(conn, {"class": "", "street": None})
        capped = component_map_data(conn, {}, limit=3)
        south = component_map_data(conn, {"street": "乌龙街道", "status": "missing"})
    assert everything.matched == everything.shown == 7
    assert everything.major_classes == {"01": 3, "02": 1, "03": 2, "04": 1}
    assert everything.sub_classes == [(LAMP, 3), (RAIL, 1), (BIN, 2), (GREEN, 1)]
    assert [f["properties"]["name"] for f in everything.streets["features"]] == [
        "龙城街道",
        "乌龙街道",
    ]
    kinds = {f["geometry"]["type"] for f in everything.components["features"]}
    assert kinds == {"Point", "LineString", "Polygon"}
    west, south_, east, north = everything.bounds or (0, 0, 0, 0)
    assert 102.8 < west < east < 102.9 and 24.9 < south_ < north < 25.0
    assert capped.matched == 7 and capped.shown == 3
    assert [f["id"] for f in capped.components["features"]] == sorted(
        [code(LAMP, 1), code(LAMP, 2), code(LAMP, 3), code(RAIL, 1), code(BIN, 1)]
    )[:3]
    assert [f["id"] for f in south.components["features"]] == [code(BIN, 2)]
    props = south.components["features"][0]["properties"]
    assert props["status_name"] == "丢失" and props["install_date"] == "2020-05-02"
    assert south.filters == {"street": "乌龙街道", "status": "missing"}
    assert south.major_classes == {"03": 1}
