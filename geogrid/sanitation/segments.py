"""Road segments (路段) of cleaning contracts, cut from road lines (pure geometry).

A contract names roads from crossing to crossing ("彩云路（春融街—龙城街）"), so a road is cut
where it crosses a road of the classes in ``split_classes`` (by default main and secondary
roads: alleys crossing alleys do not start a new segment), and a piece longer than
``max_length_m`` is cut again into equal parts. Each segment belongs to the cleaning area that
holds its midpoint.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.ops import substring

SPLIT_CLASSES = ("main", "secondary")
MAX_LENGTH_M = 600.0
MIN_LENGTH_M = 1.0  # pieces shorter than this (a road just touching another) are dropped
_CROSSING_TOLERANCE_M = 0.5


@dataclass(frozen=True)
class Piece:
    """One segment cut from road ``road`` (an index of the input), in the input's CRS."""

    road: int
    geometry: LineString
    road_class: str
    name: str


def split_roads(
    lines: Sequence[LineString] | np.ndarray,
    classes: Sequence[str],
    names: Sequence[str | None],
    *,
    split_classes: Sequence[str] = SPLIT_CLASSES,
    max_length_m: float = MAX_LENGTH_M,
) -> list[Piece]:
    """Cut roads into segments between crossings (lines in metres, a projected CRS).

    Parameters
    ----------
    lines, classes, names
        The roads (LineStrings, metres), their classes (main, secondary, alley) and names.
    split_classes
        A road is cut where it crosses (or meets, within 0.5 m) a road of these classes.
    max_length_m
        Longer pieces are cut again into the fewest equal parts no longer than this.

    Returns
    -------
    list of Piece
        In road order, then along each road. A piece's name is the road's with the names of
        the roads at its two ends, "彩云路（春融街—龙城街）", when both are crossings.
    """
    geoms = np.asarray(lines, dtype=object)
    if len(geoms) == 0:
        return []
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=_CROSSING_TOLERANCE_M)
    splitting = np.isin(np.asarray(classes, dtype=object)[b], list(split_classes))
    keep = (a != b) & splitting
    a, b = a[keep], b[keep]
    cuts: dict[int, list[tuple[float, str]]] = {}
    if len(a):
        meet = shapely.intersection(geoms[a], geoms[b])
        apart = shapely.is_empty(meet)  # within 0.5 m without crossing: the nearest point
        meet[apart] = shapely.get_point(shapely.shortest_line(geoms[a[apart]], geoms[b[apart]]), 0)
        coords, pair = shapely.get_coordinates(meet, return_index=True)
        along = shapely.line_locate_point(geoms[a[pair]], shapely.points(coords))
        for i, j, d in zip(a[pair].tolist(), b[pair].tolist(), along.tolist(), strict=True):
            cuts.setdefault(i, []).append((d, names[j] or ""))
    pieces: list[Piece] = []
    for i, line in enumerate(geoms):
        length = float(line.length)
        stops = sorted({(round(d, 3), n) for d, n in cuts.get(i, []) if 0 < d < length})
        bounds = [(0.0, "")] + [(d, n) for d, n in stops] + [(length, "")]
        merged: list[tuple[float, str]] = []
        for d, n in bounds:  # two crossings at one place (a road and its neighbour): one cut
            if merged and d - merged[-1][0] < MIN_LENGTH_M:
                merged[-1] = (merged[-1][0], merged[-1][1] or n)
                continue
            merged.append((d, n))
        if len(merged) == 1:
            merged.append((length, ""))
        road_name = names[i] or ""
        for (d0, n0), (d1, n1) in itertools.pairwise(merged):
            if d1 - d0 < MIN_LENGTH_M:
                continue
            parts = max(1, math.ceil((d1 - d0) / max_length_m - 1e-9))
            for k in range(parts):
                s0 = d0 + (d1 - d0) * k / parts
                s1 = d0 + (d1 - d0) * (k + 1) / parts
                label = road_name
                if n0 and n1 and n0 != road_name and n1 != road_name:
                    label = f"{road_name}（{n0}—{n1}）"
                if parts > 1:
                    label = f"{label}·{k + 1}"
                piece = substring(line, s0, s1)
                if isinstance(piece, LineString) and piece.length >= MIN_LENGTH_M:
                    pieces.append(Piece(i, piece, str(classes[i]), label))
    return pieces


def assign_areas(segments: Sequence[LineString] | np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Index of the area holding each segment's midpoint, -1 where none does.

    Roads often are the borders of areas: a midpoint on the border of two areas (or on the
    outline of one) belongs to the first of them (lowest index) not holding it inside.
    Areas should not overlap; where they do, the first wins.
    """
    geoms = np.asarray(segments, dtype=object)
    found = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0 or len(areas) == 0:
        return found
    mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    seg, area = shapely.STRtree(areas).query(mid, predicate="intersects")
    inside = shapely.within(mid[seg], areas[area])
    order = np.lexsort((area, ~inside, seg))
    seg, area = seg[order], area[order]
    first = np.r_[True, seg[1:] != seg[:-1]] if len(seg) else np.zeros(0, bool)
    found[seg[first]] = area[first]
    return found


def segment_ids(area_ids: Sequence[str], classes: Sequence[str], names: Sequence[str]) -> list[str]:
    """``<area>-0001`` … numbered inside each area by road class (main first), name, order."""
    rank = {"main": 0, "secondary": 1, "alley": 2}
    order = sorted(
        range(len(area_ids)), key=lambda i: (area_ids[i], rank.get(classes[i], 3), names[i], i)
    )
    ids = [""] * len(area_ids)
    counter: dict[str, int] = {}
    for i in order:
        counter[area_ids[i]] = counter.get(area_ids[i], 0) + 1
        ids[i] = f"{area_ids[i]}-{counter[area_ids[i]]:04d}"
    return ids
