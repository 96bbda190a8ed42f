"""Synthetic supervisors and GPS tracks: assignments, walks, GPS faults, behaviours, loading."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from pandas.testing import assert_frame_equal
from sqlalchemy.engine import Engine, make_url

from geogrid.db.engine import make_engine
from geogrid.demo import DemoDistrict, DemoPatrol, build_district, build_patrol, load_demo
from geogrid.demo.district import PROJECTED_CRS
from geogrid.demo.load import load_demo_patrol
from geogrid.errors import InvalidParameter
from geogrid.patrol.coverage import grid_dwell
from geogrid.patrol.fixes import STAGED
from tests.conftest import TEMPLATE, clone_database, drop_database

FIRST = date(2026, 10, 30)
LAST = FIRST + timedelta(days=1)
SEED = 4
SUPERVISORS = 6


@pytest.fixture(scope="module")
def district() -> DemoDistrict:
    return build_district("small")


@pytest.fixture(scope="module")
def patrol(district: DemoDistrict) -> DemoPatrol:
    return build_patrol(district, supervisors=SUPERVISORS, first=FIRST, last=LAST, seed=SEED)


@pytest.fixture(scope="module")
def loaded(
    pg_server: str, template_url: str, district: DemoDistrict, patrol: DemoPatrol
) -> Iterator[Engine]:
    """A database holding the small district and the patrol (read-only for the tests)."""
    url = clone_database(pg_server, make_url(template_url).database or TEMPLATE)
    engine = make_engine(url)
    load_demo(engine, district)
    load_demo_patrol(engine, patrol, district_code="530114")
    yield engine
    engine.dispose()
    drop_database(pg_server, url)


def metres(fixes: pd.DataFrame) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(fixes["lon"], fixes["lat"]), crs="EPSG:4326")
    return shapely.get_coordinates(points.to_crs(PROJECTED_CRS).values)


def area_of(district: DemoDistrict, grids: tuple[str, ...]) -> shapely.Geometry:
    ours = district.grids[district.grids["code"].isin(grids)].to_crs(PROJECTED_CRS)
    return shapely.union_all(ours.geometry.values)


def local_day(fixes: pd.DataFrame) -> pd.Series:
    return fixes["fixed_at"].dt.tz_convert("Asia/Shanghai").dt.date


def test_supervisors_look_like_a_roster(patrol: DemoPatrol) -> None:
    specs = patrol.supervisors
    assert [s.id for s in specs] == ["S001", "S002", "S003", "S004", "S005", "S006"]
    assert len({s.name for s in specs}) == SUPERVISORS
    assert all(2 <= len(s.name) <= 3 and "\u4e00" <= s.name[0] <= "\u9fff" for s in specs)
    assert [s.level for s in specs] == ["district"] * 4 + ["city", "district"]
    assert [s.device_id for s in specs] == [f"DEV-{s.id}" for s in specs]
    assert all(s.phone and len(s.phone) == 11 and s.phone[0] == "1" for s in specs)
    assert all(s.shift_start.hour == 8 and s.shift_end.hour == 18 for s in specs)
    assert all(s.valid_from <= FIRST for s in specs)
    assert all(s.problems(s.id) == [] for s in specs)


def test_areas_share_out_every_grid_in_compact_blocks(
    district: DemoDistrict, patrol: DemoPatrol
) -> None:
    assigned = [g for s in patrol.supervisors for g in s.grids]
    assert len(assigned) == len(set(assigned)) == len(district.grids)
    assert set(assigned) == set(district.grids["code"])
    sizes = [len(s.grids) for s in patrol.supervisors]
    assert max(sizes) - min(sizes) <= 1
    for spec in patrol.supervisors:
        area = area_of(district, spec.grids)
        assert area.geom_type == "Polygon", spec.id  # contiguous
        assert area.area > 0.7 * area.convex_hull.area, spec.id  # compact


def test_fixes_have_the_staging_columns_in_order(patrol: DemoPatrol) -> None:
    fixes = patrol.fixes
    assert tuple(fixes.columns) == STAGED
    assert str(fixes["fixed_at"].dtype) == "datetime64[ns, UTC]"
    assert fixes.equals(fixes.sort_values(["supervisor_id", "fixed_at"]))
    assert not fixes.duplicated(["supervisor_id", "fixed_at"]).any()
    assert set(fixes["supervisor_id"]) == {s.id for s in patrol.supervisors}
    assert set(local_day(fixes)) == {FIRST, LAST}
    hours = fixes["fixed_at"].dt.tz_convert("Asia/Shanghai").dt.hour
    assert hours.min() == 7 or hours.min() == 8
    assert hours.max() in (17, 18)
    assert set(fixes["source"]) == {"gps", "network"}
    assert fixes["recorded_crs"].isna().all()
    # the default interval gives ~1,700 fixes per supervisor-day
    per_day = len(fixes) / SUPERVISORS / 2
    assert 1500 <= per_day <= 1900


def test_fixes_lie_in_the_district(district: DemoDistrict, patrol: DemoPatrol) -> None:
    outline = district.district.to_crs(PROJECTED_CRS).geometry.iloc[0]
    away = shapely.distance(outline, shapely.points(metres(patrol.fixes)))
    assert (away < 300).mean() > 0.995
    assert away.max() < 3500  # a spike, at most 3 km off


def test_normal_supervisors_walk(patrol: DemoPatrol) -> None:
    fixes = patrol.fixes
    normal = [s for s, b in patrol.behaviour.items() if b == "normal"]
    for sid in normal:
        ours = fixes[(fixes["supervisor_id"] == sid) & ~fixes["network"]]
        xy, t = metres(ours), ours["fixed_at"].astype("int64").to_numpy() / 1e9
        speeds = np.hypot(*np.diff(xy, axis=0).T) / np.diff(t)
        assert np.median(speeds) < 3.0, sid
        assert 0.8 <= ours["speed_mps"].median() <= 1.7, sid
        walking = ours["speed_mps"] > 0.5
        assert ours["heading"][walking].between(0, 360).all()
        assert ours["heading"][walking].std() > 60  # they turn


def test_intervals_and_phone_off_gaps(patrol: DemoPatrol) -> None:
    fixes = patrol.fixes
    for (sid, day), ours in fixes.groupby([fixes["supervisor_id"], local_day(fixes)]):
        steps = ours["fixed_at"].diff().dt.total_seconds().to_numpy()[1:]
        gaps = steps[steps >= 600]
        assert 1 <= len(gaps) <= 2, (sid, day)
        assert gaps.max() <= 2 * 40 * 60 + 30
        regular = steps[steps < 600]
        assert regular.min() >= 10 and regular.max() <= 30, (sid, day)


def test_gps_accuracy_and_network_fixes(patrol: DemoPatrol) -> None:
    fixes = patrol.fixes
    network = fixes[fixes["network"]]
    gps = fixes[~fixes["network"]]
    assert 0.005 <= len(network) / len(fixes) <= 0.015
    assert (network["source"] == "network").all() and (gps["source"] == "gps").all()
    assert network["accuracy_m"].between(150, 300).all()
    assert gps["accuracy_m"].between(5, 15).all()


def test_behaviours_are_fixed_for_the_seed(patrol: DemoPatrol) -> None:
    kinds = list(patrol.behaviour.values())
    assert set(patrol.behaviour) == {s.id for s in patrol.supervisors}
    assert kinds.count("skipper") == 1 and kinds.count("leaver") == 1
    assert set(patrol.skipped) == {s for s, b in patrol.behaviour.items() if b == "skipper"}
    grids = {s.id: set(s.grids) for s in patrol.supervisors}
    for sid, skipped in patrol.skipped.items():
        assert set(skipped) < grids[sid]
        assert len(skipped) >= 0.2 * len(grids[sid])


def test_normal_supervisors_stay_near_their_area_and_leavers_leave(
    district: DemoDistrict, patrol: DemoPatrol
) -> None:
    fixes = patrol.fixes
    usable = fixes[~fixes["network"]]
    for spec in patrol.supervisors:
        area = area_of(district, spec.grids)
        ours = usable[usable["supervisor_id"] == spec.id]
        away = shapely.distance(area, shapely.points(metres(ours)))
        if patrol.behaviour[spec.id] != "leaver":
            assert (away < 200).mean() > 0.99, spec.id
            continue
        for day in (FIRST, LAST):
            that_day = (local_day(ours) == day).to_numpy()
            out = ours["fixed_at"][that_day & (away > 400)]
            assert out.max() - out.min() >= pd.Timedelta(minutes=30), (spec.id, day)


def test_the_same_seed_gives_the_same_patrol(district: DemoDistrict, patrol: DemoPatrol) -> None:
    again = build_patrol(district, supervisors=SUPERVISORS, first=FIRST, last=LAST, seed=SEED)
    assert again.supervisors == patrol.supervisors
    assert again.behaviour == patrol.behaviour and again.skipped == patrol.skipped
    assert_frame_equal(again.fixes, patrol.fixes)
    other = build_patrol(district, supervisors=SUPERVISORS, first=FIRST, last=FIRST, seed=SEED + 1)
    assert [s.name for s in other.supervisors] != [s.name for s in patrol.supervisors]


def test_progress_and_bad_parameters(district: DemoDistrict) -> None:
    seen: list[tuple[str, float]] = []
    build_patrol(
        district,
        supervisors=2,
        first=FIRST,
        last=FIRST,
        progress=lambda stage, fraction: seen.append((stage, fraction)),
    )
    assert seen[0][1] == 0.0 and seen[-1] == ("generating tracks", 1.0)
    assert [f for _, f in seen] == sorted(f for _, f in seen)
    for bad in (
        {"supervisors": 0},
        {"supervisors": len(district.grids) + 1},
        {"last": FIRST - timedelta(days=1)},
        {"interval_s": (30.0, 10.0)},
    ):
        kwargs = {"supervisors": 2, "first": FIRST, "last": FIRST, **bad}
        with pytest.raises(InvalidParameter):
            build_patrol(district, **kwargs)  # type: ignore[arg-type]


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_load_stores_every_fix_and_reloading_replaces(loaded: Engine, patrol: DemoPatrol) -> None:
    assert _count(loaded, "SELECT count(*) FROM fixes") == len(patrol.fixes)
    assert _count(loaded, "SELECT count(*) FROM supervisors") == SUPERVISORS
    assigned = sum(len(s.grids) for s in patrol.supervisors)
    assert _count(loaded, "SELECT count(*) FROM supervisor_grids") == assigned
    network = _count(loaded, "SELECT count(*) FROM fixes WHERE 'network' = ANY(flags)")
    assert network == int(patrol.fixes["network"].sum())
    spikes = _count(loaded, "SELECT count(*) FROM fixes WHERE 'speed' = ANY(flags)")
    assert 1 <= spikes <= 4 * SUPERVISORS * 2
    counts = load_demo_patrol(loaded, patrol, district_code="530114")
    assert counts == {"supervisors": SUPERVISORS, "fixes": len(patrol.fixes)}
    assert _count(loaded, "SELECT count(*) FROM fixes") == len(patrol.fixes)
    assert _count(loaded, "SELECT count(*) FROM supervisor_grids") == assigned


def test_coverage_shows_normal_patrols_and_skipped_grids(
    loaded: Engine, patrol: DemoPatrol
) -> None:
    with loaded.connect() as conn:
        rows = pd.DataFrame(grid_dwell(conn, FIRST, LAST))
    assert len(rows) == 2 * sum(len(s.grids) for s in patrol.supervisors)
    skipped = {g for grids in patrol.skipped.values() for g in grids}
    rows["skipped"] = rows["grid_code"].isin(skipped)
    share = rows.groupby(["supervisor_id", "day", "skipped"])["patrolled"].mean()
    for (sid, day, is_skipped), patrolled in share.items():
        if is_skipped:
            assert patrolled <= 0.2, (sid, day)
        else:
            assert patrolled >= 0.9, (sid, day)
