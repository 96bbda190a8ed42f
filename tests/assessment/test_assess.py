"""Scoring on the database: indicators resolved per street from seven hand-made cases, the
district-detail rule set scored on them, and the ``geogrid assess`` command.

October 2026 on the territory of tests/territory.py (cut-off 2026-11-01 00:00 +08:00). Street
龙城街道 (530114001) has grids A1-1, A1-2, A2-2 (city) and A2-1 (rural); 乌龙街道 (530114002)
B1-1 (industrial) and B1-2 (city).

    A  A1-1  district supervisor  due 10-03, closed 10-03        on time
    B  A1-2  district supervisor  due 10-06, closed 10-07        overdue, reworked
    C  A2-1  grid worker          due 10-09, closed 10-08        on time
    D  A2-2  hotline (满意)        due 10-11, open                open overdue
    E  A1-1  hotline (不满意)      due 10-13, closed 10-12        on time (90 m from A)
    F  A1-2  district supervisor  reported 10-15, never registered
    G  B1-1  district supervisor  due 10-04, closed 10-04        on time
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from geogrid.assessment import assess_month, load_rule_set, resolve_inputs
from geogrid.assessment.inputs import INDICATORS, period_of
from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.worktime import WorkCalendar
from tests.cases_data import case, write_csv
from tests.test_cli import geogrid

A11, A12, A21, A22 = "530114001001001", "530114001001002", "530114001002001", "530114001002002"
B11 = "530114002001001"
S1, S2 = "530114001", "530114002"

CASES = [
    case("A", A11, 10, 10, registered_at="2026-10-02 09:00", due_at="2026-10-03 09:00",
         closed_at="2026-10-03 09:00"),
    case("B", A12, registered_at="2026-10-05 09:00", due_at="2026-10-06 09:00",
         closed_at="2026-10-07 09:00", rework_count=1),
    case("C", A21, source="grid_worker", registered_at="2026-10-08 09:00",
         due_at="2026-10-09 09:00", closed_at="2026-10-08 15:00"),
    case("D", A22, source="hotline", registered_at="2026-10-10 09:00",
         due_at="2026-10-11 09:00", satisfaction="满意"),
    case("E", A11, 90, 90, source="hotline", registered_at="2026-10-12 09:00",
         due_at="2026-10-13 09:00", closed_at="2026-10-12 15:00", satisfaction="不满意"),
    case("F", A12, 10, 90, reported_at="2026-10-15 09:00"),
    case("G", B11, registered_at="2026-10-03 09:00", due_at="2026-10-04 09:00",
         closed_at="2026-10-04 09:00"),
]  # fmt: skip


@pytest.fixture
def cases_engine(territory_engine: Engine, tmp_path: Path) -> Engine:
    path = write_csv(tmp_path / "cases.csv", CASES)
    with territory_engine.begin() as conn:
        import_cases(conn, path, catalogue=load_catalogue(), calendar=WorkCalendar.load())
    return territory_engine


def test_every_indicator_per_street(cases_engine: Engine) -> None:
    computed = [n for n, i in INDICATORS.items() if not i.manual]
    with cases_engine.connect() as conn:
        found = resolve_inputs(
            conn, computed, level="street", period=period_of("2026-10", tz="Asia/Shanghai")
        )
    assert found.names == {S1: "龙城街道", S2: "乌龙街道"}
    one = found.values[S1]
    assert {k: one[k] for k in ("registered", "closed", "closed_on_time", "open_overdue")} == {
        "registered": 5,  # F was never registered
        "closed": 4,
        "closed_on_time": 3,
        "open_overdue": 1,
    }
    assert (one["on_time_rate"], one["closure_rate"], one["rework_rate"]) == (60.0, 80.0, 25.0)
    assert (one["hotline_registered"], one["hotline_on_time_rate"]) == (2, 50.0)
    assert (one["self_handled"], one["self_handled_share"]) == (1, 20.0)
    assert one["self_handled_closure_rate"] == 100.0  # C, due and closed
    assert (one["community_reports"], one["discovery_rate"]) == (0, 20.0)
    assert one["supervisor_reports"] == 2  # A, B
    assert one["daily_reports_rate"] == 1.61  # 2 / (31 days × 4 grids)
    assert one["registration_rate"] == 66.67  # A, B of A, B, F
    assert one["satisfaction_rate"] == 50.0  # D of D, E
    assert one["registered_last_year"] == 0
    grids = [one[k] for k in ("grids", "grids@city", "grids@rural", "grids@industrial")]
    assert grids == [4, 3, 1, 0]
    assert one["area_km2"] == pytest.approx(0.04, abs=0.0005)
    assert one["reports_per_grid"] == 1.25  # 5 cases, 4 grids
    assert (one["reports_per_grid@city"], one["reports_per_grid@rural"]) == (1.33, 1.0)
    assert one["reports_per_grid@industrial"] is None
    assert (one["coverage_rate"], one["online_rate"], one["off_post_minutes"]) == (None, None, None)
    two = found.values[S2]
    assert (two["registered"], two["on_time_rate"], two["hotline_on_time_rate"]) == (1, 100.0, None)
    assert (two["satisfaction_rate"], two["registration_rate"]) == (None, 100.0)


def test_assess_month_with_district_detail_per_street(cases_engine: Engine) -> None:
    rule_set = load_rule_set("district-detail")
    with cases_engine.connect() as conn:
        result = assess_month(
            conn, rule_set, "2026-10", level="street", manual={"乌龙街道": {"agency": 3}}
        )
    assert (result.level, result.period) == ("street", "2026-10")
    longcheng = {i.key: i.points for i in result.unit(S1).items}
    assert {k: longcheng[k] for k in ("registration", "on_time", "closure", "rework")} == {
        "registration": 6,  # 66.67 % against 70 %: a started step
        "on_time": 3,  # 60 %: 4 steps, not below the floor of 60 %
        "closure": 0,  # 80 % against 95 %: 15 steps, the item used up
        "rework": 0,  # 25 % against 2 %
    }
    assert (longcheng["collection"], longcheng["online"]) == (0, 7)  # 1.61 % < 70 %; no patrol
    assert longcheng["agency"] is None  # pending: no manual input
    assert result.unit(S1).item("on_time").reasons == (
        "按期结案率 60.00% 低于 80%，每低 5% 扣 1 分：扣 4 分",
    )
    wulong = result.unit(S2)
    assert wulong.item("agency").points == 3  # manual inputs may name the unit
    assert wulong.parts["effect"] == 25  # 7 + 7 + 7 + 4 + 0 (collection); 3 items pending
    assert result.unit(S1).parts["effect"] == 9
    assert [u.unit for u in result.units] == [S2, S1]
    with cases_engine.connect() as conn, pytest.raises(Exception, match="no unit assessed here"):
        assess_month(conn, rule_set, "2026-10", level="street", manual={"东城街道": {"agency": 3}})


def test_every_preset_runs_on_the_data(cases_engine: Engine) -> None:
    expected = {
        "kunming-district-2021": ("district", ["530114"]),
        "template-2022": ("street", [S1, S2]),
        "dongying-2018": ("street", [S1, S2]),
        "district-detail": ("district", ["530114"]),
    }
    for name, (level, units) in expected.items():
        rule_set = load_rule_set(name)
        month = "2026" if rule_set.period == "annual" else "2026-10"
        with cases_engine.connect() as conn:
            result = assess_month(conn, rule_set, month)
        assert (result.level, sorted(u.unit for u in result.units)) == (level, units), name
    with cases_engine.connect() as conn:
        kunming = assess_month(conn, load_rule_set("kunming-district-2021"), "2026-10")
    district = kunming.unit("530114")
    assert district.name == "呈贡区"
    assert district.item("closure").points == 29.16  # 35 × 83.33 % (5 of 6 closed), truncated
    assert district.item("hotline").points == 2.5  # 5 × 50 %


def test_the_assess_command(cases_engine: Engine, tmp_path: Path) -> None:
    manual = tmp_path / "manual.csv"
    manual.write_text("单位,机构,budget\n龙城街道,3.5,2\n", encoding="utf-8")
    out = tmp_path / "scores.xlsx"
    ran = geogrid(
        cases_engine,
        "assess",
        "--rules",
        "district-detail",
        "--month",
        "2026-10",
        "--level",
        "street",
        "--manual",
        str(manual),
        "-o",
        str(out),
    )
    assert ran.returncode == 0, ran.stderr
    assert "龙城街道" in ran.stdout and "乌龙街道" in ran.stdout
    assert "按期结案率 60.00% 低于 80%，每低 5% 扣 1 分：扣 4 分" in ran.stdout
    assert out.stat().st_size > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        load_rule_set("district-detail")
        .model_dump_json()
        .replace('"on_time_rate"', '"on_time_ratio"'),
        encoding="utf-8",
    )
    failed = geogrid(cases_engine, "assess", "--rules", str(bad), "--month", "2026-10")
    assert failed.returncode == 1
    assert "Item 'on_time' (按期结案率)" in failed.stderr and "on_time_ratio" in failed.stderr
    assert "Traceback" not in failed.stderr
