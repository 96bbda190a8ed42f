"""The shipped catalogue (GB/T 47678.5-2026, CATALOGUE.md) and its lookups."""

from __future__ import annotations

from collections import Counter

import pytest

from geogrid.catalogue import Deadline, load_catalogue
from geogrid.errors import NotFound

CATALOGUE = load_catalogue()


def test_counts_of_the_standard() -> None:
    # CATALOGUE.md: 153 component types; 250 event types = 153 "<部件>异常" + 97 in 06-10
    # (06: 52 less the absent 031; 07: 8 less 005; 08: 16; 09: 22 less 007; 10: 2).
    assert len(CATALOGUE.items("component")) == 153
    assert len(CATALOGUE.items("event")) == 250
    per_major = Counter(i.major for i in CATALOGUE.items("component"))
    assert per_major == {"01": 76, "02": 44, "03": 16, "04": 14, "05": 3}
    per_major = Counter(i.major for i in CATALOGUE.items("event"))
    assert per_major == {
        "01": 76, "02": 44, "03": 16, "04": 14, "05": 3,
        "06": 51, "07": 7, "08": 16, "09": 21, "10": 2,
    }  # fmt: skip


def test_gaps_of_the_standard_are_kept() -> None:
    for kind, code in [
        ("component", "01016"),
        ("component", "05001"),
        ("event", "06031"),
        ("event", "07005"),
        ("event", "09007"),
    ]:
        assert CATALOGUE.find(kind, code) is None  # type: ignore[arg-type]


def test_major_classes() -> None:
    assert CATALOGUE.majors("component") == {
        "01": "市政公用设施",
        "02": "交通设施",
        "03": "市容环卫设施",
        "04": "园林绿化设施",
        "05": "其他管理部件",
    }
    events = CATALOGUE.majors("event")
    assert list(events) == [f"{m:02d}" for m in range(1, 11)]
    assert events["01"] == "市政公用设施类"
    assert events["06"] == "市容环境类"
    assert events["10"] == "其他事项类"


def test_examples_of_domain_md() -> None:
    names = {
        ("component", "01004"): "雨水箅子",
        ("component", "01037"): "路灯",
        ("component", "03005"): "垃圾箱",
        ("component", "03006"): "户外广告",
        ("event", "06001"): "私搭乱建",
        ("event", "06010"): "暴露垃圾",
        ("event", "06036"): "乱堆杂物",
        ("event", "07001"): "非法小广告",
        ("event", "08004"): "工地扬尘",
        ("event", "09006"): "占道经营",
        ("event", "03005"): "垃圾箱异常",
        ("event", "01001"): "供水井盖异常",
        ("component", "05003"): "车辆加油（气、电）站",
    }
    for (kind, code), name in names.items():
        assert CATALOGUE.name(kind, code) == name  # type: ignore[arg-type]


def test_component_events_mirror_the_components() -> None:
    for component in CATALOGUE.items("component"):
        event = CATALOGUE.get("event", component.code)
        assert event.name == component.name + "异常"
        assert event.major_name == component.major_name + "类"
        assert event.geometry is None
        assert event.department == component.department
        assert event.deadline_normal == component.deadline_normal
        assert event.deadline_urgent == component.deadline_urgent


def test_published_deadlines() -> None:
    """DOMAIN.md §4: exposed garbage 1 working day, road not clean 5 working hours, …"""
    assert CATALOGUE.get("event", "06010").deadline_normal == Deadline(1, "working_days")
    assert CATALOGUE.get("event", "06012").deadline_normal == Deadline(5, "working_hours")
    assert CATALOGUE.get("event", "06001").deadline_normal == Deadline(15, "working_days")
    assert CATALOGUE.get("event", "07001").deadline_normal == Deadline(1, "working_days")
    assert CATALOGUE.get("event", "09006").deadline_normal == Deadline(2, "working_hours")
    assert CATALOGUE.get("component", "03005").deadline_normal == Deadline(2, "working_days")
    assert CATALOGUE.get("component", "03005").deadline_urgent == Deadline(4, "working_hours")


def test_every_item_is_configured() -> None:
    for kind in ("component", "event"):
        for item in CATALOGUE.items(kind):  # type: ignore[arg-type]
            assert item.department
            assert item.deadline_normal.amount > 0
            assert item.deadline_urgent.amount > 0
            assert item.code[:2] == item.major
            assert (item.geometry is None) == (kind == "event")


@pytest.mark.parametrize(
    ("code", "geometry"),
    [
        ("01001", "point"),
        ("01037", "point"),
        ("02001", "polygon"),
        ("04013", "polygon"),
        ("02017", "line"),
        ("01071", "line"),
        ("02024", "line"),
    ],
)
def test_geometry_types(code: str, geometry: str) -> None:
    assert CATALOGUE.get("component", code).geometry == geometry


def test_lookups() -> None:
    assert CATALOGUE.find("event", "99999") is None
    assert CATALOGUE.name("event", "99999") == "99999"
    with pytest.raises(NotFound, match="no event type with code '99999'"):
        CATALOGUE.get("event", "99999")
    codes = [i.code for i in CATALOGUE.items("event", "10")]
    assert codes == ["10001", "10002"]
    assert CATALOGUE.items("component", "10") == []
    assert [i.code for i in CATALOGUE.items("component")][:2] == ["01001", "01002"]


def test_items_returns_a_copy() -> None:
    CATALOGUE.items("event").clear()
    assert len(CATALOGUE.items("event")) == 250


def test_shipped_catalogue_is_built_once() -> None:
    assert load_catalogue() is load_catalogue()
