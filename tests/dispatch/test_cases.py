"""Cases registered or imported without a department are dispatched by the rules."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.cases import import_cases, register_case
from geogrid.catalogue import load_catalogue
from geogrid.worktime import WorkCalendar
from tests.cases_data import case, lonlat, write_csv
from tests.dispatch.rules_data import A11, A12, A21, load_rules, write_rules_csv

CATALOGUE = load_catalogue()
RULES = [
    {"code": "S1", "sub_class": "06010", "unit": "城南环卫公司", "grids": f"{A11},{A12}"},
    {
        "code": "S2",
        "sub_class": "06010",
        "unit": "旧环卫公司",
        "grids": A21,
        "valid_to": "2026-09-30",
    },
]


def _stored(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT case_id, department, dispatch_rule FROM cases"))
        return {r.case_id: (r.department, r.dispatch_rule) for r in rows}


def test_import_dispatches_cases_without_a_department(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_rules(territory_engine, write_rules_csv(tmp_path / "rules.csv", RULES))
    when = {"registered_at": "2026-10-02 09:00"}
    rows = [
        case("D1", A11, department=None, **when),
        case("D2", A11, department="区市场监管局", **when),
        case("D3", A21, department=None, **when),  # S2 ended on 2026-09-30: catalogue
        case("D4", A21, department=None, registered_at="2026-09-30 17:00"),  # S2 held then
        case(
            "D5", A11, department=None, sub_class="09006", major_class="09", **when
        ),  # no rule for 09006
    ]
    with territory_engine.begin() as conn:
        import_cases(
            conn,
            write_csv(tmp_path / "cases.csv", rows),
            catalogue=CATALOGUE,
            calendar=WorkCalendar.load(),
        )
    default = CATALOGUE.get("event", "06010").department
    assert _stored(territory_engine) == {
        "D1": ("城南环卫公司", "S1"),
        "D2": ("区市场监管局", None),
        "D3": (default, "catalogue"),
        "D4": ("旧环卫公司", "S2"),
        "D5": (CATALOGUE.get("event", "09006").department, "catalogue"),
    }


def test_registration_is_dispatched_and_a_given_department_kept(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_rules(territory_engine, write_rules_csv(tmp_path / "rules.csv", RULES))
    lon, lat = lonlat(A12)
    record = {
        "case_id": "P1",
        "source": "hotline",
        "sub_class": "06010",
        "lon": lon,
        "lat": lat,
        "registered_at": "2026-10-02 09:00",
    }
    calendar = WorkCalendar.load()
    with territory_engine.begin() as conn:
        register_case(conn, record, catalogue=CATALOGUE, calendar=calendar)
    assert _stored(territory_engine)["P1"] == ("城南环卫公司", "S1")
    with territory_engine.begin() as conn:
        register_case(
            conn, {**record, "department": "区城管局"}, catalogue=CATALOGUE, calendar=calendar
        )
    assert _stored(territory_engine)["P1"] == ("区城管局", None)
