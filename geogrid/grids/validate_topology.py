"""Spatial rules between unit grids and their communities, in metres (DOMAIN.md §1).

A unit grid lies wholly inside one community, never overlaps another grid, and the grids of a
community together cover it without gaps; its area is about 10,000 m². Every area here is computed
in one transverse Mercator projection centred on the data (:func:`geogrid.crs.local_metric_crs`),
never in degrees; positions in problems are given back as (lon, lat) in EPSG:4326.

Overlaps are found through a spatial index (``shapely.STRtree``), so the cost grows with the
number of neighbouring pairs, not with the square of the number of grids. Gaps are looked for
(by a union of the community's grids) only where an area balance says one may exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from pyproj.enums import TransformDirection
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geogrid.errors import Problem
from geogrid.grids.validate_shapes import (
    format_lonlat,
    format_m2,
    metric_transformer,
    polygonal,
    sentence_start,
)

OUTSIDE_COMMUNITY = "outside_community"
OVERLAP = "overlap"
GAP = "gap"
AREA_OUT_OF_BAND = "area_out_of_band"

Geometries = npt.NDArray[np.object_]
Areas = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GridShape:
    """One grid as the spatial rules see it: a valid MultiPolygon in EPSG:4326 and its community."""

    where: str
    community_code: str | None
    geometry: MultiPolygon


@dataclass
class TopologyCheck:
    """Errors and warnings of the spatial rules."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class _Metric:
    """Forward and back between EPSG:4326 and one local metric projection (DOMAIN.md §1)."""

    def __init__(self, geometries: Geometries) -> None:
        x0, y0, x1, y1 = shapely.total_bounds(geometries)
        self._to_m = metric_transformer((x0 + x1) / 2, (y0 + y1) / 2)

    def project(self, geometries: Geometries) -> Geometries:
        """The geometries in metres, made valid again where projecting broke them."""
        to_m = self._to_m
        metric: Geometries = shapely.transform(
            geometries, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1]))
        )
        broken = ~shapely.is_valid(metric)
        if broken.any():
            metric[broken] = [
                polygonal(shapely.make_valid(g, method="structure")) for g in metric[broken]
            ]
        return metric

    def where_is(self, geometry: BaseGeometry) -> tuple[float, float]:
        """(lon, lat) of a point inside a metric geometry, rounded to 7 decimals."""
        point = geometry.representative_point()
        lon, lat = self._to_m.transform(point.x, point.y, direction=TransformDirection.INVERSE)
        return round(float(lon), 7), round(float(lat), 7)


def _area_band(
    grids: Sequence[GridShape], areas: Areas, band: tuple[float, float]
) -> list[Problem]:
    low, high = band
    return [
        Problem(
            grid.where,
            AREA_OUT_OF_BAND,
            f"{sentence_start(grid.where)} has an area of {format_m2(area)} m², outside the "
            f"{format_m2(low)}–{format_m2(high)} m² expected of a unit grid (about 10,000 m², "
            "DOMAIN.md §1).",
            severity="warning",
        )
        for grid, area in zip(grids, areas, strict=True)
        if not low <= area <= high
    ]


def _outside(
    grids: Sequence[GridShape],
    metric: Geometries,
    communities: Mapping[str, BaseGeometry],
    space: _Metric,
    tolerance_m2: float,
) -> tuple[list[Problem], Areas]:
    """Grids with more than ``tolerance_m2`` outside their community, and every grid's m² outside.

    The area outside is 0 where the community covers the grid or is not known.
    """
    outside_m2 = np.zeros(len(grids))
    at = [i for i, grid in enumerate(grids) if grid.community_code in communities]
    if not at:
        return [], outside_m2
    homes = np.array([communities[str(grids[i].community_code)] for i in at], dtype=object)
    shapely.prepare(homes)
    uncovered = ~shapely.covers(homes, metric[at])
    loose = [i for i, away in zip(at, uncovered, strict=True) if away]
    outside = shapely.difference(metric[loose], homes[uncovered])
    outside_m2[loose] = shapely.area(outside)
    problems = []
    for i, part in zip(loose, outside, strict=True):
        if outside_m2[i] <= tolerance_m2:
            continue
        grid = grids[i]
        lon, lat = space.where_is(part)
        problems.append(
            Problem(
                grid.where,
                OUTSIDE_COMMUNITY,
                f"{sentence_start(grid.where)} is not inside its community "
                f"{grid.community_code}: {format_m2(outside_m2[i])} m² of it lies outside, "
                f"around {format_lonlat(lon, lat)}; a grid lies wholly inside one community "
                "(DOMAIN.md §1).",
                location=(lon, lat),
            )
        )
    return problems, outside_m2


@dataclass(frozen=True)
class _Pairs:
    """Pairs of grids (by position, ``left < right``) whose interiors meet, and what they share."""

    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    common: Geometries
    areas: Areas


def _pairs(metric: Geometries) -> _Pairs:
    left, right = shapely.STRtree(metric).query(metric, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    # Neighbours sharing an edge only touch; intersecting just the others halves the cost.
    keep = ~shapely.touches(metric[left], metric[right])
    left, right = left[keep], right[keep]
    common = shapely.intersection(metric[left], metric[right])
    return _Pairs(left, right, common, shapely.area(common))


def _overlaps(
    grids: Sequence[GridShape], pairs: _Pairs, space: _Metric, tolerance_m2: float
) -> list[Problem]:
    """Pairs of grids whose common area exceeds ``tolerance_m2``, each pair once."""
    problems = []
    for k in np.flatnonzero(pairs.areas > tolerance_m2):
        a, b = grids[pairs.left[k]], grids[pairs.right[k]]
        lon, lat = space.where_is(polygonal(pairs.common[k]))
        problems.append(
            Problem(
                a.where,
                OVERLAP,
                f"{sentence_start(a.where)} and {b.where} overlap by "
                f"{format_m2(pairs.areas[k])} m², around {format_lonlat(lon, lat)}; unit grids "
                "never overlap (DOMAIN.md §1).",
                location=(lon, lat),
            )
        )
    return problems


def _uncovered_bounds(
    grids: Sequence[GridShape],
    communities: Mapping[str, BaseGeometry],
    areas: Areas,
    outside_m2: Areas,
    pairs: _Pairs,
) -> dict[str, float]:
    """An upper bound, in m², of each community's area that none of its grids covers.

    The union of a community's grids covers at least the sum of their areas inside it minus the
    sum of their pairwise overlaps (Bonferroni), so ``area(community) - sum(area inside) +
    sum(overlaps)`` bounds what is left uncovered. Where the bound is within the tolerance no
    gap can exceed it, and the costly union is skipped: a valid file costs almost nothing here.
    """
    bounds = {code: float(shapely.area(geometry)) for code, geometry in communities.items()}
    for grid, area, outside in zip(grids, areas, outside_m2, strict=True):
        if grid.community_code in bounds:
            bounds[grid.community_code] -= area - outside
    for i, j, shared in zip(pairs.left, pairs.right, pairs.areas, strict=True):
        code = grids[i].community_code
        if code in bounds and code == grids[j].community_code:
            bounds[code] += shared
    return bounds


def _gaps(
    grids: Sequence[GridShape],
    metric: Geometries,
    communities: Mapping[str, BaseGeometry],
    names: Mapping[str, str],
    space: _Metric,
    tolerance_m2: float,
) -> list[Problem]:
    """Parts larger than ``tolerance_m2`` of each given community that none of its grids cover."""
    members: dict[str, list[BaseGeometry]] = {code: [] for code in communities}
    for grid, geometry in zip(grids, metric, strict=True):
        if grid.community_code in members:
            members[grid.community_code].append(geometry)
    problems = []
    for code, community in communities.items():
        cover = shapely.union_all(np.array(members[code], dtype=object))
        gaps = shapely.get_parts(polygonal(shapely.difference(community, cover)))
        name = f" ({names[code]})" if names.get(code) else ""
        for gap, area in zip(gaps, shapely.area(gaps), strict=True):
            if area <= tolerance_m2:
                continue
            lon, lat = space.where_is(gap)
            problems.append(
                Problem(
                    f"community {code}",
                    GAP,
                    f"Community {code}{name} has a gap of {format_m2(area)} m² that none of its "
                    f"grids covers, around {format_lonlat(lon, lat)}; the grids of a community "
                    "cover it without gaps (DOMAIN.md §1).",
                    location=(lon, lat),
                )
            )
    return problems


def check_topology(
    grids: Sequence[GridShape],
    communities: Mapping[str, BaseGeometry],
    names: Mapping[str, str],
    *,
    area_band: tuple[float, float],
    tolerance_m2: float,
) -> TopologyCheck:
    """Check area, containment, overlaps and gaps of valid grids (DOMAIN.md §1).

    Parameters
    ----------
    grids : sequence of GridShape
        The grids whose geometry passed the per-feature rules (valid, in China, EPSG:4326).
    communities : mapping of str to geometry
        Valid geometries (EPSG:4326) of the communities the file's grids refer to, by code:
        containment is checked against them, and each is checked for gaps.
    names : mapping of str to str
        Community names by code, for the sentences.
    area_band : (float, float)
        Smallest and largest expected grid area, m²; outside it is a warning.
    tolerance_m2 : float
        Overlaps, parts outside a community and gaps up to this area (m²) are ignored.

    Returns
    -------
    TopologyCheck
        ``outside_community``, ``overlap`` and ``gap`` errors; ``area_out_of_band`` warnings.
    """
    codes = list(communities)
    everything = np.array(
        [g.geometry for g in grids] + [communities[c] for c in codes], dtype=object
    )
    if not len(everything):
        return TopologyCheck()
    space = _Metric(everything)
    metric = space.project(np.array([g.geometry for g in grids], dtype=object))
    homes = dict(
        zip(
            codes,
            space.project(np.array([communities[c] for c in codes], dtype=object)),
            strict=True,
        )
    )
    areas = shapely.area(metric)
    outside, outside_m2 = _outside(grids, metric, homes, space, tolerance_m2)
    pairs = _pairs(metric)
    bounds = _uncovered_bounds(grids, homes, areas, outside_m2, pairs)
    suspects = {code: homes[code] for code in codes if bounds[code] > tolerance_m2}
    return TopologyCheck(
        errors=[
            *outside,
            *_overlaps(grids, pairs, space, tolerance_m2),
            *_gaps(grids, metric, suspects, names, space, tolerance_m2),
        ],
        warnings=_area_band(grids, areas, area_band),
    )
