"""The sanitation demo: companies splitting the district, segments, vehicles and crews that
sweep the roads (a few segments skipped), rules that dispatch the sanitation cases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geogrid.catalogue import load_catalogue
from geogrid.db.engine import make_engine
from geogrid.demo import DemoDistrict, build_cases, build_district, load_demo, load_demo_cases
from geogrid.demo.sanitation import DemoSanitation, build_sanitation, load_demo_sanitation
from geogrid.patrol.fixes import STAGED
from geogrid.sanitation import sweep_days
from geogrid.sanitation.rules import SANITATION_SUB_CLASSES
from geogrid.worktime import WorkCalendar
from tests.conftest import TEMPLATE, clone_database, drop_database

FIRST = date(2026, 10, 30)
LAST = FIRST + timedelta(days=1)


@pytest.fixture(scope="module")
def district() -> DemoDistrict:
    return build_district("small")


@pytest.fixture(scope="module")
def demo(district: DemoDistrict) -> DemoSanitation:
    return build_sanitation(district, first=FIRST, last=LAST, seed=3)


@pytest.fixture(scope="module")
def loaded(
    pg_server: str, template_url: str, district: DemoDistrict, demo: DemoSanitation
) -> Iterator[Engine]:
    """The small district, 3,000 cases of the year and the sanitation demo (read only)."""
    url = clone_database(pg_server, make_url(template_url).database or TEMPLATE)
    engine = make_engine(url)
    load_demo(engine, district)
    catalogue = load_catalogue()
    cases = build_cases(district, count=3000, end=LAST, seed=3)
    load_demo_cases(
        engine, cases, district_code="530114", catalogue=catalogue, calendar=WorkCalendar.load()
    )
    load_demo_sanitation(engine, demo, district_code="530114", catalogue=catalogue)
    yield engine
    engine.dispose()
    drop_database(pg_server, url)


def test_three_companies_split_the_district_by_streets(
    district: DemoDistrict, demo: DemoSanitation
) -> None:
    assert [c.id for c in demo.companies] == ["C1", "C2", "C3"]
    assert all(c.name.endswith("有限公司") for c in demo.companies)
    assert [a.company for a in demo.areas] == ["C1", "C1", "C2", "C3"]
    union = shapely.union_all([a.geometry for a in demo.areas])
    outline = district.district.geometry.iloc[0]
    assert shapely.symmetric_difference(union, outline).area < 1e-9
    assert len(demo.rules) == len(demo.areas) * len(SANITATION_SUB_CLASSES)
    assert set(demo.rules["unit_kind"]) == {"company"}


def test_segments_skipped_and_fleet(demo: DemoSanitation) -> None:
    classes = Counter(s.road_class for s in demo.segments)
    assert classes["alley"] > classes["main"] > 0 and classes["secondary"] > 0
    assert len({s.id for s in demo.segments}) == len(demo.segments)
    assert 3 <= len(demo.skipped) <= 0.05 * len(demo.segments) + 3
    kinds = Counter((t.company, t.kind) for t in demo.trackers)
    assert kinds[("C1", "sweeper")] == 1 and kinds[("C2", "crew")] == 2
    assert len({t.device_id for t in demo.trackers}) == len(demo.trackers)


def test_fixes_every_5_s_for_vehicles_and_10_s_for_crews(demo: DemoSanitation) -> None:
    fixes = demo.fixes
    assert list(fixes.columns) == list(STAGED)
    step = fixes.groupby("supervisor_id")["fixed_at"].diff().dt.total_seconds()
    by = fixes.assign(step=step).groupby("supervisor_id")["step"].median()
    assert by["C1-SW01"] == 5 and by["C1-BJ01"] == 10
    assert fixes["accuracy_m"].between(3, 8).all() and not fixes["network"].any()
    local = fixes["fixed_at"].dt.tz_convert("Asia/Shanghai")
    assert sorted(set(local.dt.date)) == [FIRST, LAST]
    again = build_sanitation(build_district("small"), first=FIRST, last=FIRST, seed=3)
    first_day = fixes[local.dt.date == FIRST].reset_index(drop=True)
    assert np.array_equal(again.fixes["lon"].to_numpy(), first_day["lon"].to_numpy())


def test_loaded_cases_go_to_the_companies(loaded: Engine, demo: DemoSanitation) -> None:
    names = {c.name for c in demo.companies}
    with loaded.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT department, left(dispatch_rule, 3), count(*) FROM cases "
                "WHERE sub_class = ANY(:s) GROUP BY 1, 2"
            ),
            {"s": list(SANITATION_SUB_CLASSES)},
        ).all()
        counts = dict(
            conn.execute(
                sa.text("SELECT sub_class, count(*) FROM cases GROUP BY 1 ORDER BY 2 DESC")
            ).all()
        )
    assert {(d in names, rule) for d, rule, _ in rows} == {(True, "HW-")}
    assert next(iter(counts)) == "06010"  # exposed garbage is the most frequent event


def test_skipped_segments_are_missed_and_the_rest_mostly_swept(
    loaded: Engine, demo: DemoSanitation
) -> None:
    with loaded.connect() as conn:
        days = sweep_days(conn, FIRST, LAST)
    assert len(days) == 2 * len(demo.segments)
    skipped = days[days["segment_id"].isin(demo.skipped)]
    assert (skipped["status"] == "missed").all() and skipped["swept_share"].max() < 20
    rest = days[~days["segment_id"].isin(demo.skipped)]
    assert (rest["status"] == "done").mean() > 0.85
    assert rest["swept_share"].median() > 95
