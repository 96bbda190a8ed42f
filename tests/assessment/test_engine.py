"""The pure scoring engine: ranks and ties, items reading items and parts, missing inputs,
manual inputs (as mappings and as tables), annual totals, the result as files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from geogrid.assessment import annual_totals, parse_rule_set, read_manual, score
from geogrid.assessment.manual import manual_fields
from geogrid.assessment.result import result_csv, result_xlsx
from geogrid.assessment.rules import RuleSet
from geogrid.errors import ValidationFailed


def rule_set(**changes: object) -> RuleSet:
    """Part 'work' (10): on_time threshold 6 + meeting 4 (manual); part 'extra' (bonus 2):
    reads the total of 'work' (2 × work / 10)."""
    data: dict = {
        "name": "tiny",
        "version": "1",
        "title": "小考核",
        "units": "street",
        "period": "monthly",
        "total": 10,
        "bonus": 2,
        "rounding": {"mode": "half_up", "decimals": 2},
        "step_rounding": "whole_step",
        "annual": {"method": "weighted_mean"},
        "parts": [
            {
                "key": "work",
                "name": "工作",
                "points": 10,
                "items": [
                    {
                        "key": "on_time",
                        "name": "按期结案率",
                        "points": 6,
                        "input": "on_time_rate",
                        "shape": "threshold",
                        "params": {
                            "direction": "at_least",
                            "threshold": 80,
                            "step": 5,
                            "per_step": 1,
                        },
                    },
                    {
                        "key": "meeting",
                        "name": "例会",
                        "points": 4,
                        "input": "manual",
                        "shape": "levels",
                        "params": {"points": [4, 2, 0]},
                    },
                ],
            },
            {
                "key": "extra",
                "name": "附加",
                "points": 2,
                "bonus": True,
                "items": [
                    {
                        "key": "share",
                        "name": "工作得分附加",
                        "points": 2,
                        "input": "part:work",
                        "shape": "ratio",
                        "params": {"scale": 10, "factor": 2, "unit": "分"},
                    }
                ],
            },
        ],
    } | changes
    return parse_rule_set(yaml.safe_dump(data, allow_unicode=True))


def test_ties_share_a_rank_and_parts_feed_items() -> None:
    result = score(
        rule_set(),
        {"a": {"on_time_rate": 90}, "b": {"on_time_rate": 70}, "c": {"on_time_rate": 80}},
        {"a": {"meeting": 2}, "b": {"meeting": 1}, "c": {"meeting": 2}},
        names={"a": "甲街道"},
    )
    # a: 6 + 2 = 8, share 2 × 8 / 10 = 1.6; b: 4 + 4 = 8, 1.6; c: 6 + 2 = 8, 1.6
    assert [(u.unit, u.parts, u.total, u.rank) for u in result.units] == [
        ("a", {"work": 8, "extra": 1.6}, 9.6, 1),
        ("b", {"work": 8, "extra": 1.6}, 9.6, 1),
        ("c", {"work": 8, "extra": 1.6}, 9.6, 1),
    ]
    assert result.unit("a").name == "甲街道" and result.unit("b").name == "b"
    assert result.unit("b").item("on_time").points == 4  # 70 %: 2 whole steps
    assert result.unit("a").item("share").inputs == {"value": 8.0}
    rates = {"a": {"on_time_rate": 90}, "b": {"on_time_rate": 50}}
    scores = score(rule_set(), rates, {"a": {"meeting": 1}, "b": {"meeting": 3}})
    assert [(u.unit, u.total, u.rank) for u in scores.units] == [("a", 12.0, 1), ("b", 0.0, 2)]


def test_missing_inputs_follow_when_missing() -> None:
    pending = score(rule_set(), {"a": {"on_time_rate": None}}, {})
    a = pending.unit("a")
    assert a.item("on_time").points is None and a.item("meeting").points is None
    assert a.item("share").points is None  # reads a part with pending items
    assert a.pending == ("on_time", "meeting", "share") and a.total == 0
    assert a.item("on_time").reasons == ("按期结案率：按期结案率无数据，待定",)
    data = rule_set().model_dump()
    data["parts"][0]["items"][0]["when_missing"] = "zero"
    data["parts"][0]["items"][1]["when_missing"] = "full"
    zero_full = score(parse_rule_set(yaml.safe_dump(data)), {"a": {}}, {})
    assert zero_full.unit("a").parts == {"work": 4, "extra": 0.8}
    assert zero_full.unit("a").item("on_time").reasons == (
        "按期结案率：按期结案率无数据，不得分：扣 6 分",
    )
    assert zero_full.unit("a").item("meeting").reasons == ("例会：未录入，按满分计",)


def test_manual_inputs_are_checked() -> None:
    with pytest.raises(ValidationFailed, match="'meetings' is not a manual input"):
        score(rule_set(), {"a": {"on_time_rate": 90}}, {"a": {"meetings": 1}})
    with pytest.raises(ValidationFailed, match="is not a number"):
        score(rule_set(), {"a": {"on_time_rate": 90}}, {"a": {"meeting": "一档"}})  # type: ignore[dict-item]
    with pytest.raises(ValidationFailed) as caught:
        score(rule_set(), {"a": {}, "b": {}}, {"a": {"meeting": 4}, "b": {"meeting": 0}})
    assert [p.where for p in caught.value.problems] == [
        "unit 'a', item 'meeting'",
        "unit 'b', item 'meeting'",
    ]
    assert caught.value.problems[0].message == "a，例会：例会的档次须为 1 至 3 的整数，收到 4。"
    assert [f.field for f in manual_fields(rule_set())] == ["meeting"]


def test_manual_inputs_from_a_table(tmp_path: Path) -> None:
    table = tmp_path / "manual.csv"
    table.write_text("单位编码,例会,on_time\na,1,\nb,3,\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="Column 'on_time' is not a manual input"):
        read_manual(table, rule_set())
    table.write_text("unit,meeting\na,1\nb,二\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="Row 3, meeting: '二' is not a number"):
        read_manual(table, rule_set())
    table.write_text("unit,meeting\na,1\nb,\n", encoding="utf-8")
    assert read_manual(table, rule_set()) == {"a": {"meeting": 1.0}, "b": {}}
    table.write_text("街道,meeting\na,1\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="no unit column"):
        read_manual(table, rule_set())


def test_annual_totals() -> None:
    months = [
        score(rule_set(), {"a": {"on_time_rate": r}}, {"a": {"meeting": 1}}, period=p)
        for r, p in ((90, "2026-01"), (70, "2026-02"))
    ]
    assert [m.unit("a").total for m in months] == [12.0, 9.6]  # 10 + 2; 8 + 1.6
    # mean 10.8 × 0.9 + 9 × 0.1
    assert annual_totals(rule_set(), months, evaluation={"a": 9}) == {"a": 10.62}
    with pytest.raises(Exception, match="No management evaluation"):
        annual_totals(rule_set(), months)
    by_parts = rule_set(annual={"method": "year_end_parts", "monthly_parts": ["work"]})
    year_end = score(by_parts, {"a": {"on_time_rate": 100}}, {"a": {"meeting": 3}})
    # work: mean of the months (10 and 8) = 9; extra: year-end 2 × 6 / 10 = 1.2
    assert annual_totals(by_parts, months, year_end=year_end) == {"a": 10.2}


def test_result_as_files_and_plain_values(tmp_path: Path) -> None:
    result = score(
        rule_set(),
        {"a": {"on_time_rate": 78.3}, "b": {"on_time_rate": None}},
        {"a": {"meeting": 2}},
        period="2026-10",
    )
    lines = list(result_csv(result))
    assert lines[0].startswith(
        "\ufeff排名,单位编码,单位名称,工作（10）,附加（2）,总分,按期结案率（6）"
    )
    assert lines[1].strip() == "1,a,a,8.0,1.6,9.6,6.0,2.0,1.6"  # 78.3 %: no whole step
    assert lines[2].strip() == "2,b,b,0.0,0.0,0.0,待定,待定,待定"
    path = tmp_path / "scores.xlsx"
    result_xlsx(result, path)
    book = load_workbook(path)
    assert book.sheetnames == ["考核得分 2026-10", "扣分说明"]
    reasons = list(book["扣分说明"].iter_rows(values_only=True))
    assert (
        reasons[1][:3] == ("a", "a", "例会")
        and reasons[1][-1] == "例会评为第 2 档：得 2 分，扣 2 分"
    )
    plain = json.loads(json.dumps(result.as_dict()))
    assert plain["units"][1]["pending"] == ["on_time", "meeting", "share"]
    assert plain["units"][0]["items"][1]["lost"] == 2.0
