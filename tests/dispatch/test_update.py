"""Rule plans on a real PostGIS: changes, conflicts refused, history, re-dispatch, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.engine import Engine

from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.dispatch import (
    RuleConflicts,
    current_rules,
    redispatch_plan,
    rule_history,
)
from geogrid.errors import StalePlan, ValidationFailed
from geogrid.worktime import WorkCalendar
from tests.cases_data import case, write_csv
from tests.dispatch.rules_data import (
    A11,
    A12,
    A21,
    ALL_GRIDS,
    apply,
    load_rules,
    plan,
    polygon,
    road,
    write_geojson,
    write_rules_csv,
)

CATALOGUE = load_catalogue()
FIRST = [
    {"code": "R1", "sub_class": "*", "unit": "区城管局", "grids": " ".join(ALL_GRIDS)},
    {"code": "R2", "sub_class": "06010", "unit": "城南环卫公司", "grids": f"{A11}、{A12}"},
    {"code": "R3", "sub_class": "06012", "unit": "城南环卫公司", "grids": A21},
]


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_plan_lists_changes_then_apply_writes_versions(
    territory_engine: Engine, tmp_path: Path
) -> None:
    first = load_rules(territory_engine, write_rules_csv(tmp_path / "a.csv", FIRST))
    assert first.summary["changes"] == {"added": 3, "changed": 0, "removed": 0}
    assert first.status == "applied"
    second_rows = [
        FIRST[0],
        {**FIRST[1], "unit": "城北环卫公司", "unit_kind": "公司"},
        {"sub_class": "06012", "unit": "道路保洁公司", "grids": A12},  # no code: a new R-number
    ]
    second = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", second_rows))
    assert second.summary["changes"] == {"added": 1, "changed": 1, "removed": 1}
    assert second.summary["unchanged"] == 1
    with territory_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT kind, coalesce(new_codes[1], old_codes[1]) AS code, details "
                "FROM change_plan_changes WHERE plan_id = :p ORDER BY seq"
            ),
            {"p": second.id},
        ).all()
    assert [(r.kind, r.code) for r in rows] == [
        ("added", "R4"),
        ("changed", "R2"),
        ("removed", "R3"),
    ]
    assert rows[1].details["changes"] == ["unit"]
    assert rows[1].details["old_unit"] == "城南环卫公司" and rows[1].details["row"] == "row 3"
    apply(territory_engine, second.id)
    with territory_engine.connect() as conn:
        rules = {r["code"]: r for r in current_rules(conn)}
        history = rule_history(conn, "R2")
    assert sorted(rules) == ["R1", "R2", "R4"]
    assert rules["R4"]["unit_kind"] == "company"  # inferred from 公司
    assert [(v["version"], v["unit"], v["ended_by"]) for v in history] == [
        (1, "城南环卫公司", second.id),
        (2, "城北环卫公司", None),
    ]
    again = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", second_rows))
    assert again.summary["changes"] == {"added": 0, "changed": 0, "removed": 0}  # R4 matched


def test_partial_upload_removes_nothing(territory_engine: Engine, tmp_path: Path) -> None:
    load_rules(territory_engine, write_rules_csv(tmp_path / "a.csv", FIRST))
    one = [{"code": "R9", "sub_class": "06010", "unit": "甲公司", "grids": A21}]
    p = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", one), partial=True)
    assert p.summary["changes"] == {"added": 1, "changed": 0, "removed": 0}
    full = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", one))
    assert full.summary["changes"]["removed"] == 1  # R2, the other 06010 rule


def test_conflicts_are_reported_and_refused(territory_engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"code": "C1", "sub_class": "06010", "unit": "甲公司", "grids": f"{A11},{A12}"},
        {"code": "C2", "sub_class": "06010", "unit": "乙公司", "grids": f"{A12},{A21}"},
        {"code": "C3", "sub_class": "06", "unit": "丙公司", "grids": A12},  # less specific
        {"code": "C4", "sub_class": "06010", "unit": "甲公司", "grids": A12},  # same unit as C1
    ]
    p = plan(territory_engine, write_rules_csv(tmp_path / "c.csv", rows))
    assert p.summary["conflict_count"] == 2  # C1–C2 and C2–C4, both in grid A1-2
    first = p.summary["conflicts"][0]
    assert first["where"] == "rules C1 and C2 (row 2 / row 3)"
    assert first["rule"] == "responsibility_conflict" and A12 in first["message"]
    with pytest.raises(RuleConflicts, match="conflict") as refused:
        apply(territory_engine, p.id)
    assert len(refused.value.problems) == 2
    assert _count(territory_engine, "responsibility_rules") == 0
    rows[1]["priority"] = 1  # C2 first: the tie is broken
    settled = plan(territory_engine, write_rules_csv(tmp_path / "c.csv", rows))
    assert settled.summary["conflict_count"] == 0
    assert apply(territory_engine, settled.id).status == "applied"


def test_conflicts_with_current_rules_and_validity(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_rules(territory_engine, write_rules_csv(tmp_path / "a.csv", FIRST))
    later = [
        {
            "code": "N1",
            "sub_class": "06010",
            "unit": "乙公司",
            "grids": A11,
            "valid_from": "2030-01-01",
        },
    ]
    p = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", later), partial=True)
    assert p.summary["conflict_count"] == 1  # R2 has no end date: both hold from 2030
    later[0]["valid_to"] = "2030-12-31"
    bounded = [{**FIRST[1], "valid_to": "2029-12-31"}, *later]
    p = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", bounded), partial=True)
    assert p.summary["conflict_count"] == 0


def test_polygon_and_road_conflicts(territory_engine: Engine, tmp_path: Path) -> None:
    features = [
        polygon(0, 100, 150, 200, code="P1", sub_class="06010", unit="甲公司"),
        polygon(100, 100, 250, 200, code="P2", sub_class="06010", unit="乙公司"),
        polygon(250, 100, 400, 200, code="P3", sub_class="06010", unit="丙公司"),  # touches P2
        road([(0, 150), (300, 150)], code="L1", sub_class="06012", unit="甲公司", buffer_m=10),
        road([(200, 150), (400, 150)], code="L2", sub_class="06012", unit="乙公司", buffer_m=5),
        road([(300, 100), (300, 200)], code="L3", sub_class="06012", unit="丙公司", buffer_m=10),
    ]
    p = plan(territory_engine, write_geojson(tmp_path / "areas.geojson", features))
    pairs = [c["where"].split(" (")[0] for c in p.summary["conflicts"]]
    assert pairs == ["rules P1 and P2", "rules L1 and L2"]  # a crossing road is no conflict
    assert "around POINT(" in p.summary["conflicts"][0]["message"]


def test_stale_plan_is_refused(territory_engine: Engine, tmp_path: Path) -> None:
    a = plan(territory_engine, write_rules_csv(tmp_path / "a.csv", FIRST))
    b = plan(territory_engine, write_rules_csv(tmp_path / "a.csv", FIRST[:1]))
    apply(territory_engine, a.id)
    with pytest.raises(StalePlan):
        apply(territory_engine, b.id)


def _import(engine: Engine, path: Path) -> None:
    with engine.begin() as conn:
        import_cases(conn, path, catalogue=CATALOGUE, calendar=WorkCalendar.load())


def test_redispatch_lists_exactly_the_open_cases_that_move(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_rules(territory_engine, write_rules_csv(tmp_path / "a.csv", FIRST))
    when = {"registered_at": "2026-10-02 09:00"}
    cases = [
        case("K1", A11, department=None, **when),  # R2 → moves
        case("K2", A12, department=None, **when),  # R2 → moves
        case("K3", A11, department="区城管局", **when),  # given department: stays
        case("K4", A11, department=None, closed_at="2026-10-02 18:00", **when),  # closed
        case("K5", A21, department=None, **when),  # 06010 in A2-1: R1, unchanged
        case("K6", A21, department=None, sub_class="06012", **when),  # R3 → removed: R1
    ]
    _import(territory_engine, write_csv(tmp_path / "cases.csv", cases))
    with territory_engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT case_id, dispatch_rule FROM cases")).all())
    assert stored == {"K1": "R2", "K2": "R2", "K3": None, "K4": "R2", "K5": "R1", "K6": "R3"}
    rows = [
        FIRST[0],
        {**FIRST[1], "unit": "城北环卫公司"},
        {"code": "R5", "sub_class": "06012", "unit": "城南环卫公司", "grids": A12},  # R3 goes
    ]
    p = plan(territory_engine, write_rules_csv(tmp_path / "b.csv", rows))
    assert p.summary["changes"] == {"added": 1, "changed": 1, "removed": 1}
    assert p.summary["redispatch"]["open_cases_moving"] == 3
    with territory_engine.begin() as conn:
        moves = redispatch_plan(conn, p.id, catalogue=CATALOGUE)
    assert [(c["case_id"], c["from_unit"], c["to_unit"], c["to_rule"]) for c in moves["cases"]] == [
        ("K1", "城南环卫公司", "城北环卫公司", "R2"),
        ("K2", "城南环卫公司", "城北环卫公司", "R2"),
        ("K6", "城南环卫公司", "区城管局", "R1"),
    ]
    assert moves["by_units"] == [
        {"from_unit": "城南环卫公司", "to_unit": "城北环卫公司", "cases": 2},
        {"from_unit": "城南环卫公司", "to_unit": "区城管局", "cases": 1},
    ]


@pytest.mark.parametrize(
    ("row", "where", "rule"),
    [
        ({"sub_class": "99999", "unit": "甲", "grids": A11}, "row 2", "unknown_sub_class"),
        ({"sub_class": "06010", "unit": "甲", "grids": "530114009009009"}, "row 2", "unknown_grid"),
        ({"sub_class": "06010", "grids": A11}, "row 2", "missing_unit"),
        ({"sub_class": "06010", "unit": "甲"}, "row 2", "missing_area"),
        (
            {"sub_class": "06010", "unit": "甲", "grids": A11, "priority": "0"},
            "row 2",
            "bad_priority",
        ),
        (
            {"sub_class": "06010", "unit": "甲", "grids": A11, "valid_to": "2026-13-01"},
            "row 2",
            "bad_date",
        ),
        (
            {"sub_class": "06010", "unit": "甲", "grids": A11, "unit_kind": "个人"},
            "row 2",
            "bad_unit_kind",
        ),
    ],
)
def test_bad_table_rows_are_named(
    territory_engine: Engine, tmp_path: Path, row: dict[str, object], where: str, rule: str
) -> None:
    good = {"code": "G", "sub_class": "06010", "unit": "乙", "grids": A12}
    path = write_rules_csv(
        tmp_path / "bad.csv",
        [{**row, "code": "B"}, good],
        columns=(*FIRST_COLUMNS, "unit_kind", "priority", "valid_to"),
    )
    with pytest.raises(ValidationFailed) as refused:
        plan(territory_engine, path)
    assert [(p.where, p.rule) for p in refused.value.problems] == [(where, rule)]
    assert _count(territory_engine, "change_plans") == 0


FIRST_COLUMNS = ("code", "sub_class", "unit", "grids")


def test_bad_features_are_named(territory_engine: Engine, tmp_path: Path) -> None:
    bowtie = polygon(0, 100, 100, 200, code="B1", sub_class="06010", unit="甲")
    ring = bowtie["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # self-intersecting
    features = [
        bowtie,
        road([(0, 150), (100, 150)], code="B2", sub_class="06010", unit="甲"),  # no buffer
        polygon(0, 100, 100, 200, code="B3", sub_class="06010"),  # no unit
        polygon(5000, 5000, 5100, 5100, code="B4", sub_class="06010", unit="甲"),  # far away
        polygon(0, 0, 100, 100, code="B5", sub_class="6010", unit="甲"),  # fine: 06010
    ]
    with pytest.raises(ValidationFailed) as refused:
        plan(territory_engine, write_geojson(tmp_path / "bad.geojson", features))
    assert [(p.where, p.rule) for p in refused.value.problems] == [
        ("feature 1", "invalid_geometry"),
        ("feature 2", "missing_buffer"),
        ("feature 3", "missing_unit"),
        ("feature 4", "outside_district"),
    ]
    assert "Self-intersection" in refused.value.problems[0].message
    assert _count(territory_engine, "change_plans") == 0


def test_xlsx_with_chinese_headers(territory_engine: Engine, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["规则编号", "类型", "大类", "小类", "责任单位", "单位类型", "网格", "优先级", "生效日期"]
    )
    sheet.append(
        ["X1", "事件", "06", "06010", "城南环卫公司", "公司", f"{A11}、{A12}", 1, "2026-01-01"]
    )
    sheet.append(["X2", "部件", None, "03005", "区城管局", "部门", A21, None, None])
    sheet.append(["X3", None, "09", None, "龙城街道", None, A11, None, None])
    path = tmp_path / "规则.xlsx"
    book.save(path)
    p = load_rules(territory_engine, path)
    assert p.summary["changes"]["added"] == 3
    with territory_engine.connect() as conn:
        rules = {r["code"]: r for r in current_rules(conn)}
    assert (rules["X1"]["scope"], rules["X1"]["case_type"], rules["X1"]["priority"]) == (
        "06010",
        "event",
        1,
    )
    assert rules["X1"]["grid_codes"] == [A11, A12]
    assert (rules["X2"]["case_type"], rules["X2"]["unit_kind"]) == ("component", "department")
    assert (rules["X3"]["scope"], rules["X3"]["case_type"]) == ("09", "event")
