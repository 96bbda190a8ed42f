"""A district's extension of the catalogue: overrides, local subclasses, one file per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from geogrid.catalogue import Deadline, load_catalogue
from geogrid.errors import ValidationFailed

HEADER = (
    "kind,code,name,major_name,geometry,department,"
    "normal_amount,normal_unit,urgent_amount,urgent_unit"
)


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "district.csv"
    path.write_text(text, encoding=encoding)
    return path


def _problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as info:
        load_catalogue(_write(tmp_path, text))
    return [(p.where, p.rule) for p in info.value.problems]


def test_override_keeps_what_it_does_not_give(tmp_path: Path) -> None:
    path = _write(tmp_path, "kind,code,department\nevent,06010,五华区城市管理局环卫科\n")
    catalogue = load_catalogue(path)
    item = catalogue.get("event", "06010")
    assert item.department == "五华区城市管理局环卫科"
    assert item.name == "暴露垃圾"
    assert item.deadline_normal == Deadline(1, "working_days")
    assert load_catalogue().get("event", "06010").department == "区城市管理局"


def test_override_of_a_deadline(tmp_path: Path) -> None:
    text = "kind,code,normal_amount,normal_unit\nevent,06012,3,working_hours\n"
    item = load_catalogue(_write(tmp_path, text)).get("event", "06012")
    assert item.deadline_normal == Deadline(3, "working_hours")
    assert item.deadline_urgent == Deadline(2, "working_hours")


def test_local_subclass_and_local_major(tmp_path: Path) -> None:
    text = (
        "# 区级自定义小类\n"
        f"{HEADER}\n"
        "event,06101,共享电单车乱停放,,,区交通运输局,2,working_hours,1,hours\n"
        "event,11001,违规燃放烟花爆竹,区级专项类,,区公安分局,2,hours,1,hours\n"
        "component,05101,智能垃圾分类箱,,point,区城市管理局,2,working_days,4,working_hours\n"
    )
    catalogue = load_catalogue(_write(tmp_path, text))
    item = catalogue.get("event", "06101")
    assert (item.major, item.major_name) == ("06", "市容环境类")
    assert catalogue.majors("event")["11"] == "区级专项类"
    assert catalogue.get("component", "05101").geometry == "point"
    assert len(catalogue.items("event")) == 252
    assert len(catalogue.items("component")) == 154
    assert catalogue.map_code("event", "11001") == "11001"
    assert catalogue.map_code("event", "x", "共享电单车乱停放") == "06101"


def test_gb18030_file_from_excel(tmp_path: Path) -> None:
    path = _write(tmp_path, "kind,code,department\nevent,09006,区市场监督管理局\n", "gb18030")
    assert load_catalogue(path).get("event", "09006").department == "区市场监督管理局"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="cannot be read"):
        load_catalogue(tmp_path / "absent.csv")


def test_header_without_code(tmp_path: Path) -> None:
    assert _problems(tmp_path, "kind,name\nevent,x\n") == [("header", "columns")]


def test_header_with_an_unknown_column(tmp_path: Path) -> None:
    assert _problems(tmp_path, "kind,code,部门\nevent,06010,x\n") == [("header", "columns")]


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("thing,06010,,,,,,,,", "kind"),
        ("event,6010,,,,,,,,", "code"),
        ("event,060100,,,,,,,,", "code"),
        ("event,06101,,,,x,1,working_days,1,hours", "required"),  # a new one needs a name
        ("component,05101,新部件,,,x,1,working_days,1,hours", "required"),  # and a geometry
        ("event,06101,新事项,,,x,,,1,hours", "required"),  # and its deadlines
        ("component,05101,新部件,,circle,x,1,working_days,1,hours", "geometry"),
        ("event,06010,,,point,,,,,", "geometry"),
        ("event,06010,,,,,1,weeks,,", "deadline_unit"),
        ("event,06010,,,,,0,hours,,", "deadline_amount"),
        ("event,06010,,,,,-2,hours,,", "deadline_amount"),
        ("event,06010,,,,,soon,hours,,", "deadline_amount"),
        ("event,06010,,,,,1.5,working_days,,", "deadline_amount"),
        ("event,06010,,,,,,,2,", "deadline_pair"),
        ("event,06010,,街面秩序类,,,,,,", "major_name"),
        ("event,11001,新事项,,,x,1,hours,1,hours", "major_name"),
    ],
)
def test_one_rule_per_row(tmp_path: Path, row: str, rule: str) -> None:
    assert _problems(tmp_path, f"{HEADER}\n{row}\n") == [("row 2", rule)]


def test_duplicate_rows(tmp_path: Path) -> None:
    text = "kind,code,department\nevent,06010,a\nevent,06010,b\n"
    assert _problems(tmp_path, text) == [("row 3", "duplicate")]


def test_the_same_code_as_component_and_event_is_not_a_duplicate(tmp_path: Path) -> None:
    text = "kind,code,department\nevent,03005,a\ncomponent,03005,b\n"
    catalogue = load_catalogue(_write(tmp_path, text))
    assert catalogue.get("event", "03005").department == "a"
    assert catalogue.get("component", "03005").department == "b"


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    text = "# a comment line\nkind,code,department\nevent,06010,ok\n\nevent,abc,x\nplace,06011,x\n"
    assert _problems(tmp_path, text) == [("row 5", "code"), ("row 6", "kind")]
