"""The companies' case table and self-handled share, on cases counted by hand.

Period 2026-10 (cut-off its end). 城洁 (HW1) and 绿源 (HW2) are the responsible units dispatch
wrote into the cases' department; 区城管局 handled one sanitation case too.

    A  HW1 06010 supervisor  reg 10-02 09:00 due 10-03 09:00 closed 10-03 08:00  on time
    B  HW1 06012 hotline     reg 10-05 09:00 due 10-06 09:00 closed 10-07 09:00  overdue
    C  HW1 06042 supervisor  reg 10-20 09:00 due 11-05 09:00 open                open on time
    D  HW1 03005 (component) reg 10-10 09:00 due 10-11 09:00 open                open overdue
    E  HW1 06010 grid_worker reg 10-12 09:00 closed 10-12 10:00                  self-handled
    F  HW1 09006 (not sanitation)                                               not counted
    G  HW1 06010 supervisor  reg 09-15 09:00 open                                cumulative only
    H  HW2 06011 supervisor  reg 10-03 09:00 due 10-04 09:00 closed 10-03 12:00  on time
    I  HW2 06010 grid_worker reg 10-04 09:00 closed 10-04 10:00                  self-handled
    J  HW2 06010 grid_worker reg 10-06 09:00 closed 10-06 10:00                  self-handled
    K  区城管局 06010         reg 10-08 09:00 due 10-09 09:00 closed 10-08 15:00  on time
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.indicators import IndicatorQuery, compute_indicators, monthly_report
from geogrid.indicators.html import render_monthly_report
from geogrid.sanitation.indicators import COMPANY_TITLE, SELF_HANDLING_TITLE, self_handling
from geogrid.worktime import WorkCalendar
from tests.cases_data import case, write_csv
from tests.sanitation.data import load_sanitation

HW1, HW2 = "城洁环卫有限公司", "绿源环卫有限公司"


def _case(cid: str, unit: str, sub: str, reg: str, **fields: object) -> dict[str, object]:
    extra: dict[str, object] = {"department": unit, "sub_class": sub, "registered_at": reg}
    if sub[:2] <= "05":
        extra |= {"case_type": "component", "major_class": sub[:2]}
    elif sub[:2] != "06":
        extra["major_class"] = sub[:2]
    return case(cid, dx=5 + 8 * (ord(cid) - 65), dy=50, **(extra | fields))


CASES = [
    _case("A", HW1, "06010", "2026-10-02 09:00", due_at="2026-10-03 09:00",
          closed_at="2026-10-03 08:00"),
    _case("B", HW1, "06012", "2026-10-05 09:00", due_at="2026-10-06 09:00",
          closed_at="2026-10-07 09:00", source="hotline"),
    _case("C", HW1, "06042", "2026-10-20 09:00", due_at="2026-11-05 09:00"),
    _case("D", HW1, "03005", "2026-10-10 09:00", due_at="2026-10-11 09:00"),
    _case("E", HW1, "06010", "2026-10-12 09:00", due_at="2026-10-13 09:00",
          closed_at="2026-10-12 10:00", source="grid_worker"),
    _case("F", HW1, "09006", "2026-10-12 09:00", due_at="2026-10-13 09:00"),
    _case("G", HW1, "06010", "2026-09-15 09:00", due_at="2026-09-16 09:00"),
    _case("H", HW2, "06011", "2026-10-03 09:00", due_at="2026-10-04 09:00",
          closed_at="2026-10-03 12:00"),
    _case("I", HW2, "06010", "2026-10-04 09:00", due_at="2026-10-05 09:00",
          closed_at="2026-10-04 10:00", source="grid_worker"),
    _case("J", HW2, "06010", "2026-10-06 09:00", due_at="2026-10-07 09:00",
          closed_at="2026-10-06 10:00", source="grid_worker"),
    _case("K", "区城管局", "06010", "2026-10-08 09:00", due_at="2026-10-09 09:00",
          closed_at="2026-10-08 15:00"),
]  # fmt: skip


@pytest.fixture
def cases_engine(territory_engine: Engine, tmp_path: Path) -> Engine:
    load_sanitation(territory_engine)
    path = write_csv(tmp_path / "cases.csv", CASES)
    with territory_engine.begin() as conn:
        import_cases(conn, path, catalogue=load_catalogue(), calendar=WorkCalendar.load())
    return territory_engine


def query(**kw: object) -> IndicatorQuery:
    return IndicatorQuery.parse(level="company", start="2026-10-01", end="2026-10-31", **kw)  # type: ignore[arg-type]


def test_the_companies_table_counts_dispatched_sanitation_cases(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        table = compute_indicators(conn, query())
    rows = {r["company"]: r for r in table.rows}
    assert set(rows) == {HW1, HW2, "区城管局"}
    hw1 = rows[HW1]
    counts = ("registered", "closed_on_time", "closed_overdue", "open_on_time", "open_overdue")
    assert [hw1[c] for c in counts] == [4, 1, 1, 1, 1]  # A B C D; not E (self), F, G
    assert hw1["open_cumulative"] == 3  # C, D and G (September)
    assert (hw1["on_time_rate"], hw1["closure_rate"]) == (25.0, 50.0)
    assert [rows[HW2][c] for c in counts] == [1, 1, 0, 0, 0]  # H only: I and J self-handled
    assert rows["区城管局"]["closure_rate"] == 100.0
    assert table.totals["registered"] == 6


def test_a_company_without_cases_is_listed_with_null_rates(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        table = compute_indicators(conn, query(cutoff="2026-10-01T12:00:00"))
    rows = {r["company"]: r for r in table.rows}
    assert rows[HW2]["registered"] == 0 and rows[HW2]["closure_rate"] is None


def test_self_handled_cases_apart_with_their_share_and_points(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        own = compute_indicators(conn, query(source="grid_worker"))
        result = self_handling(conn, query())
    assert {r["company"]: r["registered"] for r in own.rows} == {HW1: 1, HW2: 2}
    got = [(r["company"], r["registered"], r["self_handled"], r["share"], r["points"])
           for r in result.rows]  # fmt: skip
    assert got == [
        ("区城管局", 1, 0, 0.0, 3),
        (HW1, 5, 1, 20.0, 2),  # A B C D E: 1 of 5
        (HW2, 3, 2, 66.67, 0),  # H I J: 2 of 3
    ]
    assert result.totals == {
        "registered": 9,
        "self_handled": 3,
        "self_handled_closed": 3,
        "share": 33.33,
        "points": 0,
    }


def test_the_monthly_report_publishes_both_tables(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        report = monthly_report(
            conn, IndicatorQuery.monthly("2026-10"), load_catalogue(), month="2026-10"
        )
    companies, self_table = report.sanitation
    assert companies.title == COMPANY_TITLE and self_table.title == SELF_HANDLING_TITLE
    assert companies.headers[0] == "环卫公司" and companies.headers[-1] == "结案率"
    assert companies.rows[-1] == ["合计", 6, 3, 1, 1, 1, 3, 50.0, 66.67]
    assert companies.rows[-2] == [HW1, 4, 1, 1, 1, 1, 3, 25.0, 50.0]  # lowest closure rate last
    assert self_table.rows[-1] == ["合计", 9, 3, 3, 33.33, 0]
    assert report.published.index(companies) == len(report.tables)
    html = render_monthly_report(report)
    assert COMPANY_TITLE in html and SELF_HANDLING_TITLE in html
