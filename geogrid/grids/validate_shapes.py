"""Per-feature geometry rules of an uploaded grid file (DOMAIN.md §1, §1b).

Each feature's geometry is checked on its own, in EPSG:4326 as stored: present and non-empty,
polygonal, inside China with longitude first, and valid. The result says what to give back to the
caller (the input as a MultiPolygon, repaired when asked) and what the spatial rules of
:mod:`geogrid.grids.validate_topology` may work on (a valid MultiPolygon, or nothing).

Decisions (documented in :func:`geogrid.grids.validate.validate_grids`):

- A GeometryCollection whose members are all non-empty polygons is accepted as the MultiPolygon of
  those polygons, without a problem: some writers wrap polygons that way, and nothing is lost.
  A collection holding anything else (points, lines) is ``not_polygon``.
- Repairs use ``shapely.make_valid(method="structure")``: rings are read as shells and holes and
  overlapping shells are merged, which keeps the area a digitiser meant (the default "linework"
  method turns two overlapping parts of a MultiPolygon into a polygon with a hole). Only the
  polygonal parts of the repair are kept.
- An invalid geometry is repaired for the spatial rules even without ``fix``, so that one
  self-intersection does not also show up as a spurious gap or overlap; it stays an error then.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geogrid.crs import CHINA_LAT, CHINA_LON, WGS84, in_china, local_metric_crs
from geogrid.errors import Problem

EMPTY_GEOMETRY = "empty_geometry"
NOT_POLYGON = "not_polygon"
INVALID_GEOMETRY = "invalid_geometry"
OUTSIDE_CHINA = "outside_china"
SWAPPED_LON_LAT = "swapped_lon_lat"

# A position whose x reads as a latitude in China and y as a longitude in China.
_SWAPPED_X = (18.0, 54.0)
_SWAPPED_Y = (73.0, 135.0)
_POLYGON, _MULTIPOLYGON, _COLLECTION = 3, 6, 7
_REASON = re.compile(r"^(?P<what>.*?)\[(?P<x>\S+) (?P<y>\S+)\]$")


Geometries = npt.NDArray[np.object_]


@dataclass
class ShapeCheck:
    """What the per-feature geometry rules found for a sequence of geometries.

    Attributes
    ----------
    output : list
        One geometry per feature to hand back: (Multi)Polygons as MultiPolygon, repaired when
        ``fix`` was asked; anything unusable as given.
    usable : list
        One valid MultiPolygon (EPSG:4326) per feature for the spatial rules, or None where the
        feature is empty, not polygonal or outside China.
    errors : list of Problem
        The problems found, in feature order.
    fixes : list of Problem
        One per repaired feature (only when ``fix`` was asked).
    """

    output: list[Any]
    usable: list[MultiPolygon | None]
    errors: list[Problem] = field(default_factory=list)
    fixes: list[Problem] = field(default_factory=list)


def format_m2(area: float) -> str:
    """An area in m² as people write it: one decimal below 10, else whole with thousands commas.

    A bow-tie's rings cancel out to an area of 0 as drawn, written ``0``.
    """
    if round(area, 1) == 0:
        return "0"
    return f"{area:.1f}" if area < 10 else f"{area:,.0f}"


def format_lonlat(lon: float, lat: float) -> str:
    """A position as ``(lon, lat)`` with 6 decimals (about 0.1 m)."""
    return f"({lon:.6f}, {lat:.6f})"


def sentence_start(where: str) -> str:
    """``where`` with a capital first letter, to open a message."""
    return where[:1].upper() + where[1:]


def polygonal(geometry: BaseGeometry) -> MultiPolygon:
    """The polygonal parts of a geometry as one MultiPolygon (empty when there are none)."""
    parts = [
        p
        for p in shapely.get_parts(shapely.get_parts(geometry))
        if isinstance(p, Polygon) and not p.is_empty
    ]
    return MultiPolygon(parts)


def _as_multipolygons(geometries: Sequence[Any]) -> tuple[Geometries, dict[int, str]]:
    """Raw values as MultiPolygons (None where impossible) and the rule each failure breaks."""
    raw = np.array([g if isinstance(g, BaseGeometry) else None for g in geometries], dtype=object)
    types = shapely.get_type_id(raw)
    empty = (types < 0) | shapely.is_empty(raw)
    multis = np.full(len(raw), None, dtype=object)
    polygons = np.flatnonzero((types == _POLYGON) & ~empty)
    multis[polygons] = shapely.multipolygons(raw[polygons], indices=np.arange(len(polygons)))
    whole = (types == _MULTIPOLYGON) & ~empty
    multis[whole] = raw[whole]
    failures = {int(i): EMPTY_GEOMETRY for i in np.flatnonzero(empty)}
    for i in np.flatnonzero((types != _POLYGON) & (types != _MULTIPOLYGON) & ~empty):
        parts = shapely.get_parts(shapely.get_parts(raw[i]))
        if types[i] == _COLLECTION and all(
            isinstance(p, Polygon) and not p.is_empty for p in parts
        ):
            multis[i] = MultiPolygon(list(parts))
        else:
            failures[int(i)] = NOT_POLYGON
    return multis, failures


def _misplaced(multis: Geometries) -> npt.NDArray[np.bool_]:
    """True where a geometry has a vertex outside China or reads as (lat, lon) throughout."""
    coords, index = shapely.get_coordinates(multis, return_index=True)
    x, y = coords[:, 0], coords[:, 1]
    inside = np.isfinite(x) & np.isfinite(y) & in_china(x, y)
    vertices = np.bincount(index, minlength=len(multis))
    return np.bincount(index, weights=inside, minlength=len(multis)) < vertices


def _coordinate_problem(where: str, coords: np.ndarray) -> Problem | None:
    """``swapped_lon_lat`` or ``outside_china`` for one geometry's (n, 2) coordinates, or None."""
    x, y = coords[:, 0], coords[:, 1]
    swapped = (
        (x >= _SWAPPED_X[0]) & (x <= _SWAPPED_X[1]) & (y >= _SWAPPED_Y[0]) & (y <= _SWAPPED_Y[1])
    )
    if swapped.all():
        lat, lon = float(x[0]), float(y[0])
        return Problem(
            where,
            SWAPPED_LON_LAT,
            f"{sentence_start(where)} has its coordinates in latitude/longitude order: the first "
            f"vertex is ({lat:.6f}, {lon:.6f}), a latitude then a longitude of China. "
            "Hint: swap the x and y columns (or the axis order of the export) so that x is the "
            "longitude, then upload the file again.",
            location=(round(lon, 7), round(lat, 7)),
        )
    finite = np.isfinite(x) & np.isfinite(y)
    inside = finite & in_china(x, y)
    if inside.all():
        return None
    bad = int(np.flatnonzero(~inside)[0])
    bx, by = float(x[bad]), float(y[bad])
    if not finite[bad]:
        detail = "a vertex has a coordinate that is not a finite number"
        location = None
    elif abs(bx) > 180 or abs(by) > 90:
        detail = (
            f"vertex ({bx:.1f}, {by:.1f}) is not a longitude/latitude at all; it looks like "
            "projected metres: convert the file to EPSG:4326 or declare its coordinate system"
        )
        location = None
    else:
        detail = (
            f"vertex {format_lonlat(bx, by)} lies outside China's extent (longitude "
            f"{CHINA_LON[0]:.1f}–{CHINA_LON[1]:.1f}, "
            f"latitude {CHINA_LAT[0]:.1f}–{CHINA_LAT[1]:.1f})"
        )
        location = (round(bx, 7), round(by, 7))
    return Problem(
        where,
        OUTSIDE_CHINA,
        f"{sentence_start(where)} is not in China: {detail}.",
        location=location,
    )


def _reason(text: str) -> tuple[str, tuple[float, float] | None]:
    """Split ``shapely.is_valid_reason`` output into a lower-case reason and a position."""
    match = _REASON.match(text)
    if match is None:
        return text.lower(), None
    try:
        return match["what"].lower(), (float(match["x"]), float(match["y"]))
    except ValueError:
        return match["what"].lower(), None


@lru_cache(maxsize=32)
def _metric_transformer(lon: float, lat: float) -> Transformer:
    return Transformer.from_crs(WGS84, local_metric_crs(lon, lat), always_xy=True)


def metric_transformer(lon: float, lat: float) -> Transformer:
    """EPSG:4326 to a transverse Mercator centred near (lon, lat), in metres (DOMAIN.md §1).

    The centre is rounded to 0.01° (at most ~600 m away, which changes scale by far less than
    0.01 %) so that transformers, costly to build, are shared between calls; pyproj
    transformers are thread-safe.
    """
    return _metric_transformer(round(lon, 2), round(lat, 2))


def area_m2(geometry: BaseGeometry) -> float:
    """Area in m² of one EPSG:4326 geometry, in a transverse Mercator centred on it (§1)."""
    x0, y0, x1, y1 = geometry.bounds
    to_m = metric_transformer((x0 + x1) / 2, (y0 + y1) / 2)
    metric = shapely.transform(geometry, lambda xy: np.column_stack(to_m.transform(*xy.T)))
    return float(metric.area)


def check_shapes(
    geometries: Sequence[Any],
    wheres: Sequence[str],
    *,
    fix: bool,
) -> ShapeCheck:
    """Check each geometry on its own: present, polygonal, in China, valid (DOMAIN.md §1).

    Parameters
    ----------
    geometries : sequence
        Raw geometry values in EPSG:4326 (shapely geometries, None or NaN), one per feature.
    wheres : sequence of str
        How each feature is named in a problem, e.g. ``"feature 3 (530114001001003)"``.
    fix : bool
        Repair invalid geometries with ``shapely.make_valid`` and report each repair in
        ``fixes`` instead of ``errors``.

    Returns
    -------
    ShapeCheck
        Output geometries, geometries usable by the spatial rules, errors and fixes.
    """
    result = ShapeCheck(output=list(geometries), usable=[None] * len(geometries))
    found: list[tuple[int, Problem]] = []
    multis, failures = _as_multipolygons(geometries)
    for i, rule in failures.items():
        where, raw = wheres[i], geometries[i]
        message = (
            f"{sentence_start(where)} has no geometry; a unit grid needs a polygon."
            if rule == EMPTY_GEOMETRY
            else f"{sentence_start(where)} is a {raw.geom_type}, not a polygon or multipolygon."
        )
        found.append((i, Problem(where, rule, message)))
    polygonal_at = np.flatnonzero(shapely.is_geometry(multis))
    for i in polygonal_at.tolist():
        result.output[i] = multis[i]
    misplaced = polygonal_at[_misplaced(multis[polygonal_at])]
    for i in misplaced.tolist():
        problem = _coordinate_problem(wheres[i], shapely.get_coordinates(multis[i]))
        if problem is not None:
            found.append((i, problem))
    candidates = np.setdiff1d(polygonal_at, misplaced)
    reasons = shapely.is_valid_reason(multis[candidates])
    for i, multi, text in zip(candidates.tolist(), multis[candidates], reasons, strict=True):
        if text == "Valid Geometry":
            result.usable[i] = multi
            continue
        what, at = _reason(str(text))
        where = wheres[i]
        at_text = f" at {format_lonlat(*at)}" if at else ""
        location = (round(at[0], 7), round(at[1], 7)) if at else None
        repaired = polygonal(shapely.make_valid(multi, method="structure", keep_collapsed=False))
        if repaired.is_empty:
            found.append(
                (
                    i,
                    Problem(
                        where,
                        INVALID_GEOMETRY,
                        f"{sentence_start(where)} is not a valid polygon: {what}{at_text}, and "
                        "repairing it leaves no area; redraw it.",
                        location=location,
                    ),
                )
            )
            continue
        result.usable[i] = repaired
        if fix:
            result.output[i] = repaired
            result.fixes.append(
                Problem(
                    where,
                    INVALID_GEOMETRY,
                    f"{sentence_start(where)}: {what}{at_text} repaired with make_valid; area "
                    f"{format_m2(area_m2(multi))} → {format_m2(area_m2(repaired))} m².",
                    location=location,
                    severity="warning",
                )
            )
        else:
            found.append(
                (
                    i,
                    Problem(
                        where,
                        INVALID_GEOMETRY,
                        f"{sentence_start(where)} is not a valid polygon: {what}{at_text}. "
                        "Redraw it, or let geogrid repair it with make_valid (the fix option).",
                        location=location,
                    ),
                )
            )
    result.errors = [problem for _, problem in sorted(found, key=lambda item: item[0])]
    return result
