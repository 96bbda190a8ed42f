"""Loading rule files: the presets validate; each malformed file names the item and the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from geogrid.assessment import load_rule_set, parse_rule_set, preset_names
from geogrid.assessment.rules import RuleSet
from geogrid.errors import NotFound, ValidationFailed

PRESETS = ["district-detail", "dongying-2018", "kunming-district-2021", "template-2022"]

SMALL: dict[str, Any] = {
    "name": "small",
    "version": 1,
    "title": "小规则",
    "units": "street",
    "period": "monthly",
    "total": 10,
    "rounding": {"mode": "truncate", "decimals": 2},
    "step_rounding": "started_step",
    "parts": [
        {
            "key": "effect",
            "name": "工作成效",
            "points": 10,
            "items": [
                {
                    "key": "on_time",
                    "name": "按期结案率",
                    "points": 7,
                    "input": "on_time_rate",
                    "shape": "threshold",
                    "params": {"direction": "at_least", "threshold": 80, "step": 5, "per_step": 1},
                },
                {
                    "key": "quality",
                    "name": "结案质量",
                    "points": 3,
                    "inputs": {"qualified": "manual", "sampled": "manual"},
                    "shape": "sample_share",
                },
            ],
        }
    ],
}


def broken(change: Any) -> list[str]:
    """The problem messages of SMALL changed by ``change(data)``."""
    data = copy.deepcopy(SMALL)
    change(data)
    with pytest.raises(ValidationFailed) as caught:
        parse_rule_set(yaml.safe_dump(data, allow_unicode=True), shown="small.yaml")
    assert "small.yaml" in caught.value.message
    return [p.message for p in caught.value.problems]


def item(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    items: list[dict[str, Any]] = data["parts"][0]["items"]
    return items[index]


def test_presets_are_listed_and_load() -> None:
    assert preset_names() == PRESETS
    for name in PRESETS:
        rule_set = load_rule_set(name)
        assert rule_set.name == name
        assert rule_set.rounding.mode in ("truncate", "half_up")


def test_preset_shapes_and_totals() -> None:
    kunming = load_rule_set("kunming-district-2021")
    assert len(list(kunming.items())) == 23
    assert (kunming.total, kunming.bonus, kunming.rounding.mode) == (100, 1, "truncate")
    template = load_rule_set("template-2022")
    assert [p.points for p in template.parts] == [8, 7, 50, 15, 10, 10]
    assert template.item("case_quantity").shape == "case_quantity"
    assert template.annual is not None and template.annual.monthly_parts == ["cases"]
    dongying = load_rule_set("dongying-2018")
    assert (dongying.units, dongying.period) == ("street", "annual")
    detail = load_rule_set("district-detail")
    assert [p.points for p in detail.parts] == [20, 45, 30, 5]
    assert detail.indicators() == {
        "registration_rate",
        "on_time_rate",
        "closure_rate",
        "rework_rate",
        "daily_reports_rate",
        "online_rate",
    }


def test_the_small_rule_set_is_valid_and_a_toml_file_too(tmp_path: Path) -> None:
    rule_set = parse_rule_set(yaml.safe_dump(SMALL))
    assert isinstance(rule_set, RuleSet) and rule_set.version == "1"
    assert [i.key for i in rule_set.order()] == ["on_time", "quality"]
    toml = tmp_path / "small.toml"
    toml.write_text(
        'name = "small"\nversion = "1"\ntitle = "小"\nunits = "district"\nperiod = "monthly"\n'
        'total = 1\nstep_rounding = "whole_step"\nrounding = {mode = "half_up"}\n'
        '[[parts]]\nkey = "p"\nname = "部分"\npoints = 1\n'
        '[[parts.items]]\nkey = "meeting"\nname = "会议"\npoints = 1\ninput = "manual"\n'
        'shape = "direct"\n',
        encoding="utf-8",
    )
    assert load_rule_set(toml).item("meeting").name == "会议"


def test_unknown_indicator_names_the_item() -> None:
    messages = broken(lambda d: item(d).update(input="on_time_ratio"))
    assert messages == [
        "Item 'on_time' (按期结案率), input 'value': input 'on_time_ratio' is not an indicator "
        "geogrid computes, 'manual', 'item:<key>' or 'part:<key>'."
    ]


def test_indicator_not_computable_for_the_units() -> None:
    def per_department(d: dict[str, Any]) -> None:
        d["units"] = "department"
        item(d).update(input="coverage_rate")

    (message,) = broken(per_department)
    assert "Item 'on_time'" in message and "cannot be computed per department" in message


def test_unknown_shape_and_parameters() -> None:
    (shape,) = broken(lambda d: item(d).update(shape="staircase"))
    assert shape.startswith(
        "Item 'on_time' (按期结案率): unknown shape 'staircase'; shapes: direct"
    )
    missing = broken(lambda d: item(d)["params"].pop("step"))
    assert missing == [
        "Item 'on_time' (按期结案率): missing parameter 'step' of shape 'threshold'."
    ]
    unknown = broken(lambda d: item(d)["params"].update(stepp=5))
    assert unknown == [
        "Item 'on_time' (按期结案率): unknown parameter 'stepp' of shape 'threshold'."
    ]
    (wrong,) = broken(lambda d: item(d)["params"].update(zero_beyond=90))
    assert "zero_beyond (90.0) must lie on the failing side of threshold (80.0)" in wrong


def test_inputs_must_fit_the_shape() -> None:
    (message,) = broken(lambda d: item(d, 1).update(inputs={"qualified": "manual"}))
    assert message == (
        "Item 'quality' (结案质量): shape 'sample_share' takes the input(s) qualified, sampled; "
        "the file gives qualified."
    )
    (both,) = broken(lambda d: item(d, 1).update(input="manual"))
    assert both == "Item 'quality' (结案质量): give either 'input' or 'inputs'."


def test_points_that_do_not_add_up() -> None:
    messages = broken(lambda d: item(d).update(points=6))
    assert messages == [
        "Part 'effect' (工作成效) has 10 points but its items add up to 9.",
    ]
    total = broken(lambda d: d.update(total=100))
    assert total == ["The parts add up to 10 points, but the rule set states a total of 100."]


def test_duplicate_keys_and_several_problems_at_once() -> None:
    def twice(d: dict[str, Any]) -> None:
        item(d, 1)["key"] = "on_time"
        item(d, 1)["shape"] = "nope"

    messages = broken(twice)
    assert "Item key 'on_time' is used twice." in messages
    assert any("unknown shape 'nope'" in m for m in messages)


def test_structure_errors_name_the_item() -> None:
    assert broken(lambda d: item(d, 1).pop("points")) == [
        "Item 'quality' (结案质量): 'points' is required."
    ]
    (negative,) = broken(lambda d: item(d).update(points=-1))
    assert negative.startswith("Item 'on_time' (按期结案率): 'points': Input should be greater")
    assert broken(lambda d: d.pop("rounding")) == ["The rule set: 'rounding' is required."]
    (extra,) = broken(lambda d: item(d).update(weight=2))
    assert extra == "Item 'on_time' (按期结案率): unknown field 'weight'."


def test_items_reading_each_other_in_a_circle() -> None:
    def circle(d: dict[str, Any]) -> None:
        item(d)["input"] = "item:quality"
        item(d)["shape"] = "ratio"
        item(d)["params"] = {"scale": 3, "unit": ""}
        item(d, 1).pop("inputs")
        item(d, 1).update(input="item:on_time", shape="ratio", params={"scale": 7, "unit": ""})

    (message,) = broken(circle)
    assert message == "Items read each other in a circle (among on_time, quality)."
    (self_ref,) = broken(lambda d: item(d).update(input="item:on_time"))
    assert "input 'item:on_time' names no other item" in self_ref


def test_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match=r"'bad\.yaml' is not valid YAML"):
        parse_rule_set("name: [unclosed", shown="bad.yaml")
    with pytest.raises(ValidationFailed, match="must hold a mapping"):
        parse_rule_set("- a list", shown="list.yaml")
    with pytest.raises(NotFound, match="presets: district-detail, dongying-2018"):
        load_rule_set("kunming-2099")
    with pytest.raises(NotFound):
        load_rule_set(tmp_path / "absent.yaml")
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump({**SMALL, "total": 11}), encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"Rule set 'rules\.yaml' is not valid: 1 problem"):
        load_rule_set(bad)


def test_by_grid_type_needs_a_per_grid_indicator() -> None:
    (message,) = broken(lambda d: item(d).update(by_grid_type={"rural": {"threshold": 70}}))
    assert message.startswith("Item 'on_time' (按期结案率): by_grid_type needs one input among")
