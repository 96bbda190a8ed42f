"""Dispatch on hand-made rules over a real PostGIS: specificity, validity, areas, fallback."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from geogrid.catalogue import load_catalogue
from geogrid.dispatch import Dispatch, dispatch, dispatch_many
from tests.dispatch.rules_data import (
    A11,
    A12,
    A21,
    ALL_GRIDS,
    ll,
    load_rules,
    polygon,
    road,
    write_geojson,
    write_rules_csv,
)

CATALOGUE = load_catalogue()
SHANGHAI = "Asia/Shanghai"


def base_rules(tmp_path: Path) -> list[dict[str, object]]:
    """R1 everything everywhere; R3 暴露垃圾 in grid A1-1 (grid rules of a table)."""
    return [
        {"code": "R1", "sub_class": "*", "unit": "区城管局", "grids": " ".join(ALL_GRIDS)},
        {"code": "R3", "sub_class": "06010", "unit": "城南环卫公司", "grids": A11},
    ]


@pytest.fixture
def rules(territory_engine: Engine, tmp_path: Path) -> Engine:
    """R1 (*, all grids), R3 (06010, grid A1-1), R2 (class 06, polygon over A1-1 and A1-2),
    R4 (06010, a road along y = 150 m from x = 0 to 400, ± 10 m)."""
    load_rules(territory_engine, write_rules_csv(tmp_path / "grids.csv", base_rules(tmp_path)))
    features = [
        polygon(
            0,
            100,
            200,
            200,
            code="R2",
            major_class="06",
            unit="龙城街道办事处",
            area_name="龙城责任区",
        ),
        road(
            [(0, 150), (400, 150)],
            code="R4",
            sub_class="06010",
            unit="城北环卫公司",
            area_name="彩云路",
            buffer_m=10,
        ),
    ]
    load_rules(territory_engine, write_geojson(tmp_path / "areas.geojson", features), partial=True)
    return territory_engine


def at(engine: Engine, x: float, y: float, sub: str = "06010", **kw: object) -> Dispatch:
    with engine.connect() as conn:
        return dispatch(conn, *ll(x, y), sub, catalogue=CATALOGUE, **kw)  # type: ignore[arg-type]


def test_subclass_beats_class_beats_all(rules: Engine) -> None:
    assert at(rules, 50, 120).rule_id == "R3"  # 06010 grid rule, off the road
    assert at(rules, 150, 120).rule_id == "R2"  # A1-2: no 06010 rule there; class 06 polygon
    assert at(rules, 250, 120).rule_id == "R1"  # A2-1: only the default
    assert at(rules, 50, 120, sub="09006").rule_id == "R1"  # another class
    assert at(rules, 50, 120, sub="03005").rule_id == "R1"  # a component case


def test_road_segment_beats_grids_inside_its_buffer_only(rules: Engine) -> None:
    inside = at(rules, 50, 155)
    assert (inside.rule_id, inside.unit, inside.unit_kind) == ("R4", "城北环卫公司", "company")
    assert at(rules, 50, 165).rule_id == "R3"  # 15 m from the road: outside its 10 m buffer
    assert at(rules, 250, 145).rule_id == "R4"  # the road runs on through A2-1


def test_reason_names_rule_scope_area_and_unit(rules: Engine) -> None:
    d = at(rules, 50, 155)
    assert d.reason == "按规则 R4（06010 暴露垃圾 · 彩云路）派遣至 城北环卫公司"
    assert d.reason_en == "Dispatched to 城北环卫公司 by rule R4 (06010 暴露垃圾 · 彩云路)."
    assert at(rules, 50, 120).reason == (
        f"按规则 R3（06010 暴露垃圾 · 网格 {A11}）派遣至 城南环卫公司"
    )
    assert "全部小类" in at(rules, 250, 120).reason


def test_without_any_rule_the_catalogue_department_is_used(territory_engine: Engine) -> None:
    d = at(territory_engine, 50, 120)
    default = CATALOGUE.get("event", "06010").department
    assert (d.unit, d.unit_kind, d.rule_id) == (default, "department", None)
    assert d.reason == f"无匹配的责任规则，按目录默认处置部门派遣至 {default}（06010 暴露垃圾）"
    assert "catalogue's default department" in d.reason_en


def test_validity_dates(territory_engine: Engine, tmp_path: Path) -> None:
    now = datetime.now(ZoneInfo(SHANGHAI))
    today = now.date()
    rows = [
        {
            "code": "OLD",
            "sub_class": "06010",
            "unit": "旧公司",
            "grids": A21,
            "valid_to": (today - timedelta(days=1)).isoformat(),
        },
        {
            "code": "NEXT",
            "sub_class": "06010",
            "unit": "新公司",
            "grids": A21,
            "valid_from": (today + timedelta(days=1)).isoformat(),
        },
        {"code": "NOW", "sub_class": "06", "unit": "街道", "grids": A21},
    ]
    load_rules(territory_engine, write_rules_csv(tmp_path / "r.csv", rows))
    assert at(territory_engine, 250, 150).rule_id == "NOW"  # yesterday's rule has ended
    two_days_ago = now - timedelta(days=2)
    assert at(territory_engine, 250, 150, at=two_days_ago).rule_id == "OLD"
    last_minute = datetime.combine(today - timedelta(days=1), time(23, 59), ZoneInfo(SHANGHAI))
    assert at(territory_engine, 250, 150, at=last_minute).rule_id == "OLD"  # valid_to inclusive
    assert at(territory_engine, 250, 150, at=now + timedelta(days=2)).rule_id == "NEXT"


def test_explicit_priority_orders_equal_rules(territory_engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"code": "P2", "sub_class": "06010", "unit": "乙公司", "grids": A12, "priority": 2},
        {
            "code": "P1",
            "sub_class": "06010",
            "unit": "甲公司",
            "grids": f"{A11},{A12}",
            "priority": 1,
        },
        {"code": "PN", "sub_class": "06010", "unit": "丙公司", "grids": A21},
        {"code": "PX", "sub_class": "06010", "unit": "丁公司", "grids": A21, "priority": 3},
    ]
    load_rules(territory_engine, write_rules_csv(tmp_path / "r.csv", rows))
    assert at(territory_engine, 150, 150).rule_id == "P1"
    assert at(territory_engine, 250, 150).rule_id == "PX"  # a priority beats none


def test_nearest_road_segment_wins_at_a_junction(territory_engine: Engine, tmp_path: Path) -> None:
    features = [
        road([(0, 150), (200, 150)], code="W", sub_class="06012", unit="西段公司", buffer_m=20),
        road([(200, 150), (400, 150)], code="E", sub_class="06012", unit="东段公司", buffer_m=20),
    ]
    plan = load_rules(territory_engine, write_geojson(tmp_path / "roads.geojson", features))
    assert plan.summary["conflict_count"] == 0
    assert at(territory_engine, 195, 150, sub="06012").rule_id == "W"
    assert at(territory_engine, 205, 150, sub="06012").rule_id == "E"


def test_dispatch_many_matches_dispatch(rules: Engine) -> None:
    points = [
        (50, 155, "06010"),
        (50, 120, "06010"),
        (150, 120, "06012"),
        (250, 120, "09006"),
        (50, 120, "03005"),
    ]
    frame = pd.DataFrame(
        [(*ll(x, y), sub) for x, y, sub in points], columns=["lon", "lat", "sub_class"]
    )
    with rules.begin() as conn:
        many = dispatch_many(conn, frame, catalogue=CATALOGUE)
    assert list(many["rule_id"]) == ["R4", "R3", "R2", "R1", "R1"]
    assert [at(rules, x, y, sub).unit for x, y, sub in points] == list(many["unit"])


def test_dispatch_many_falls_back_to_the_catalogue(territory_engine: Engine) -> None:
    frame = pd.DataFrame({"lon": [ll(50, 50)[0]], "lat": [ll(50, 50)[1]], "sub_class": ["06010"]})
    with territory_engine.begin() as conn:
        many = dispatch_many(conn, frame, catalogue=CATALOGUE)
    assert many.iloc[0].to_dict() == {
        "unit": CATALOGUE.get("event", "06010").department,
        "unit_kind": "department",
        "rule_id": None,
    }
