"""Sweeping coverage of road segments measured on hand-made tracks (pure, metres).

One 100 m segment runs west to east along y = 0; a sweeper's fixes come every 5 s. At
8.64 km/h (12 m per fix) from x = 0 to x = 60, 3 m beside the road, it sweeps 60 % of the
segment: the road points at 2.5, 7.5 … 57.5 m lie beside its track lines, those beyond
60 m do not, however close to its last fix.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from geogrid.sanitation.rules import SweepRule
from geogrid.sanitation.sweeping import (
    sample_roads,
    segment_sweeps,
    sweep_passes,
    sweeping_lines,
)

ROAD = np.array([LineString([(0, 0), (100, 0)])], dtype=object)
RULE = SweepRule()


def track(x: list[float] | np.ndarray, y: float = 3.0, *, every_s: float = 5.0, t0: float = 0):
    x = np.asarray(x, dtype=float)
    return (
        np.zeros(len(x), dtype=np.intp),
        t0 + np.arange(len(x)) * every_s,
        x,
        np.full(len(x), y),
    )


def measure(
    fixes: tuple[np.ndarray, ...],
    *,
    roads: np.ndarray = ROAD,
    required: int = 1,
    rule: SweepRule = RULE,
    sweeps: bool = True,
) -> dict[str, np.ndarray]:
    owner, t, x, y = fixes
    samples = sample_roads(roads, rule.step_m)
    lines = sweeping_lines(owner, t, x, y, np.array([sweeps] * (owner.max() + 1)), rule)
    passes = sweep_passes(
        samples,
        np.zeros(len(samples.x), np.intp),
        lines,
        np.zeros(len(lines.owner), np.intp),
        rule,
    )
    return segment_sweeps(
        samples, passes, len(roads), np.full(len(roads), required), rule.min_share
    )


def test_samples_stand_for_the_whole_length() -> None:
    wobbly = np.array([LineString([(0, 0), (30, 4), (61, -3), (97.3, 0)])], dtype=object)
    s = sample_roads(wobbly, 5.0)
    assert s.weight.sum() == pytest.approx(wobbly[0].length)
    assert np.hypot(s.ux, s.uy) == pytest.approx(np.ones(len(s.ux)))
    points = shapely.points(s.x, s.y)
    assert shapely.distance(points, wobbly[0]).max() < 1e-9  # every point on the road


def test_a_track_along_60_percent_of_a_segment_sweeps_60_percent() -> None:
    got = measure(track(np.arange(0, 61, 12)))  # 0, 12, … 60 m at 8.64 km/h
    assert got["share"][0] == pytest.approx(0.60)
    assert got["sweeps"][0] == 0  # less than 90 % of the length: not one whole sweep
    assert got["fulfilled"][0] == pytest.approx(0.60)


def test_a_whole_pass_is_one_sweep_and_coming_back_later_a_second() -> None:
    there = track(np.arange(-12, 113, 12))
    assert measure(there)["share"][0] == pytest.approx(1.0)
    assert measure(there, required=2)["sweeps"][0] == 1
    owner, t, x, y = there
    back = (
        np.concatenate([owner, owner]),
        np.concatenate([t, t[-1] + 600 + t]),  # ten minutes later, the other way
        np.concatenate([x, x[::-1]]),
        np.concatenate([y, -y]),
    )
    got = measure(back, required=2)
    assert got["sweeps"][0] == 2 and got["fulfilled"][0] == pytest.approx(1.0)


def test_a_vehicle_at_40_kmh_does_not_sweep() -> None:
    fast = track(np.arange(-56, 160, 55.6))  # 55.6 m in 5 s = 40 km/h
    assert measure(fast)["share"][0] == 0.0
    # the same road at 14.4 km/h (under the 15 km/h limit) is swept
    assert measure(track(np.arange(-20, 121, 20)))["share"][0] == pytest.approx(1.0)
    # and 40 km/h counts when the limit is raised
    assert measure(fast, rule=SweepRule(max_speed_kmh=45))["share"][0] == pytest.approx(1.0)


def test_too_far_aside_crossing_or_not_a_sweeping_kind_does_not_sweep() -> None:
    assert measure(track(np.arange(-12, 113, 12), y=12.0))["share"][0] == 0.0  # 12 m away
    assert measure(track(np.arange(-12, 113, 12), y=-9.0))["share"][0] == 1.0  # 9 m, other side
    owner, t = np.zeros(6, np.intp), np.arange(6) * 5.0
    across = (owner, t, np.full(6, 50.0), np.arange(-30, 31, 12.0))  # across the road
    assert measure(across)["share"][0] == 0.0
    assert measure(track(np.arange(-12, 113, 12)), sweeps=False)["share"][0] == 0.0


def test_a_gap_in_the_track_is_not_swept() -> None:
    owner, t, x, y = track(np.arange(-12, 113, 12))
    t = t.copy()
    t[6:] += 300  # the phone was off between x = 60 and x = 72: 5 min
    got = measure((owner, t, x, y), rule=SweepRule(max_speed_kmh=15, max_gap_s=60))
    assert got["share"][0] == pytest.approx(0.90)  # 60–70 m only lay in the gap


def test_only_lines_of_the_segments_own_group_sweep() -> None:
    samples = sample_roads(ROAD, 5.0)
    owner, t, x, y = track(np.arange(-12, 113, 12))
    lines = sweeping_lines(owner, t, x, y, np.array([True]), RULE)
    mine = sweep_passes(
        samples, np.zeros(len(samples.x), np.intp), lines, np.zeros(len(t) - 1, np.intp), RULE
    )
    theirs = sweep_passes(
        samples, np.zeros(len(samples.x), np.intp), lines, np.ones(len(t) - 1, np.intp), RULE
    )
    assert mine.min() == 1 and theirs.max() == 0
