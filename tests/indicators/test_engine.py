"""Every indicator of DOMAIN.md §4 against counts worked out by hand on eight cases.

Period 2026-10-01..2026-10-31, cut-off the end of the period (2026-11-01 00:00 +08:00).
All cases are 暴露垃圾 (06010) in grid A1-1 unless noted; positions > 30 m apart (no repeats).

    A  registered 10-02 09:00, due 10-03 09:00, closed 10-03 09:00  closed exactly at due: on time
    B  registered 10-05 09:00, due 10-06 09:00, closed 10-07 09:00  closed overdue, reworked once
    C  registered 10-20 09:00, due 11-05 09:00, open                open on time, extended
    D  registered 10-10 09:00, due 10-11 09:00, open                open overdue, returned twice
    E  registered 10-25 09:00, due 10-26 09:00, closed 11-03  closed after cut-off: open overdue
    F  registered 09-15 09:00, due 09-16, open                      before the period, still open
    G  registered 09-20 09:00, closed 10-05 (grid B1-1)            before the period, closed in it
    H  registered 2018-12-01, open                                  before the accumulation start
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.indicators import IndicatorQuery, compute_indicators
from geogrid.worktime import WorkCalendar
from tests.cases_data import add_road, case, write_csv

A11, B11 = "530114001001001", "530114002001001"

CASES = [
    case(
        "A",
        dx=10,
        dy=10,
        registered_at="2026-10-02 09:00",
        due_at="2026-10-03 09:00",
        closed_at="2026-10-03 09:00",
    ),
    case(
        "B",
        dx=90,
        dy=10,
        registered_at="2026-10-05 09:00",
        due_at="2026-10-06 09:00",
        closed_at="2026-10-07 09:00",
        rework_count=1,
    ),
    case(
        "C",
        dx=10,
        dy=90,
        registered_at="2026-10-20 09:00",
        due_at="2026-11-05 09:00",
        extended="true",
    ),
    case(
        "D",
        dx=90,
        dy=90,
        registered_at="2026-10-10 09:00",
        due_at="2026-10-11 09:00",
        returned_count=2,
    ),
    case(
        "E",
        dx=50,
        dy=50,
        registered_at="2026-10-25 09:00",
        due_at="2026-10-26 09:00",
        closed_at="2026-11-03 09:00",
    ),
    case("F", dx=50, dy=90, registered_at="2026-09-15 09:00", due_at="2026-09-16 09:00"),
    case(
        "G",
        B11,
        registered_at="2026-09-20 09:00",
        due_at="2026-09-21 09:00",
        closed_at="2026-10-05 09:00",
    ),
    case("H", dx=50, dy=10, registered_at="2018-12-01 09:00", due_at="2018-12-02 09:00"),
]


def _import(engine: Engine, tmp_path: Path, rows: list[dict[str, object]]) -> None:
    path = write_csv(tmp_path / "cases.csv", rows)
    with engine.begin() as conn:
        import_cases(conn, path, catalogue=load_catalogue(), calendar=WorkCalendar.load())


def _query(level: str = "grid", **kw: object) -> IndicatorQuery:
    return IndicatorQuery.parse(level=level, start="2026-10-01", end="2026-10-31", **kw)  # type: ignore[arg-type]


@pytest.fixture
def cases_engine(territory_engine: Engine, tmp_path: Path) -> Engine:
    _import(territory_engine, tmp_path, CASES)
    return territory_engine


def _row(engine: Engine, query: IndicatorQuery, key: str, value: str) -> dict[str, object]:
    with engine.connect() as conn:
        table = compute_indicators(conn, query)
    return next(r for r in table.rows if r[key] == value)


def test_counts_of_each_edge(cases_engine: Engine) -> None:
    row = _row(cases_engine, _query(), "grid_code", A11)
    assert row["registered"] == 5
    assert row["closed_on_time"] == 1  # A, closed exactly at its due time
    assert row["closed_overdue"] == 1  # B
    assert row["open_on_time"] == 1  # C
    assert row["open_overdue"] == 2  # D, and E closed only after the cut-off
    assert row["closed"] == 2
    assert row["open_cumulative"] == 4  # C, D, E and F (registered before the period); not H
    assert row["returned"] == 2
    assert row["repeat_cases"] == 0


def test_rates_of_each_edge(cases_engine: Engine) -> None:
    row = _row(cases_engine, _query(), "grid_code", A11)
    assert row["on_time_rate"] == 20.0  # 1 / 5
    assert row["closure_rate"] == 40.0  # 2 / 5
    assert row["rework_rate"] == 50.0  # B of the 2 closed
    assert row["extension_rate"] == 20.0  # C of 5
    assert row["repeat_rate"] == 0.0


def test_a_grid_without_cases_has_null_rates(cases_engine: Engine) -> None:
    row = _row(cases_engine, _query(), "grid_code", B11)
    assert row["registered"] == 0
    assert row["open_cumulative"] == 0  # G was closed on 10-05
    assert row["on_time_rate"] is None and row["closure_rate"] is None
    assert row["rework_rate"] is None


def test_due_denominator_counts_cases_due_by_the_cutoff(cases_engine: Engine) -> None:
    # 应结案数: A, B, D, E are due by the cut-off; C is not due and not closed.
    row = _row(cases_engine, _query(denominator="due"), "grid_code", A11)
    assert row["on_time_rate"] == 25.0
    assert row["closure_rate"] == 50.0


def test_cutoff_inside_the_period(cases_engine: Engine) -> None:
    # At 10-06 00:00 only A and B exist; B is not closed yet and its due time lies ahead.
    row = _row(cases_engine, _query(cutoff="2026-10-06T00:00:00"), "grid_code", A11)
    assert row["registered"] == 2
    assert (row["closed_on_time"], row["open_on_time"], row["open_overdue"]) == (1, 1, 0)
    assert row["open_cumulative"] == 2  # B and F


def test_levels_add_up(cases_engine: Engine) -> None:
    street = _row(cases_engine, _query("street"), "street_code", "530114001")
    assert street["registered"] == 5 and street["street_name"] == "龙城街道"
    district = _row(cases_engine, _query("district"), "district_code", "530114")
    assert district["registered"] == 5 and district["open_cumulative"] == 4
    dept = _row(cases_engine, _query("department"), "department", "区城管局")
    assert dept["closed"] == 2
    source = _row(cases_engine, _query("source"), "source", "district_supervisor")
    assert source["registered"] == 5 and source["source_name"] == "区级监督员"
    with cases_engine.connect() as conn:
        table = compute_indicators(conn, _query("community"))
    assert {r["community_code"] for r in table.rows} == {
        "530114001001",
        "530114001002",
        "530114002001",
    }
    assert table.totals["registered"] == 5 and table.totals["closure_rate"] == 40.0


def test_platform_and_source_filters(cases_engine: Engine) -> None:
    query = _query("district", source="hotline")
    row = _row(cases_engine, query, "district_code", "530114")
    assert row["registered"] == 0 and row["closure_rate"] is None
    city = dataclasses.replace(_query("district"), platform="city")
    assert _row(cases_engine, city, "district_code", "530114")["registered"] == 0


def test_repeat_cases_follow_the_road_class(territory_engine: Engine, tmp_path: Path) -> None:
    add_road(territory_engine, "main", [(0, 195), (400, 195)])  # along the north edge
    add_road(territory_engine, "alley", [(0, 5), (200, 5)])  # along the south edge
    day = {"registered_at": "2026-10-10 09:00", "due_at": "2026-10-11 09:00"}
    rows = [
        # two 暴露垃圾 by the main road, 10 m apart: a repeat place (2 on main roads)
        case("M1", dx=20, dy=90, **day),
        case("M2", dx=30, dy=90, **day),
        # two 乱堆杂物 by the alley: not yet (4 in back alleys)
        case("L1", "530114002001001", dx=20, dy=10, sub_class="06036", **day),
        case("L2", "530114002001001", dx=25, dy=10, sub_class="06036", **day),
        # four 占道经营 by the alley within 30 m of each other: repeats
        *(
            case(
                f"K{i}",
                "530114002001002",
                dx=10 + 8 * i,
                dy=10,
                sub_class="09006",
                major_class="09",
                **day,
            )
            for i in range(4)
        ),
        # small ads and component cases never count
        *(
            case(f"S{i}", dx=60 + 5 * i, dy=90, sub_class="07001", major_class="07", **day)
            for i in range(3)
        ),
        *(
            case(
                f"P{i}",
                "530114001001002",
                dx=50 + 5 * i,
                dy=90,
                sub_class="01003",
                major_class="01",
                case_type="component",
                **day,
            )
            for i in range(3)
        ),
    ]
    _import(territory_engine, tmp_path, rows)
    with territory_engine.connect() as conn:
        table = compute_indicators(conn, _query("sub_class"))
    repeats = {r["sub_class"]: r["repeat_cases"] for r in table.rows}
    assert repeats == {"06010": 2, "06036": 0, "09006": 4, "07001": 0, "01003": 0}
    assert table.totals["repeat_cases"] == 6
    assert table.totals["repeat_rate"] == pytest.approx(round(6 / 14 * 100, 2))


def test_excluded_subclasses_leave_the_extension_rate(cases_engine: Engine) -> None:
    query = dataclasses.replace(_query(), extension_excluded=("06010",))
    row = _row(cases_engine, query, "grid_code", A11)
    assert row["extension_rate"] is None  # every case of the grid is excluded
    assert row["registered"] == 5  # and still counted everywhere else
