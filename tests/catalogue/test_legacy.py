"""Mapping recorded codes to current ones (DOMAIN.md §2, CATALOGUE.md "Legacy codes")."""

from __future__ import annotations

import pytest

from geogrid.catalogue import Kind, load_catalogue
from geogrid.catalogue.legacy import normalise_name

CATALOGUE = load_catalogue()


@pytest.mark.parametrize(
    ("kind", "recorded", "expected"),
    [
        # Current codes map to themselves (surrounding blanks ignored).
        ("event", "06010", "06010"),
        ("component", "01037", "01037"),
        ("event", " 09006 ", "09006"),
        # GB/T 30428.2-2013 events: majors 01..04 → 06..09, minors kept.
        ("event", "01-10", "06010"),
        ("event", "0110", "06010"),
        ("event", "01-11", "06011"),
        ("event", "01-36", "06036"),
        ("event", "02-03", "07003"),
        ("event", "03-11", "08011"),
        ("event", "04-06", "09006"),
        ("event", "04-09", "09009"),
        ("event", "04-10", "09010"),
        ("event", "01-31", None),  # 06031 is absent from the current list
        ("event", "05-01", None),
        # CJ/T 214-2007 components, by name.
        ("component", "0101", "01001"),  # 上水井盖 → 供水井盖
        ("component", "0104", "01004"),
        ("component", "0118", "01037"),
        ("component", "0305", "03005"),
        ("component", "0307", "03006"),  # 广告牌匾 → 户外广告
        ("component", "01-18", "01037"),
        ("component", "0114", "01023"),  # 无主井盖 → 不明井盖
        ("component", "0129", "01021"),  # 输油(气)井盖, ASCII parentheses
        ("component", "0407", "04007"),  # 街头坐椅 → 街头座椅
        ("component", "0606", "01071"),  # 防洪墙 → 防汛墙
        ("component", "0117", None),  # 立杆: owner unknown, no current type
        ("component", "0502", None),  # 人防工事
        ("component", "0199", None),
        # A leading zero lost in a spreadsheet.
        ("event", "6010", "06010"),
        ("component", "1037", "01037"),
        # Unknown.
        ("event", "abc", None),
        ("component", "", None),
        ("event", "1234567", None),
    ],
)
def test_map_code(kind: str, recorded: str, expected: str | None) -> None:
    assert CATALOGUE.map_code(kind, recorded) == expected  # type: ignore[arg-type]


def test_2013_component_codes_are_not_event_codes() -> None:
    # 0110 is the 2013 event 01-10 暴露垃圾, but the CJ/T 214 component 热力井盖.
    assert CATALOGUE.map_code("event", "0110") == "06010"
    assert CATALOGUE.map_code("component", "0110") == "01010"


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("event", "乱堆物堆料", "06036"),  # the old name of 乱堆杂物
        ("event", "暴露垃圾", "06010"),
        ("event", "垃圾箱", "03005"),  # a component name as an event: 垃圾箱异常
        ("event", "上水井盖", "01001"),  # through the component synonyms
        ("component", "雨水篦子", "01004"),
        ("component", " 输油(气)井盖 ", "01021"),
        ("component", "暴露垃圾", None),
        ("event", "没有的事项", None),
    ],
)
def test_name_fallback(kind: Kind, name: str, expected: str | None) -> None:
    assert CATALOGUE.map_code(kind, "99-99", name) == expected


def test_the_code_wins_over_the_name() -> None:
    assert CATALOGUE.map_code("event", "06010", "乱堆物堆料") == "06010"


def test_normalise_name() -> None:
    assert normalise_name(" 变压器(箱) ") == "变压器（箱）"
    assert normalise_name("紧急报警点 SOS") == "紧急报警点SOS"
