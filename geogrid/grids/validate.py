"""Validation of an uploaded file of unit grids before a grid-boundary update (DOMAIN.md §1, §1b).

For every community in an uploaded file, the file's grids become that community's complete set of
unit grids (单元网格). Before a plan is made, the file is checked against the rules of DOMAIN.md §1
in one pass that reports every problem it finds, each naming the feature, the rule, a sentence with
the numbers, and where on the map it is. Pure functions over GeoDataFrames and shapely geometries:
no database, no files.

Rules (``Problem.rule``); all are errors except ``area_out_of_band``:

=========================  =================================================================
``empty_geometry``         the geometry is missing or empty
``not_polygon``            the geometry is not a (Multi)Polygon
``invalid_geometry``       invalid (``shapely.is_valid_reason``); repaired when ``fix=True``
``outside_china``          a vertex lies outside China's extent (or is projected metres)
``swapped_lon_lat``        every vertex reads as (latitude, longitude) of China
``malformed_code``         the code fails :func:`geogrid.grids.rules.parse_grid_code`
``code_community_mismatch`` the code's first 12 digits are not the grid's community code
``unknown_community``      the community code is missing or not among the communities given
``duplicate_code``         several features carry the same code
``outside_community``      more than the tolerance of the grid lies outside its community
``overlap``                two grids share more than the tolerance
``gap``                    a part of a community in the file that none of its grids covers
``area_out_of_band``       (warning) the grid's area is outside the expected band
=========================  =================================================================
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
from geopandas import GeoDataFrame
from pyproj import CRS
from shapely.geometry import GeometryCollection
from shapely.geometry.base import BaseGeometry

from geogrid.crs import WGS84
from geogrid.errors import CRSMismatch, InvalidParameter, Problem
from geogrid.grids.rules import COMMUNITY_DIGITS, parse_grid_code
from geogrid.grids.validate_shapes import check_shapes, sentence_start
from geogrid.grids.validate_topology import GridShape, check_topology

MALFORMED_CODE = "malformed_code"
CODE_COMMUNITY_MISMATCH = "code_community_mismatch"
UNKNOWN_COMMUNITY = "unknown_community"
DUPLICATE_CODE = "duplicate_code"

_GEOGRAPHIC_EPSG = (4326, 4490)


@dataclass
class ValidationReport:
    """Everything one validation pass found, and the grids as they would be imported.

    Attributes
    ----------
    errors : list of Problem
        Problems that block the update, grouped by rule family, features in file order.
    warnings : list of Problem
        Problems worth a look that never block (``area_out_of_band``).
    fixes : list of Problem
        What ``fix=True`` changed, one per repaired feature (``severity="warning"``).
    grids : GeoDataFrame
        The input grids (EPSG:4326), polygonal geometries as MultiPolygon, repaired ones replaced
        when ``fix=True``; unusable geometries (empty, not polygonal) are left as given.
    """

    errors: list[Problem]
    warnings: list[Problem]
    fixes: list[Problem]
    grids: GeoDataFrame

    @property
    def ok(self) -> bool:
        """True when nothing blocks the update (warnings do not)."""
        return not self.errors


def _text(value: Any) -> str | None:
    """A text cell, or None where it is missing (None, NaN, blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _column(frame: GeoDataFrame, name: str) -> list[Any]:
    return list(frame[name]) if name in frame else [None] * len(frame)


@dataclass(frozen=True)
class _Feature:
    row: Any
    code: Any
    community_code: str | None
    where: str


def _features(grids: GeoDataFrame) -> list[_Feature]:
    """The identifying cells of each grid; ``where`` reads ``feature <row> (<code>)``."""
    rows = list(grids["row"]) if "row" in grids else list(range(1, len(grids) + 1))
    codes, communities = _column(grids, "code"), _column(grids, "community_code")
    return [
        _Feature(row, code, _text(community), f"feature {row} ({_text(code) or 'no code'})")
        for row, code, community in zip(rows, codes, communities, strict=True)
    ]


def _check_code(feature: _Feature, known: set[str]) -> list[Problem]:
    """``malformed_code``, ``code_community_mismatch`` and ``unknown_community`` of one grid."""
    where, start = feature.where, sentence_start(feature.where)
    problems = []
    if _text(feature.code) is None:
        problems.append(Problem(where, MALFORMED_CODE, f"{start} has no grid code."))
    else:
        try:
            parsed = parse_grid_code(feature.code)
        except InvalidParameter as err:
            problems.append(Problem(where, MALFORMED_CODE, f"{start}: {err.message}"))
        else:
            if feature.community_code is not None and parsed.community != feature.community_code:
                problems.append(
                    Problem(
                        where,
                        CODE_COMMUNITY_MISMATCH,
                        f"{start} is in community {feature.community_code}, but its code "
                        f"starts with {parsed.community}; a grid's code is its community's "
                        f"{COMMUNITY_DIGITS} digits followed by a sequence (DOMAIN.md §1).",
                    )
                )
    if feature.community_code is None:
        problems.append(Problem(where, UNKNOWN_COMMUNITY, f"{start} has no community code."))
    elif feature.community_code not in known:
        problems.append(
            Problem(
                where,
                UNKNOWN_COMMUNITY,
                f"{start} belongs to community {feature.community_code}, which is neither in "
                "the file's community layer nor among the current communities.",
            )
        )
    return problems


def _check_duplicates(features: list[_Feature]) -> list[Problem]:
    """One ``duplicate_code`` per code used more than once, naming every row that uses it."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, feature in enumerate(features):
        code = _text(feature.code)
        if code is not None:
            by_code[code].append(i)
    problems = []
    for code, at in by_code.items():
        if len(at) < 2:
            continue
        rows = [str(features[i].row) for i in at]
        listed = ", ".join(rows[:-1]) + f" and {rows[-1]}"
        problems.append(
            Problem(
                features[at[1]].where,
                DUPLICATE_CODE,
                f"Code {code} is used by {len(at)} features ({listed}); a code names one "
                "grid and is never reused (DOMAIN.md §1).",
            )
        )
    return problems


def _referred_communities(
    communities: GeoDataFrame, codes: list[str]
) -> tuple[list[Any], dict[str, str]]:
    """Geometry (raw) and name of each community in ``codes``, in that order.

    Several rows with one code are read as one collection of their parts (the per-feature
    rules then merge or flag them).
    """
    parts: dict[str, list[Any]] = defaultdict(list)
    names: dict[str, str] = {}
    wanted = set(codes)
    for code, name, geometry in zip(
        _column(communities, "code"),
        _column(communities, "name"),
        communities.geometry,
        strict=True,
    ):
        text = _text(code)
        if text is not None and text in wanted:
            parts[text].append(geometry)
            names[text] = _text(name) or ""
    geometries = []
    for code in codes:
        present = [g for g in parts[code] if isinstance(g, BaseGeometry) and not g.is_empty]
        geometries.append(GeometryCollection(present) if len(present) > 1 else parts[code][0])
    return geometries, names


def _ensure_lonlat(frame: GeoDataFrame, what: str) -> None:
    crs = frame.crs
    if crs is not None and CRS.from_user_input(crs).to_epsg() not in _GEOGRAPHIC_EPSG:
        raise CRSMismatch(
            f"The {what} are in {crs.name}; validation takes EPSG:4326 longitude/latitude "
            "(convert them when reading the file)."
        )


def validate_grids(
    grids: GeoDataFrame,
    communities: GeoDataFrame,
    *,
    area_band: tuple[float, float] = (2000.0, 100_000.0),
    tolerance_m2: float = 1.0,
    fix: bool = False,
) -> ValidationReport:
    """Check a file of unit grids against every rule of DOMAIN.md §1, in one pass (§1b).

    Parameters
    ----------
    grids : GeoDataFrame
        The file's grids in EPSG:4326 with columns ``row`` (1-based feature number), ``code``,
        ``community_code``, ``community_name``, ``grid_type``, ``name`` and ``geometry``.
    communities : GeoDataFrame
        Boundaries (EPSG:4326) of every community the grids refer to, column ``code`` (and
        ``name``): the file's community layer where it has one, else the current ones. Only the
        communities the grids refer to are checked and used.
    area_band : (float, float), optional
        Expected area of a unit grid in m² (default 2,000–100,000); outside it is a warning.
    tolerance_m2 : float, optional
        Overlaps, parts outside a community and gaps up to this area in m² are ignored
        (default 1 m², well above the noise of coordinate transformations).
    fix : bool, optional
        Repair invalid geometries with ``shapely.make_valid`` (polygonal parts kept); each
        repair is reported in ``fixes`` instead of ``errors``.

    Returns
    -------
    ValidationReport
        Errors, warnings, fixes and the grids as they would be imported. Areas in messages are
        computed in metres in a local transverse Mercator projection, locations are (lon, lat).

    Raises
    ------
    InvalidParameter
        When ``area_band`` or ``tolerance_m2`` make no sense.
    CRSMismatch
        When a frame declares a CRS other than EPSG:4326 (or CGCS2000 EPSG:4490).

    Notes
    -----
    Decisions beyond DOMAIN.md: a GeometryCollection of polygons only is taken as their
    MultiPolygon; repairs use ``make_valid(method="structure")``; an invalid grid is repaired
    for the spatial rules even without ``fix`` so it does not also cause spurious overlaps or
    gaps; a feature whose geometry is unusable (empty, not polygonal, outside China, swapped)
    takes no part in the spatial rules, so its community may show a gap where it should be;
    community geometries go through the same per-feature rules (``where`` = ``"community
    <code>"``) but are never repaired here, since the report hands back grids only.
    """
    low, high = area_band
    if not (0 <= low <= high and math.isfinite(low)):
        raise InvalidParameter(
            f"area_band must be (low, high) m² with 0 <= low <= high, not {area_band!r}."
        )
    if not (math.isfinite(tolerance_m2) and tolerance_m2 >= 0):
        raise InvalidParameter(f"tolerance_m2 must be a finite area >= 0 m², not {tolerance_m2!r}.")
    _ensure_lonlat(grids, "grids")
    _ensure_lonlat(communities, "communities")

    features = _features(grids)
    shapes = check_shapes(list(grids.geometry), [f.where for f in features], fix=fix)
    known = {c for c in map(_text, _column(communities, "code")) if c is not None}
    errors = list(shapes.errors)
    for feature in features:
        errors += _check_code(feature, known)
    errors += _check_duplicates(features)

    referred = sorted({f.community_code for f in features if f.community_code in known})
    geometries, names = _referred_communities(communities, referred)
    checked = check_shapes(geometries, [f"community {c}" for c in referred], fix=False)
    errors += checked.errors
    usable_communities = {
        code: geometry
        for code, geometry in zip(referred, checked.usable, strict=True)
        if geometry is not None
    }
    topology = check_topology(
        [
            GridShape(f.where, f.community_code, geometry)
            for f, geometry in zip(features, shapes.usable, strict=True)
            if geometry is not None
        ],
        usable_communities,
        names,
        area_band=area_band,
        tolerance_m2=tolerance_m2,
    )
    errors += topology.errors
    out = grids.copy()
    out[grids.geometry.name] = gpd.GeoSeries(
        shapes.output, index=grids.index, crs=grids.crs or WGS84
    )
    return ValidationReport(
        errors=errors, warnings=topology.warnings, fixes=shapes.fixes, grids=out
    )
