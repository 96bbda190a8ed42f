"""Stored runs: created on the October cases, read back, manual inputs re-scoring them, the
template round trip, and refused inputs leaving the database as it was.

district-detail per street, October 2026 (cases A–G of test_assess.py; no patrol data):

    龙城街道 (530114001): 立案率 66.67 % → 6; 按期结案率 60 % → 3; 结案率 80 % → 0;
        返工率 25 % → 0; 信息采集量 1.61 % → 0; 上线率 no data → 7 (full); manual items pending.
        Parts: 组织工作 0, 工作成效 9, 内部管理 7, 社会评价 0 → 16.
    乌龙街道 (530114002): 100 %, 100 %, 100 %, 0 % → 7, 7, 7, 4; 信息采集量 0; 上线率 7.
        Parts: 0, 25, 7, 0 → 32.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from geogrid.assessment.entries import rule_source
from geogrid.assessment.runs import (
    create_run,
    enter_inputs,
    enter_inputs_table,
    get_run,
    list_runs,
)
from geogrid.assessment.template import write_template
from geogrid.errors import NotFound, ValidationFailed
from tests.test_cli import geogrid

S1, S2 = "530114001", "530114002"
PENDING = [
    "agency",
    "budget",
    "contingency",
    "equipment",
    "ledger",
    "supervised",
    "designated",
    "false_records",
    "response",
    "staffing",
    "hours",
    "reporting",
    "superiors",
    "partners",
    "communities",
]
DATA_POINTS = {
    S1: {
        "registration": 6,
        "on_time": 3,
        "closure": 0,
        "rework": 0,
        "collection": 0,
        "online": 7,
    },
    S2: {
        "registration": 7,
        "on_time": 7,
        "closure": 7,
        "rework": 4,
        "collection": 0,
        "online": 7,
    },
}


def _create(engine: Engine, **options: object) -> int:
    with engine.begin() as conn:
        run = create_run(
            conn,
            rule_source("district-detail"),
            "2026-10",
            level="street",
            created_by="张三",
            **options,  # type: ignore[arg-type]
        )
    return run.id


def _points(engine: Engine, run_id: int) -> dict[str, dict[str, float | None]]:
    with engine.connect() as conn:
        run = get_run(conn, run_id)
    return {u.unit: {i.key: i.points for i in u.items} for u in run.result.units}


def _counts(engine: Engine) -> tuple[int, int, str]:
    with engine.connect() as conn:
        inputs = conn.execute(sa.text("SELECT count(*) FROM assessment_inputs")).scalar_one()
        scorings = conn.execute(sa.text("SELECT count(*) FROM assessment_scorings")).scalar_one()
        result = conn.execute(sa.text("SELECT result::text FROM assessment_runs")).scalar_one()
    return inputs, scorings, result


def test_a_run_is_stored_and_read_back(october_engine: Engine) -> None:
    run_id = _create(october_engine)
    with october_engine.connect() as conn:
        run = get_run(conn, run_id)
        listed = list_runs(conn)
    assert (run.period, run.level, run.status, run.created_by) == (
        "2026-10",
        "street",
        "pending",
        "张三",
    )
    assert run.rules_text == rule_source("district-detail").text
    assert [(u.unit, u.name, u.total, u.rank) for u in run.result.units] == [
        (S2, "乌龙街道", 32, 1),
        (S1, "龙城街道", 16, 2),
    ]
    assert run.result.unit(S1).parts == {
        "organisation": 0,
        "effect": 9,
        "internal": 7,
        "social": 0,
    }
    assert run.result.unit(S2).parts == {
        "organisation": 0,
        "effect": 25,
        "internal": 7,
        "social": 0,
    }
    points = _points(october_engine, run_id)
    for unit, expected in DATA_POINTS.items():
        assert points[unit] == expected | {key: None for key in PENDING}
    closure = run.result.unit(S1).item("closure")
    assert closure.inputs == {"value": 80.0}
    assert closure.reasons == ("结案率 80.00% 低于 95%，每低 1% 扣 1 分：扣 7 分（扣完为止）",)
    assert run.result.unit(S1).pending == tuple(PENDING)
    assert [(s.n, s.cause, s.totals) for s in run.history] == [(1, "created", {S2: 32, S1: 16})]
    assert listed[0]["id"] == run_id and listed[0]["pending_items"] == 30
    assert listed[0]["units_scored"] == 2
    with october_engine.connect() as conn, pytest.raises(NotFound):
        get_run(conn, run_id + 1)


def test_manual_inputs_rescore_the_run_and_keep_its_history(october_engine: Engine) -> None:
    run_id = _create(october_engine, manual={"乌龙街道": {"agency": 3}})
    assert _points(october_engine, run_id)[S2]["agency"] == 3
    given = {
        "龙城街道": {
            "agency": 4,
            "经费": 1.5,  # by the item's Chinese name
            "supervised": 2,  # 5 − 2 × 1
            "staffing.collectors": 1,  # 4 − 1 × 2
            "staffing.operators": 0,
            "hours": 4,
            "reporting": 8,
            "superiors": 95,  # > 90 % → 2
            "partners": 80,  # ≤ 85 % → 0
        },
        S2: {"agency": None},  # removed: pending again
    }
    with october_engine.begin() as conn:
        run = enter_inputs(conn, run_id, given, entered_by="李四")
    one = run.result.unit(S1)
    assert {k: one.item(k).points for k in given["龙城街道"] if "." not in k and k != "经费"} == {
        "agency": 4,
        "supervised": 3,
        "hours": 4,
        "reporting": 8,
        "superiors": 2,
        "partners": 0,
    }
    assert (one.item("budget").points, one.item("staffing").points) == (1.5, 2)
    assert one.item("supervised").reasons == ("督办件超期 2 件，每件扣 1 分：扣 2 分",)
    # 组织工作 4 + 1.5; 工作成效 9 + 3; 内部管理 7 + 2 + 4 + 8; 社会评价 2 + 0
    assert one.parts == {"organisation": 5.5, "effect": 12, "internal": 21, "social": 2}
    assert (one.total, one.rank) == (40.5, 1)
    assert run.result.unit(S2).item("agency").points is None
    assert (run.result.unit(S2).total, run.result.unit(S2).rank) == (32, 2)
    assert run.scorings == 2 and run.status == "pending"
    assert run.manual[S1]["agency"].entered_by == "李四" and S2 not in run.manual
    assert [(s.n, s.cause, s.scored_by, s.totals) for s in run.history] == [
        (1, "created", "张三", {S2: 35, S1: 16}),
        (2, "inputs", "李四", {S1: 40.5, S2: 32}),
    ]
    assert run.history[1].changes[S2] == {"agency": None}
    assert run.history[1].changes[S1]["budget"] == 1.5


def test_refused_inputs_change_nothing(october_engine: Engine) -> None:
    run_id = _create(october_engine, manual={S1: {"agency": 2}})
    before = _counts(october_engine)
    cases = [
        ({"东城街道": {"agency": 1}}, "unit '东城街道'", "unknown_unit"),
        ({S1: {"meetings": 1}}, "unit '530114001', item 'meetings'", "unknown_item"),
        ({S1: {"agency": 5}}, "unit '530114001', item 'agency'", "out_of_range"),
        ({S1: {"supervised": -1}}, "unit '530114001', item 'supervised'", "out_of_range"),
        ({S1: {"supervised": 1.5}}, "unit '530114001', item 'supervised'", "out_of_range"),
        ({S1: {"superiors": 120}}, "unit '530114001', item 'superiors'", "out_of_range"),
        ({S1: {"hours": "四"}}, "unit '530114001', item 'hours'", "not_a_number"),
        ({S1: {"hours": True}}, "unit '530114001', item 'hours'", "not_a_number"),
    ]
    for entries, where, rule in cases:
        with october_engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
            enter_inputs(conn, run_id, {**entries, S2: {"agency": 4}}, entered_by="x")
        assert [(p.where, p.rule) for p in caught.value.problems] == [(where, rule)], entries
    with october_engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
        enter_inputs(conn, run_id, {S1: {"agency": 9, "hours": 5}}, entered_by="x")
    assert [p.message for p in caught.value.problems] == [
        "Unit 龙城街道 (530114001), 机构 (agency): 9 is out of range; it takes a number from "
        "0 to 4.",
        "Unit 龙城街道 (530114001), 工作时间 (hours): 5 is out of range; it takes a number "
        "from 0 to 4.",
    ]
    with october_engine.begin() as conn, pytest.raises(ValidationFailed, match="Give manual"):
        enter_inputs(conn, run_id, {}, entered_by="x")
    assert _counts(october_engine) == before


def test_a_units_filter_shows_the_chosen_units_ranked_among_all(october_engine: Engine) -> None:
    run_id = _create(october_engine, units=["龙城街道"])
    with october_engine.connect() as conn:
        run = get_run(conn, run_id)
    assert run.units == (S1,)
    assert [(u.unit, u.total, u.rank) for u in run.result.units] == [(S1, 16, 2)]
    with october_engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
        enter_inputs(conn, run_id, {"乌龙街道": {"agency": 1}}, entered_by="x")
    assert caught.value.problems[0].where == "unit '乌龙街道'"
    with october_engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
        create_run(
            conn, rule_source("district-detail"), "2026-10", level="street", units=["东城"],
            created_by="x",
        )  # fmt: skip
    assert caught.value.problems[0].where == "unit '东城'"


def test_the_template_round_trips(october_engine: Engine, tmp_path: Path) -> None:
    run_id = _create(october_engine, manual={S1: {"agency": 2, "staffing.operators": 1}})
    with october_engine.connect() as conn:
        run = get_run(conn, run_id)
    path = tmp_path / "template.xlsx"
    write_template(run, path)
    book = load_workbook(path)
    assert book.sheetnames == ["人工录入", "填写说明"]
    sheet = book["人工录入"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "单位编码",
        "单位名称",
        "机构（4分）",
        "经费（2分）",
        "预案（2分）",
        "设备（8分）",
        "台账（4分）",
        "督办件（5分）",
        "指定案件（4分）",
        "虚假信息（4分）",
        "到场及时（7分）",
        "人员配置（collectors）（4分）",
        "人员配置（operators）（4分）",
        "工作时间（4分）",
        "信息上报（8分）",
        "上级部门满意度（2分）",
        "协作单位满意度（1分）",
        "街道社区满意度（2分）",
    )
    assert rows[1][:4] == (S1, "龙城街道", 2, None)
    assert rows[1][12] == 1 and rows[2][:3] == (S2, "乌龙街道", None)
    assert "agency" in (sheet["C1"].comment.text or "")
    assert sheet.data_validations.dataValidation[0].formula2 == "4"
    sheet["D2"] = 2  # 经费 of 龙城街道
    sheet["C3"] = 3.5  # 机构 of 乌龙街道
    sheet["F3"] = 9  # 设备 (8 分) of 乌龙街道: out of range
    book.save(path)
    with october_engine.begin() as conn, pytest.raises(ValidationFailed) as caught:
        enter_inputs_table(conn, run_id, path, entered_by="王五")
    assert [p.where for p in caught.value.problems] == ["unit '530114002', item 'equipment'"]
    sheet["F3"] = 8
    book.save(path)
    with october_engine.begin() as conn:
        run = enter_inputs_table(conn, run_id, path, entered_by="王五")
    assert run.manual_values() == {
        S1: {"agency": 2, "budget": 2, "staffing.operators": 1},
        S2: {"agency": 3.5, "equipment": 8},
    }
    assert run.result.unit(S1).parts["organisation"] == 4
    assert run.result.unit(S2).parts["organisation"] == 11.5


def test_rules_as_text_and_unknown_presets(october_engine: Engine) -> None:
    data = yaml.safe_load(rule_source("district-detail").text)
    data["name"] = "my-rules"
    text = yaml.safe_dump(data, allow_unicode=True)
    source = rule_source(text, files_allowed=False)
    with october_engine.begin() as conn:
        run = create_run(conn, source, "2026-10", level="street", created_by="x")
    assert (run.rule_set.name, run.rules_text) == ("my-rules", text)
    with pytest.raises(NotFound, match="No preset 'district-details'"):
        rule_source("district-details", files_allowed=False)
    with pytest.raises(NotFound, match="No preset '/etc/passwd'"):
        rule_source("/etc/passwd", files_allowed=False)
    broken = text.replace("on_time_rate", "on_time_ratio")
    with october_engine.begin() as conn, pytest.raises(ValidationFailed, match="on_time_ratio"):
        create_run(conn, rule_source(broken, files_allowed=False), "2026-10", created_by="x")


def test_the_assess_command_stores_a_run(october_engine: Engine, tmp_path: Path) -> None:
    manual = tmp_path / "manual.csv"
    manual.write_text("单位,机构\n龙城街道,3\n", encoding="utf-8")
    ran = geogrid(
        october_engine,
        "assess",
        "--rules",
        "district-detail",
        "--month",
        "2026-10",
        "--level",
        "street",
        "--manual",
        str(manual),
        "--store",
    )
    assert ran.returncode == 0, ran.stderr
    assert "Stored as assessment run 1" in ran.stdout
    with october_engine.connect() as conn:
        run = get_run(conn, 1)
    assert (run.created_by, run.manual_values()) == ("cli", {S1: {"agency": 3}})
    assert run.result.unit(S1).total == 19  # 16 + 机构 3
