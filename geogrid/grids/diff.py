"""What a grid-boundary update changes: old unit grids against new ones (DOMAIN.md §1b).

Each year a district redraws part of its unit grids (单元网格) and must send a plan saying what
changes. Here the current grids of the communities concerned are compared with the uploaded ones
by shape, not by code alone, and every change is given a kind:

============  =========================================================================
kind          meaning
============  =========================================================================
unchanged     1 old ↔ 1 new, same code, IoU ≥ ``iou_unchanged`` (未变)
reshaped      1 old ↔ 1 new, IoU < ``iou_unchanged`` (调整边界); also when the code changed
              too: both codes are recorded, and the shape change is what a reviewer must see
recoded       1 old ↔ 1 new, other code, IoU ≥ ``iou_unchanged`` (重新编码)
added         a new grid overlapping no old grid (新增)
removed       an old grid overlapping no new grid (删除)
split         1 old → n ≥ 2 new grids that share its area (拆分)
merged        n ≥ 2 old → 1 new grid (合并)
redrawn       m ≥ 2 old ↔ n ≥ 2 new grids linked in one group, neither a split nor a merge
              (重新划分): e.g. two strips redrawn as three. A group whose codes match one to
              one, each pair keeping an IoU ≥ 0.5 (a shared boundary moved), is instead one
              ``reshaped`` change per grid
============  =========================================================================

Matching: an old grid and a new grid are *linked* when their intersection is larger than
``tolerance_m2`` and than ``min_share`` of the smaller of the two grids; slivers from redigitising
the same line (a few square metres) therefore never link. The connected components of the
bipartite link graph are the changes: their sizes (old:new = 1:1, 1:n, n:1, m:n, 1:0, 0:1) give
the kind. Areas are computed in metres in a local transverse Mercator projection centred on the
data (:func:`geogrid.crs.local_metric_crs`), never in degrees.

Pure: GeoDataFrames and shapely in, dataclasses and GeoJSON dicts out; no database.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from shapely import STRtree
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geogrid.crs import local_metric_crs
from geogrid.errors import CRSMismatch, InvalidParameter, Problem, ValidationFailed

Kind = Literal["added", "removed", "reshaped", "split", "merged", "recoded", "redrawn", "unchanged"]
"""Kind of a change; see the module docstring."""

KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
"""Every kind, in the order tables and legends list them (changes first, ``unchanged`` last)."""

KIND_LABELS: Final[dict[Kind, str]] = {
    "added": "新增",
    "removed": "删除",
    "reshaped": "调整边界",
    "split": "拆分",
    "merged": "合并",
    "recoded": "重新编码",
    "redrawn": "重新划分",
    "unchanged": "未变",
}
"""The Chinese name of each kind, as plans and map pages show it."""

OUTLINED_KINDS: Final[frozenset[Kind]] = frozenset({"reshaped", "split", "merged", "redrawn"})
"""Kinds whose old outline differs from the new shape and is drawn beside it."""

Level = Literal["street", "community"]

_POLYGON_TYPE_IDS: Final = (3, 6)
"""shapely type ids of Polygon and MultiPolygon."""

_LONLAT: Final = (CRS.from_epsg(4326), CRS.from_epsg(4490))
"""WGS84 and CGCS2000 agree within centimetres at city scale (DOMAIN.md §1): both accepted."""


@dataclass(frozen=True)
class GridChange:
    """One change of a grid update: a connected group of linked old and new grids.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    old_codes, new_codes : tuple of str
        Codes of the old (current) and new (uploaded) grids of the change, sorted; one side is
        empty for ``added`` and ``removed``.
    iou : float or None
        Intersection over union of the old grids' area and the new grids' area (1.0 for an
        exact split or merge); None for ``added`` and ``removed``.
    street_code, community_code : str
        Where the change lies: taken from the new grids (the old ones for ``removed``); when
        they span several communities, from the grid with the largest area.
    old_area_m2, new_area_m2 : float or None
        Total area in square metres of the old and of the new grids; None for a side with no
        grid.
    """

    kind: Kind
    old_codes: tuple[str, ...]
    new_codes: tuple[str, ...]
    iou: float | None
    street_code: str
    community_code: str
    old_area_m2: float | None
    new_area_m2: float | None


@dataclass
class GridDiff:
    """Every change between the old and the new grids of the communities concerned."""

    changes: list[GridChange]

    def counts(self) -> dict[Kind, int]:
        """Number of changes of each kind, every kind present (0 when none), in :data:`KINDS`
        order."""
        found = Counter(change.kind for change in self.changes)
        return {kind: found[kind] for kind in KINDS}

    def counts_by(self, level: Level) -> dict[str, dict[Kind, int]]:
        """Number of changes of each kind per street or per community.

        Parameters
        ----------
        level : {"street", "community"}
            Group by the change's ``street_code`` or ``community_code``.

        Returns
        -------
        dict
            Code → {kind → count} with every kind present (0 when none), codes in order.

        Raises
        ------
        InvalidParameter
            For another level.
        """
        if level not in get_args(Level):
            raise InvalidParameter(
                f"Cannot count grid changes by {level!r}; use 'street' or 'community'."
            )
        per_code: dict[str, Counter[str]] = {}
        for change in self.changes:
            code = change.street_code if level == "street" else change.community_code
            per_code.setdefault(code, Counter())[change.kind] += 1
        return {code: {kind: per_code[code][kind] for kind in KINDS} for code in sorted(per_code)}


@dataclass(frozen=True)
class _Side:
    """One side of the comparison, geometries in metres."""

    codes: list[str]
    communities: list[str]
    streets: list[str]
    metric: npt.NDArray[np.object_]
    areas: npt.NDArray[np.float64]
    bounds: npt.NDArray[np.float64]


def _check_frame(frame: gpd.GeoDataFrame, side: str, problems: list[Problem]) -> None:
    """Append the problems of one input frame to ``problems``."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidParameter(f"The {side} grids must be a GeoDataFrame, not {type(frame)}.")
    if frame.crs is not None and not any(
        frame.crs.equals(lonlat, ignore_axis_order=True) for lonlat in _LONLAT
    ):
        raise CRSMismatch(
            f"The {side} grids are in {frame.crs.name}; grid changes are computed from "
            "EPSG:4326 (or CGCS2000, EPSG:4490) longitudes and latitudes."
        )
    if "code" not in frame.columns:
        problems.append(Problem(side, "missing_column", f"The {side} grids have no column code."))
        return
    try:
        geometries = frame.geometry.to_numpy()
    except AttributeError:
        problems.append(Problem(side, "missing_column", f"The {side} grids have no geometry."))
        return
    valid = shapely.is_valid(geometries)
    polygonal = np.isin(shapely.get_type_id(geometries), _POLYGON_TYPE_IDS)
    empty = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    seen: set[str] = set()
    for i, code in enumerate(frame["code"].tolist()):
        where = f"{side} grid {i} ({code})"
        if not isinstance(code, str) or not code:
            problems.append(Problem(where, "code_not_text", "A grid code must be non-empty text."))
        elif code in seen:
            problems.append(
                Problem(where, "duplicate_code", f"Grid code {code} appears more than once.")
            )
        seen.add(str(code))
        if valid[i] and polygonal[i] and not empty[i]:
            continue
        geometry = geometries[i]
        if empty[i]:
            problems.append(Problem(where, "no_geometry", "The grid has no geometry."))
        elif not polygonal[i]:
            problems.append(
                Problem(where, "not_polygon", f"A grid is a polygon, not a {geometry.geom_type}.")
            )
        else:
            reason = shapely.is_valid_reason(geometry)
            problems.append(Problem(where, "invalid_geometry", f"Invalid polygon: {reason}."))


def _column(frame: gpd.GeoDataFrame, name: str, digits: int) -> list[str]:
    """A code column as text, or the codes' first ``digits`` digits when it is absent."""
    if name in frame.columns:
        return frame[name].astype(str).tolist()
    return [code[:digits] for code in frame["code"].tolist()]


def _side(frame: gpd.GeoDataFrame, metric_crs: CRS) -> _Side:
    metric = frame.geometry.set_crs(4326, allow_override=True).to_crs(metric_crs).to_numpy()
    return _Side(
        codes=frame["code"].tolist(),
        communities=_column(frame, "community_code", 12),
        streets=_column(frame, "street_code", 9),
        metric=metric,
        areas=shapely.area(metric).astype(np.float64),
        bounds=shapely.bounds(metric).astype(np.float64),
    )


def _box_overlap(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Area of the overlap of bounding boxes given as rows (xmin, ymin, xmax, ymax)."""
    width = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    height = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    return np.clip(width, 0, None) * np.clip(height, 0, None)


def _shared_area(a: npt.NDArray[np.object_], b: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """Area of the intersection of each pair ``a[k]``, ``b[k]`` (metres in, m² out)."""
    return shapely.area(shapely.intersection(a, b)).astype(np.float64)


def _components(n_nodes: int, edges: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Root node of each node's connected component (union-find with path halving)."""
    parent = list(range(n_nodes))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges.tolist():
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return np.array([find(node) for node in range(n_nodes)], dtype=np.int64)


def _kind(
    old: Sequence[int], new: Sequence[int], same_code: bool, iou: float | None, limit: float
) -> Kind:
    if not new:
        return "removed"
    if not old or iou is None:
        return "added"
    if len(old) == 1 and len(new) == 1:
        if iou < limit:
            return "reshaped"
        return "unchanged" if same_code else "recoded"
    if len(old) == 1:
        return "split"
    if len(new) == 1:
        return "merged"
    return "redrawn"


RESHAPE_MIN_IOU = 0.5
"""Smallest IoU of a same-code pair in a tangle that still makes it one grid reshaped."""


def _same_code_pairs(
    olds: Sequence[int], news: Sequence[int], before: _Side, after: _Side
) -> list[tuple[int, int, float]] | None:
    """Pair a tangle's grids by code when each keeps most of its shape (a moved boundary).

    Two neighbours whose shared boundary moves are linked to each other's new shape; when the
    codes match one to one and every pair keeps an IoU of at least ``RESHAPE_MIN_IOU``, they
    are reshaped grids, not a redrawn area. Returns None otherwise.
    """
    by_code = {after.codes[j]: j for j in news}
    pairs = []
    for i in olds:
        j = by_code[before.codes[i]]
        a, b = before.metric[i], after.metric[j]
        common = float(shapely.area(shapely.intersection(a, b)))
        pair_iou = common / (before.areas[i] + after.areas[j] - common)
        if pair_iou < RESHAPE_MIN_IOU:
            return None
        pairs.append((i, j, min(1.0, float(pair_iou))))
    return pairs


def _pair_change(
    i: int, j: int, iou: float, before: _Side, after: _Side, iou_unchanged: float
) -> GridChange:
    return GridChange(
        kind="unchanged" if iou >= iou_unchanged else "reshaped",
        old_codes=(before.codes[i],),
        new_codes=(after.codes[j],),
        iou=iou,
        street_code=after.streets[j],
        community_code=after.communities[j],
        old_area_m2=float(before.areas[i]),
        new_area_m2=float(after.areas[j]),
    )


def _largest(indices: Sequence[int], side: _Side) -> int:
    """The grid of ``indices`` with the largest area (the lowest code among equals)."""
    return min(indices, key=lambda i: (-side.areas[i], side.codes[i]))


def classify_changes(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    iou_unchanged: float = 0.99,
    min_share: float = 0.05,
    tolerance_m2: float = 1.0,
) -> GridDiff:
    """Compare the current unit grids of some communities with uploaded ones (DOMAIN.md §1b).

    See the module docstring for the kinds. Candidate pairs come from an STRtree, so the cost
    grows with the number of grids, not with its square (10,000 against 10,000 in seconds).
    Grids of one side are assumed not to overlap each other (DOMAIN.md §1), so the area shared
    by a change's old and new grids is the sum of their pairwise intersections.

    Parameters
    ----------
    old : GeoDataFrame
        The current grids of the communities concerned, EPSG:4326 (or EPSG:4490; None is taken
        as EPSG:4326); columns ``code, community_code, street_code, geometry`` (polygons).
    new : GeoDataFrame
        The uploaded grids, same columns; a missing ``street_code`` is taken as ``code[:9]``
        (and a missing ``community_code`` as ``code[:12]``).
    iou_unchanged : float
        Intersection over union, in (0, 1], from which a 1:1 pair counts as the same shape.
    min_share : float
        Share, in [0, 1], of the smaller grid that an intersection must exceed to link a pair.
    tolerance_m2 : float
        Square metres an intersection must exceed to link a pair.

    Returns
    -------
    GridDiff
        One change per connected group of grids (unchanged grids included), sorted by street,
        community and the lowest code of the change.

    Raises
    ------
    InvalidParameter
        If a threshold is out of range or an input is not a GeoDataFrame.
    CRSMismatch
        If an input is in a projected or other CRS.
    ValidationFailed
        If a grid has no code, a duplicate code, or no valid polygon (every problem listed).
    """
    if not 0 < iou_unchanged <= 1:
        raise InvalidParameter(f"iou_unchanged must be in (0, 1], not {iou_unchanged!r}.")
    if not 0 <= min_share <= 1:
        raise InvalidParameter(f"min_share must be in [0, 1], not {min_share!r}.")
    if not tolerance_m2 >= 0:
        raise InvalidParameter(f"tolerance_m2 must be >= 0 square metres, not {tolerance_m2!r}.")
    problems: list[Problem] = []
    _check_frame(old, "old", problems)
    _check_frame(new, "new", problems)
    if problems:
        raise ValidationFailed(
            f"The grids cannot be compared: {len(problems)} problem(s).", problems
        )
    if len(old) + len(new) == 0:
        return GridDiff([])

    west, south, east, north = shapely.total_bounds(
        np.concatenate([old.geometry.to_numpy(), new.geometry.to_numpy()])
    )
    metric_crs = local_metric_crs((west + east) / 2, (south + north) / 2)
    before, after = _side(old, metric_crs), _side(new, metric_crs)
    n_old = len(before.codes)

    i_old, j_new = STRtree(after.metric).query(before.metric)
    smaller = np.minimum(before.areas[i_old], after.areas[j_new])
    needed = np.maximum(tolerance_m2, min_share * smaller)
    # Two grids overlap no more than their bounding boxes do: pairs whose boxes overlap too
    # little to link are intersected only if they end up in the same change (for its IoU).
    shared = np.zeros(len(i_old))
    maybe = _box_overlap(before.bounds[i_old], after.bounds[j_new]) > needed
    shared[maybe] = _shared_area(before.metric[i_old[maybe]], after.metric[j_new[maybe]])
    linked = shared > needed
    edges = np.stack([i_old[linked], n_old + j_new[linked]], axis=1).astype(np.int64)
    n_nodes = n_old + len(after.codes)
    roots = _components(n_nodes, edges)
    inside = roots[i_old] == roots[n_old + j_new]
    late = inside & ~maybe
    shared[late] = _shared_area(before.metric[i_old[late]], after.metric[j_new[late]])
    shared_by_root = np.bincount(
        roots[i_old[inside]], weights=shared[inside], minlength=n_nodes
    ).tolist()

    members: dict[int, tuple[list[int], list[int]]] = {}
    for node, root in enumerate(roots.tolist()):
        group = members.setdefault(root, ([], []))
        if node < n_old:
            group[0].append(node)
        else:
            group[1].append(node - n_old)

    changes = []
    for root, (olds, news) in members.items():
        old_area = float(before.areas[olds].sum()) if olds else None
        new_area = float(after.areas[news].sum()) if news else None
        iou: float | None = None
        if old_area is not None and new_area is not None:
            common = float(shared_by_root[root])
            iou = min(1.0, common / (old_area + new_area - common))
        old_codes = tuple(sorted(before.codes[i] for i in olds))
        new_codes = tuple(sorted(after.codes[j] for j in news))
        kind = _kind(olds, news, old_codes == new_codes, iou, iou_unchanged)
        if kind == "redrawn" and old_codes == new_codes:
            pairs = _same_code_pairs(olds, news, before, after)
            if pairs is not None:
                changes += [
                    _pair_change(i, j, pair_iou, before, after, iou_unchanged)
                    for i, j, pair_iou in pairs
                ]
                continue
        side, where = (after, _largest(news, after)) if news else (before, _largest(olds, before))
        changes.append(
            GridChange(
                kind=kind,
                old_codes=old_codes,
                new_codes=new_codes,
                iou=iou,
                street_code=side.streets[where],
                community_code=side.communities[where],
                old_area_m2=old_area,
                new_area_m2=new_area,
            )
        )
    changes.sort(key=lambda c: (c.street_code, c.community_code, min(c.old_codes + c.new_codes)))
    return GridDiff(changes)


def _geometries(frame: gpd.GeoDataFrame) -> dict[str, BaseGeometry]:
    return dict(zip((str(code) for code in frame["code"]), frame.geometry, strict=True))


def _grids_geometry(codes: Sequence[str], geometries: dict[str, BaseGeometry]) -> dict[str, Any]:
    """GeoJSON geometry of some grids: the polygon of one, a multipolygon of several.

    The grids are not dissolved, so the lines between them stay visible; their polygons share
    edges, which makes the multipolygon a set of grids rather than an OGC-valid area
    (``shapely.unary_union`` gives that).
    """
    missing = [code for code in codes if code not in geometries]
    if missing:
        raise ValueError(f"No geometry for grid(s) {', '.join(missing)}: pass the diff's inputs.")
    if len(codes) == 1:
        geometry = geometries[codes[0]]
    else:
        parts: list[Polygon] = []
        for code in codes:
            part = geometries[code]
            parts.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
        geometry = MultiPolygon(parts)
    result: dict[str, Any] = json.loads(shapely.to_geojson(geometry))
    return result


def changes_to_geojson(
    diff: GridDiff, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame
) -> dict[str, Any]:
    """The changes of a grid update as a GeoJSON FeatureCollection, for maps and the API.

    One feature per change (``role: "change"``) with the new grids' geometry, or the old one
    for ``removed``; for ``reshaped``, ``split``, ``merged`` and ``redrawn`` a second feature
    (``role: "old"``) with the old grids' geometry and the same properties. Several grids make
    a MultiPolygon whose parts are the grids (not dissolved), so split and merge lines show.

    Parameters
    ----------
    diff : GridDiff
        The result of :func:`classify_changes` on ``old`` and ``new``.
    old, new : GeoDataFrame
        The same inputs, EPSG:4326.

    Returns
    -------
    dict
        FeatureCollection, EPSG:4326; properties ``kind, old_codes, new_codes`` (lists),
        ``iou`` (4 decimals or None), ``street_code, community_code``, ``old_area_m2,
        new_area_m2`` (m², 2 decimals, or None) and ``role``.

    Raises
    ------
    ValueError
        If a code of the diff has no grid in ``old`` or ``new``.
    """
    old_geometries, new_geometries = _geometries(old), _geometries(new)
    features = []
    for change in diff.changes:
        properties = {
            "kind": change.kind,
            "old_codes": list(change.old_codes),
            "new_codes": list(change.new_codes),
            "iou": None if change.iou is None else round(change.iou, 4),
            "street_code": change.street_code,
            "community_code": change.community_code,
            "old_area_m2": None if change.old_area_m2 is None else round(change.old_area_m2, 2),
            "new_area_m2": None if change.new_area_m2 is None else round(change.new_area_m2, 2),
        }
        if change.new_codes:
            geometry = _grids_geometry(change.new_codes, new_geometries)
        else:
            geometry = _grids_geometry(change.old_codes, old_geometries)
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {**properties, "role": "change"},
            }
        )
        if change.kind in OUTLINED_KINDS:
            outline = _grids_geometry(change.old_codes, old_geometries)
            features.append(
                {
                    "type": "Feature",
                    "geometry": outline,
                    "properties": {**properties, "role": "old"},
                }
            )
    return {"type": "FeatureCollection", "features": features}
