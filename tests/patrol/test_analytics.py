"""Online rate, off-post time, coverage per unit and response time on hand-made tracks.

The territory (tests/territory.py) has 100 m square grids; positions are metres from a grid's
south-west corner. Every expected figure below is worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from geogrid.errors import ValidationFailed
from geogrid.patrol.coverage import _inside_share, patrol_days
from geogrid.patrol.fixes import parse_fixes, store_fixes
from geogrid.patrol.response import Task, first_within, response_times
from geogrid.patrol.summary import coverage_table
from geogrid.patrol.supervisors import (
    ShiftSpec,
    SupervisorSpec,
    register_supervisors,
    set_shifts,
)
from tests.cases_data import lonlat

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"
DAY = date(2026, 10, 9)
TZ = ZoneInfo("Asia/Shanghai")


def _store(engine: Engine, sup: str, points: list[tuple[datetime, str, float, float]]) -> None:
    rows = []
    for at, grid, dx, dy in points:
        lon, lat = lonlat(grid, dx, dy)
        rows.append({"supervisor_id": sup, "timestamp": at.isoformat(), "lon": lon, "lat": lat})
    with engine.begin() as conn:
        fixes = parse_fixes(pd.DataFrame(rows).astype(str), supervisors={sup}, devices={})
        store_fixes(conn, fixes, district_code="530114")


def _at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute, second), TZ)


@pytest.fixture
def posted(territory_engine: Engine) -> Engine:
    """S1 guards B1-1 with a 09:00–10:00 shift on DAY.

    Fixes each minute at B1-1's centre 09:00–09:10, then at (350, 50) from B1-1's corner
    09:11–09:21 (250 m east of B1-1, 150 m beyond its 100 m margin), back at the centre
    09:22–09:30, then silence until 09:40 (a 10-minute gap) and fixes each minute to 10:00.
    """
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [SupervisorSpec("S1", "张三", grids=(B11,), valid_from=date(2026, 1, 1))],
            shown="t",
        )
        set_shifts(conn, "S1", [ShiftSpec(DAY, time(9), time(10))])
    points = [(_at(9, m), B11, 50.0, 50.0) for m in range(0, 11)]
    points += [(_at(9, m), B11, 350.0, 50.0) for m in range(11, 22)]
    points += [(_at(9, m), B11, 50.0, 50.0) for m in range(22, 31)]
    points += [(_at(9, m), B11, 50.0, 50.0) for m in range(40, 60)]
    points += [(_at(10, 0), B11, 50.0, 50.0)]
    _store(territory_engine, "S1", points)
    return territory_engine


def test_online_time_and_off_post_time(posted: Engine) -> None:
    with posted.connect() as conn:
        [day] = patrol_days(conn, DAY, DAY)
    # shift 09:00–10:00 = 3600 s; the 09:30–09:40 gap (600 s > 5 min) is offline
    assert day.shift_s == 3600 and day.online_s == pytest.approx(3000)
    # 09:11–09:21 outside = 600 s; the two 300 m moves (60 s each) are outside for their
    # last/first 150 m of 300 m (B1-1's margin ends 100 m east of it): 2 × 30 s
    assert day.off_post_s == pytest.approx(660, abs=1)
    assert day.fixes == 52
    with posted.connect() as conn:
        table = coverage_table(conn, DAY, DAY, level="supervisor")
    [row] = table.rows
    assert row["online_rate"] == 83.33  # 3000 / 3600
    assert row["offline_minutes"] == 10.0 and row["off_post_minutes"] == 11.0
    assert row["shift_minutes"] == 60.0


def test_default_shift_applies_on_other_days(posted: Engine) -> None:
    with posted.connect() as conn:
        [day] = patrol_days(conn, DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert day.shift_s == 10 * 3600 and day.online_s == 0 and day.fixes == 0


def test_bad_shifts_are_refused(posted: Engine) -> None:
    with posted.begin() as conn, pytest.raises(ValidationFailed, match="does not end after"):
        set_shifts(conn, "S1", [ShiftSpec(DAY, time(10), time(9))])


@pytest.fixture
def walked(territory_engine: Engine) -> Engine:
    """S1 (A1-1, A1-2, B1-1) spends 40 s 15 m north of A1-1; nothing else (see test_coverage)."""
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [SupervisorSpec("S1", "张三", grids=(A11, A12, B11), valid_from=date(2026, 1, 1))],
            shown="t",
        )
    _store(
        territory_engine,
        "S1",
        [(_at(9, 0, 10 * i), A11, 20 + 15 * i, 115) for i in range(5)],
    )
    return territory_engine


def test_coverage_per_unit(walked: Engine) -> None:
    def rates(level: str) -> dict[str, tuple[int, int, float | None]]:
        with walked.connect() as conn:
            table = coverage_table(conn, DAY, DAY + timedelta(days=1), level=level)
        return {
            r["code"]: (r["assigned_grids"], r["patrolled_grids"], r["coverage_rate"])
            for r in table.rows
        }

    # one grid of three patrolled on the first day, none on the second: 1 / 6 grid-days
    assert rates("supervisor") == {"S1": (3, 1, 16.67)}
    assert rates("community") == {"530114001001": (2, 1, 25.0), "530114002001": (1, 0, 0.0)}
    assert rates("street") == {"530114001": (2, 1, 25.0), "530114002": (1, 0, 0.0)}
    assert rates("district") == {"530114": (3, 1, 16.67)}
    with walked.connect() as conn:
        table = coverage_table(conn, DAY, DAY, level="street")
    assert table.rows[0]["grids_never"] == [A12] and table.totals["coverage_rate"] == 33.33
    # the supervisor's time goes to the street holding most of their grids (2 of 3)
    assert [r["supervisors"] for r in table.rows] == [1, 0]


@pytest.fixture
def strolled(territory_engine: Engine) -> Engine:
    """S1 walks east at 1 m/s along B1-1's centre line from x = 0 (09:00:00), a fix each 10 s."""
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [SupervisorSpec("S1", "张三", grids=(B11,), valid_from=date(2026, 1, 1))],
            shown="t",
        )
    _store(
        territory_engine,
        "S1",
        [(_at(9, 0) + timedelta(seconds=10 * i), B11, 10.0 * i, 50.0) for i in range(21)],
    )
    return territory_engine


def test_response_time_to_the_second(strolled: Engine) -> None:
    near = lonlat(B11, 155.0, 50.0)  # reached at x = 105 m: 09:01:45
    far = lonlat(B11, 50.0, 400.0)  # 350 m off the track: never reached
    tasks = [
        Task("C1", "S1", *near, _at(9, 0, 5)),
        Task("C2", "S1", *far, _at(9, 0, 5)),
        Task("C3", "S1", *lonlat(B11, 30.0, 50.0), _at(9, 0, 5)),  # already within 50 m
    ]
    with strolled.connect() as conn:
        table = response_times(conn, tasks)
    by_id = {r["case_id"]: r for r in table.tasks}
    assert by_id["C1"]["response_s"] == 100  # 09:00:05 → 09:01:45
    assert by_id["C1"]["reached_at"] == "2026-10-09T09:01:45+08:00"
    assert by_id["C2"]["reached"] is False and by_id["C2"]["response_s"] is None
    assert by_id["C3"]["response_s"] == 0
    assert table.totals["within_target"] == 2 and table.totals["within_target_rate"] == 66.67


def test_first_within_interpolates_between_fixes() -> None:
    t = np.array([0.0, 10.0, 20.0])
    x = np.array([0.0, 100.0, 200.0])
    y = np.zeros(3)
    # circle of 50 m around x = 130: entered at x = 80, t = 8
    assert first_within(t, x, y, 0.0, 130.0, 0.0, 50.0, 120) == pytest.approx(8.0)
    # fixes further apart than max_gap are not joined: the first fix inside counts
    assert first_within(t, x, y, 0.0, 130.0, 0.0, 50.0, 5) == pytest.approx(10.0)
    # dispatched at t = 12, already inside at x = 120
    assert first_within(t, x, y, 12.0, 130.0, 0.0, 50.0, 120) == pytest.approx(12.0)
    assert first_within(t, x, y, 0.0, 130.0, 90.0, 50.0, 120) is None


SQUARE = shapely.box(0, 0, 100, 100)
shapely.prepare(SQUARE)
# centimetres, as positions in metres are: no sub-atomic segments
coordinate = st.integers(min_value=-20_000, max_value=30_000).map(lambda cm: cm / 100)


@settings(max_examples=200, deadline=None)
@given(coordinate, coordinate, coordinate, coordinate)
def test_inside_share_is_the_clipped_length(ax: float, ay: float, bx: float, by: float) -> None:
    share = _inside_share(
        np.array([SQUARE]), np.array([ax]), np.array([ay]), np.array([bx]), np.array([by])
    )[0]
    line = shapely.LineString([(ax, ay), (bx, by)])
    if line.length == 0:
        assert share == float(shapely.contains_xy(SQUARE, ax, ay))
    else:
        # a square is convex: the share is the clipped length over the length (a crossing
        # found by bisection: to 1/64 of the length)
        expected = shapely.intersection(line, SQUARE).length / line.length
        assert share == pytest.approx(expected, abs=1 / 64)
    assert 0.0 <= share <= 1.0


def test_road_coverage_is_the_share_of_road_length_near_the_track(strolled: Engine) -> None:
    from tests.cases_data import add_road

    # B1-1 spans x 0–100, y 0–100: one road on the walk (y = 50), one 40 m north of it
    add_road(strolled, "alley", [(0, 50), (200, 50)])
    add_road(strolled, "alley", [(0, 90), (100, 90)])
    with strolled.connect() as conn:
        [day] = patrol_days(conn, DAY, DAY, roads=True)
        table = coverage_table(conn, DAY, DAY, roads=True)
        plain = coverage_table(conn, DAY, DAY)
    total, covered = day.roads[B11]
    assert total == pytest.approx(200, abs=0.5) and covered == pytest.approx(100, abs=2.5)
    assert table.rows[0]["road_coverage_rate"] == pytest.approx(50, abs=1.5)
    assert plain.rows[0]["road_coverage_rate"] is None
