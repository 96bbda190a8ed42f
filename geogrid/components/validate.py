"""Validating uploaded components against the catalogue and the district (DOMAIN.md §2).

Every rule runs over the whole file and every problem is listed at once, naming the layer,
the feature and the reason: unknown subclass, a geometry of the wrong type for the subclass,
duplicate codes, a code not matching its subclass or district, outside the district,
unknown status, missing or invalid geometry.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.catalogue import Catalogue
from geogrid.components.rules import (
    LEGACY_STATES_HINT,
    ComponentCode,
    parse_component_code,
    status_code,
)
from geogrid.components.upload import LEGACY_STATES
from geogrid.errors import InvalidParameter, Problem, ValidationFailed

MAX_LISTED = 1000
GEOMETRY_TYPES = {
    "point": ("Point", "MultiPoint"),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}


class _Problems:
    def __init__(self, features: gpd.GeoDataFrame) -> None:
        self.layers = features["layer"].to_numpy()
        self.rows = features["row"].to_numpy()
        self.many_layers = len(set(self.layers)) > 1
        self.items: list[tuple[int, Problem]] = []

    def where(self, i: int) -> str:
        feature = f"feature {self.rows[i]}"
        return f"layer '{self.layers[i]}', {feature}" if self.many_layers else feature

    def add(self, mask: np.ndarray | pd.Series, rule: str, reason: Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            where = self.where(int(i))
            message = f"{where[0].upper()}{where[1:]}: {reason(int(i))}"
            self.items.append((int(i), Problem(where, rule, message)))

    def raise_if_any(self, shown: str) -> None:
        if not self.items:
            return
        self.items.sort(key=lambda item: item[0])
        problems = [p for _, p in self.items[:MAX_LISTED]]
        if len(self.items) > MAX_LISTED:
            more = f"{len(self.items) - MAX_LISTED} more problem(s) not listed."
            problems.append(Problem(f"'{shown}'", "more_problems", more))
        features = len({i for i, _ in self.items})
        raise ValidationFailed(
            f"'{shown}' was refused: {features} component(s) have problems; nothing was "
            f"planned. First: {problems[0].message}",
            problems,
        )


def _sub_classes(
    frame: gpd.GeoDataFrame, catalogue: Catalogue, problems: _Problems
) -> tuple[pd.Series, pd.Series]:
    """The current subclass of each feature, from its sub_class or else its code."""
    parsed: list[object] = []
    for code in frame["code"]:
        try:
            parsed.append(None if pd.isna(code) or not code else parse_component_code(code))
        except InvalidParameter:
            parsed.append("bad")
    parsed_codes = pd.Series(parsed, dtype=object)
    problems.add(
        parsed_codes == "bad",
        "bad_code",
        lambda i: (
            f"code '{frame['code'].iat[i]}' is not 17 digits (6 district + 5 class + 6 "
            "sequence) nor a legacy 16."
        ),
    )
    given = frame["sub_class"]
    from_code = parsed_codes.map(lambda p: p.class_code if isinstance(p, ComponentCode) else None)
    recorded = given.where(given.notna(), from_code)
    mapping = {r: catalogue.map_code("component", r) for r in set(recorded.dropna())}
    current = recorded.map(lambda r: None if pd.isna(r) else mapping.get(r))
    problems.add(
        recorded.notna() & current.isna(),
        "unknown_sub_class",
        lambda i: (
            f"subclass '{recorded.iat[i]}' is not a component class of the catalogue "
            "(GB/T 47678.5, or a legacy CJ/T 214 code)."
        ),
    )
    problems.add(
        recorded.isna() & (parsed_codes != "bad"),
        "missing_sub_class",
        lambda i: "has neither a subclass nor a code to read it from.",
    )
    mapped_code_class = from_code.map(
        lambda c: None if pd.isna(c) else catalogue.map_code("component", c)
    )
    mismatch = given.notna() & current.notna() & from_code.notna() & (mapped_code_class != current)
    problems.add(
        mismatch,
        "code_class_mismatch",
        lambda i: (
            f"code '{frame['code'].iat[i]}' carries class {from_code.iat[i]}, not its "
            f"subclass {given.iat[i]}."
        ),
    )
    return current, parsed_codes


def validate_components(
    features: gpd.GeoDataFrame,
    *,
    catalogue: Catalogue,
    district_code: str,
    district: BaseGeometry | None,
    shown: str = "components",
) -> gpd.GeoDataFrame:
    """Check uploaded components and return them normalised.

    Parameters
    ----------
    features
        From :func:`geogrid.components.upload.read_component_upload` (EPSG:4326).
    catalogue
        Subclasses, their geometry types and names.
    district_code, district
        The district the inventory belongs to, and its outline (EPSG:4326); None skips the
        outside test (no territory loaded).

    Returns
    -------
    GeoDataFrame
        With ``sub_class`` the current 5-digit class (``sub_class_recorded`` the given one when
        it was a legacy code), ``major_class``, ``status`` as a code (default ``intact``) and
        ``name`` defaulting to the subclass name.

    Raises
    ------
    ValidationFailed
        Listing every problem of every feature.
    """
    frame = features.reset_index(drop=True).copy()
    problems = _Problems(frame)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add(missing, "missing_geometry", lambda i: "has no geometry.")
    invalid = ~missing & ~shapely.is_valid(geoms)
    problems.add(
        invalid,
        "invalid_geometry",
        lambda i: f"has an invalid geometry ({shapely.is_valid_reason(geoms[i])}).",
    )
    sub_class, parsed = _sub_classes(frame, catalogue, problems)
    kinds = shapely.get_type_id(geoms)
    type_names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ],
        dtype=object,
    )
    geom_type = np.where(kinds >= 0, type_names[np.clip(kinds, 0, 7)], None)
    expected = sub_class.map(
        lambda c: None if pd.isna(c) else getattr(catalogue.find("component", c), "geometry", None)
    )
    wrong = [
        isinstance(e, str) and not m and g not in GEOMETRY_TYPES.get(e, ())
        for e, g, m in zip(expected, geom_type, missing, strict=True)
    ]
    problems.add(
        np.array(wrong),
        "wrong_geometry_type",
        lambda i: (
            f"is a {geom_type[i]}, but subclass {sub_class.iat[i]} "
            f"({catalogue.name('component', sub_class.iat[i])}) is a {expected.iat[i]} component."
        ),
    )
    code = frame["code"]
    doubled = code.notna() & code.duplicated(keep=False)
    first = code.reset_index().groupby("code")["index"].transform("min")
    problems.add(
        doubled & (code.index != first.reindex(code.index)),
        "duplicate_code",
        lambda i: f"code '{code.iat[i]}' appears already at {problems.where(int(first.iat[i]))}.",
    )
    other_district = parsed.map(
        lambda p: p not in (None, "bad") and p.district_code != district_code
    )
    problems.add(
        other_district,
        "code_other_district",
        lambda i: (
            f"code '{code.iat[i]}' belongs to district {str(code.iat[i])[:6]}, not {district_code}."
        ),
    )
    if district is not None:
        inside = shapely.covered_by(geoms, shapely.buffer(district, 1e-6))
        problems.add(
            ~missing & ~invalid & ~inside,
            "outside_district",
            lambda i: "lies outside the district.",
        )
    status = frame["status"].map(
        lambda s: "intact" if pd.isna(s) or not s else status_code(LEGACY_STATES.get(s) or str(s))
    )
    problems.add(
        status.isna(),
        "unknown_status",
        lambda i: f"status '{frame['status'].iat[i]}' is not one of {LEGACY_STATES_HINT}.",
    )
    problems.raise_if_any(shown)
    frame["sub_class_recorded"] = frame["sub_class"].where(frame["sub_class"] != sub_class, None)
    frame["sub_class"] = sub_class
    frame["major_class"] = sub_class.str[:2]
    frame["status"] = status
    frame["name"] = frame["name"].where(
        frame["name"].notna(), sub_class.map(lambda c: catalogue.name("component", c))
    )
    return frame
