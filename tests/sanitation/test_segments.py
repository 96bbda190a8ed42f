"""Cutting roads into segments between crossings, and giving each to its area (pure)."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, box

from geogrid.sanitation.segments import assign_areas, segment_ids, split_roads

#   y=200  ─────────────── 主干道 (main, 600 m long)
#            |       |
#   y=100  ──┼───────┼──── 小巷 (alley)
#            |       |
#   y=0    x=100   x=400 : two secondary roads running north–south, 0..200
MAIN = LineString([(0, 200), (600, 200)])
ALLEY = LineString([(0, 100), (600, 100)])
WEST = LineString([(100, 0), (100, 200)])
EAST = LineString([(400, 0), (400, 200)])


def cut(**kwargs: object) -> list:
    return split_roads(
        np.array([MAIN, ALLEY, WEST, EAST], dtype=object),
        ["main", "alley", "secondary", "secondary"],
        ["彩云路", "云桥一巷", "春融街", "龙城街"],
        **kwargs,  # type: ignore[arg-type]
    )


def test_roads_are_cut_where_main_and_secondary_roads_cross() -> None:
    pieces = cut()
    by_road: dict[int, list[float]] = {}
    for p in pieces:
        by_road.setdefault(p.road, []).append(round(p.geometry.length, 6))
    assert by_road[0] == [100, 300, 200]  # the main road, at both secondary roads
    assert by_road[1] == [100, 300, 200]  # the alley, likewise
    # the secondary roads end on the main road (a T): crossed only by the alley, which
    # does not cut them
    assert by_road[2] == [200] and by_road[3] == [200]
    middle = [p for p in pieces if p.road == 0][1]
    assert middle.name == "彩云路（春融街—龙城街）"
    assert middle.road_class == "main"


def test_splitting_by_alleys_too_and_a_maximum_length() -> None:
    pieces = cut(split_classes=("main", "secondary", "alley"), max_length_m=150)
    west = [round(p.geometry.length, 6) for p in pieces if p.road == 2]
    assert west == [100, 100]  # now cut by the alley
    main = [round(p.geometry.length, 6) for p in pieces if p.road == 0]
    assert main == [100, 150, 150, 100, 100]  # 300 m into two, 200 m into two
    assert [p.name for p in pieces if p.road == 0][1] == "彩云路（春融街—龙城街）·1"
    total = sum(p.geometry.length for p in pieces)
    assert total == pytest.approx(600 + 600 + 200 + 200)


def test_a_segment_on_the_border_of_two_areas_goes_to_the_first() -> None:
    areas = np.array([box(0, 0, 300, 300), box(300, 0, 600, 300)], dtype=object)
    segments = np.array(
        [
            LineString([(10, 50), (110, 50)]),  # inside area 0
            LineString([(300, 50), (300, 150)]),  # on the border of both
            LineString([(400, 50), (500, 50)]),  # inside area 1
            LineString([(700, 50), (800, 50)]),  # outside both
        ],
        dtype=object,
    )
    assert assign_areas(segments, areas).tolist() == [0, 0, 1, -1]
    assert assign_areas(segments[:0], areas).tolist() == []


def test_segment_ids_number_main_roads_first_inside_each_area() -> None:
    ids = segment_ids(["A", "A", "B", "A"], ["alley", "main", "main", "secondary"], list("wxyz"))
    assert ids == ["A-0003", "A-0001", "B-0001", "A-0002"]


def test_no_roads_no_segments() -> None:
    assert split_roads(np.array([], dtype=object), [], []) == []
