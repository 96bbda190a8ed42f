"""Repeat places (DOMAIN.md §4) from positions in metres, by hand and by property."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from geogrid.indicators.repeats import repeat_flags


def test_thresholds_follow_the_first_cases_road() -> None:
    subs = ["06010", "06010", "09006", "09006", "09006", "09006", "06036", "06036", "06036"]
    roads = ["main", "alley", "alley", "main", "main", "main", "secondary", "main", "main"]
    x = [0, 20, 100, 110, 120, 130, 500, 510, 520]
    y = [0] * 9
    flags = repeat_flags(subs, roads, x, y, distance_m=30)
    # 06010: 2 cases, first on a main road → repeats; 09006: 4 in a chain, first in an alley
    # → repeats (4 reached); 06036: 3 cases, first on a secondary road → repeats (3 reached)
    assert flags.tolist() == [True] * 9
    flags = repeat_flags(subs[2:5], roads[2:5], x[2:5], y[2:5], distance_m=30)
    assert flags.tolist() == [False, False, False]  # 3 in an alley place: not yet 4


def test_chains_link_and_other_subclasses_do_not() -> None:
    # A chain 0 – 25 – 50 – 75 m is one place although its ends are 75 m apart.
    flags = repeat_flags(["06010"] * 4, ["alley"] * 4, [0, 25, 50, 75], [0] * 4, distance_m=30)
    assert flags.all()
    # The same positions split between two subclasses make no place of 4.
    subs = ["06010", "06036", "06010", "06036"]
    flags = repeat_flags(subs, ["alley"] * 4, [0, 25, 50, 75], [0] * 4, distance_m=30)
    assert not flags.any()


def test_unknown_road_class_counts_as_secondary() -> None:
    flags = repeat_flags(["06010"] * 3, [None] * 3, [0, 5, 10], [0, 0, 0], distance_m=30)
    assert flags.all()
    flags = repeat_flags(["06010"] * 2, [None] * 2, [0, 5], [0, 0], distance_m=30)
    assert not flags.any()


@given(
    st.lists(
        st.tuples(st.floats(0, 500), st.floats(0, 500), st.sampled_from(["main", "alley"])),
        min_size=0,
        max_size=60,
    )
)
def test_isolated_cases_are_never_repeats(points: list[tuple[float, float, str]]) -> None:
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    flags = repeat_flags(["06010"] * len(points), [p[2] for p in points], x, y, distance_m=30)
    for i in range(len(points)):
        d = np.hypot(x - x[i], y - y[i])
        if (d <= 30).sum() == 1:  # no other case within 30 m
            assert not flags[i]
    # a case within 30 m of a repeat case of the same subclass is a repeat case too
    for i in np.flatnonzero(flags):
        near = np.hypot(x - x[i], y - y[i]) <= 30
        assert flags[near].all()
