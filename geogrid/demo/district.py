"""A deterministic synthetic district for demos, tests and benchmarks (DOMAIN.md §1).

The district lies around 102.85°E 24.98°N (Kunming, 呈贡区, code 530114). It is drawn in the
CGCS2000 3-degree Gauss–Krüger zone with central meridian 102°E (EPSG:4543, metres) and
returned in EPSG:4326, the CRS geogrid stores.

How it is made:

1. A road network of slightly wobbly lines: main roads (主干道) every ``main_spacing_m``,
   secondary roads (次干道) every ``secondary_spacing_m``, alleys (巷道) every
   ``alley_spacing_m``, the outer roads forming the district boundary and a diagonal main road
   (环湖东路) cutting away the north-east corner.
2. Unit grids (单元网格) are the faces of the noded road lines (about 100 m × 100 m), slivers
   along the diagonal merged into a neighbour of the same community.
3. Communities (社区) are the faces between main and secondary roads; each grid belongs to the
   community holding its representative point, and a community's geometry is the union of its
   grids, so grids cover it exactly. Streets (街道) group communities along main roads; the
   district is the union of its streets.
4. Codes follow DOMAIN.md §1: streets ``530114`` + 001…, communities numbered inside their
   street, grids numbered inside their community west to east, north to south
   (:func:`geogrid.grids.rules.number_grids`).

Everything is drawn from ``numpy.random.default_rng(seed)``: one seed, one district.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geogrid.demo import names
from geogrid.errors import InvalidParameter
from geogrid.grids.rules import make_grid_code, number_grids, street_kind

PROJECTED_CRS = "EPSG:4543"
STORAGE_CRS = "EPSG:4326"
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
Progress = Callable[[str, float], None]

# The columns each table takes on insert, in table order (DOMAIN.md §1, migration 0001).
_KEY = ("district_code", "code", "version")
_VALIDITY = ("valid_from", "valid_to")
_CHANGE = (*_VALIDITY, "change_id")
COLUMNS: dict[str, tuple[str, ...]] = {
    "district": ("code", "name", "geom"),
    "streets": (*_KEY, "name", "kind", "geom", *_VALIDITY),
    "communities": (*_KEY, "street_code", "name", "geom", *_VALIDITY),
    "grids": (*_KEY, "community_code", "street_code", "grid_type", "name", "geom", *_CHANGE),
    "roads": ("district_code", "name", "road_class", "geom"),
}

_VERTEX_STEP_M = 25.0
_SLIVER_FRACTION = 0.4
_SMALL_COMMUNITY_FRACTION = 0.3


@dataclass(frozen=True)
class DemoSpec:
    """The size and layout of a synthetic district.

    Lengths are metres in the projected CRS. Width and height are multiples of the secondary
    spacing, which is a multiple of the alley spacing; the main spacing is a multiple of the
    secondary spacing. Fractions of the width and height place the corner cut, the rural
    outskirts (communities whose centre has ``u + v < rural_corner``, u and v running 0–1
    from the south-west corner) and the industrial zone (``umin, vmin, umax, vmax``).
    ``valid_from`` is the date the demo grids take effect: in the past, so that demo cases of
    earlier years find their grid.
    """

    name: str
    width_m: int
    height_m: int
    street_columns: int = 2
    street_rows: int = 2
    main_spacing_m: int = 1000
    secondary_spacing_m: int = 500
    alley_spacing_m: int = 100
    corner_cut: float = 0.25
    wobble_m: float = 6.0
    rural_corner: float = 0.45
    industrial_zone: tuple[float, float, float, float] = (0.65, 0.0, 1.0, 0.35)
    district_code: str = "530114"
    district_name: str = "呈贡区"
    centre_lonlat: tuple[float, float] = (102.85, 24.98)
    valid_from: datetime = datetime(2019, 1, 1, tzinfo=CHINA_STANDARD_TIME)


SCALES: dict[str, DemoSpec] = {
    "small": DemoSpec("small", 2500, 2000, street_columns=2, street_rows=2),
    "city": DemoSpec("city", 10000, 10500, street_columns=4, street_rows=3),
}


@dataclass
class DemoDistrict:
    """A built demo district: one GeoDataFrame per table, geometry column ``geom``, EPSG:4326.

    The frames hold exactly the columns geogrid's tables take on insert (generated columns,
    identities and ``created_at`` left to the database); polygons are MultiPolygons.
    """

    spec: DemoSpec
    seed: int
    district: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame

    @property
    def counts(self) -> dict[str, int]:
        """Rows per table, as :func:`geogrid.demo.load.load_demo` reports them."""
        return {
            "districts": len(self.district),
            "streets": len(self.streets),
            "communities": len(self.communities),
            "grids": len(self.grids),
            "roads": len(self.roads),
        }


@dataclass(frozen=True)
class _Road:
    name: str
    road_class: str
    line: LineString
    boundary: bool = False


def build_district(
    scale: str | DemoSpec, seed: int = 0, progress: Progress | None = None
) -> DemoDistrict:
    """Build a synthetic district, without touching a database.

    Parameters
    ----------
    scale : str or DemoSpec
        ``"small"`` (about 500 grids), ``"city"`` (about 10,000 grids) or a custom spec.
    seed : int
        Seed of every random choice (road wobble, names); the same seed gives the same district.
    progress : callable, optional
        Called as ``progress(stage, fraction)`` with fraction 0–1 of the build done.

    Returns
    -------
    DemoDistrict
        District, streets, communities, grids and roads in EPSG:4326 (DOMAIN.md §1 codes).

    Raises
    ------
    InvalidParameter
        For an unknown scale name or an inconsistent spec.
    """
    spec = _resolve(scale)
    report = progress or (lambda stage, fraction: None)
    rng = np.random.default_rng(seed)

    report("roads", 0.0)
    roads = _road_network(spec, rng)
    kept = _kept_region(roads)

    report("grids", 0.05)
    grid_faces = _faces([r.line for r in roads], kept)
    report("communities", 0.15)
    community_faces = _faces([r.line for r in roads if r.road_class != "alley"], kept)
    community_faces, _ = _absorb(
        community_faces, _SMALL_COMMUNITY_FRACTION * spec.secondary_spacing_m**2
    )
    grid_points = shapely.point_on_surface(grid_faces)
    owner = np.full(len(grid_faces), -1)
    hits = shapely.STRtree(community_faces).query(grid_points, predicate="within")
    owner[hits[0]] = hits[1]
    if (owner < 0).any():
        raise AssertionError("a demo grid fell outside every community")
    grid_faces, grown_from = _absorb(grid_faces, _SLIVER_FRACTION * spec.alley_spacing_m**2, owner)
    owner = owner[grown_from]

    report("codes", 0.2)
    tables = _tables(spec, rng, grid_faces, owner)
    roads_out = _clip_roads(roads, tables["district"][0]["geom"])

    report("projecting", 0.7)
    frames = _frames(spec, tables, roads_out)
    report("done", 1.0)
    return DemoDistrict(spec=spec, seed=seed, **frames)


def _resolve(scale: str | DemoSpec) -> DemoSpec:
    if isinstance(scale, DemoSpec):
        spec = scale
    elif scale in SCALES:
        spec = SCALES[scale]
    else:
        raise InvalidParameter(
            f"Unknown demo scale {scale!r}; use one of {', '.join(SCALES)} or a DemoSpec."
        )
    _validate(spec)
    return spec


def _validate(spec: DemoSpec) -> None:
    problems = []
    alley, sec, main = spec.alley_spacing_m, spec.secondary_spacing_m, spec.main_spacing_m
    if min(alley, sec, main, spec.width_m, spec.height_m) <= 0:
        problems.append("sizes and spacings must be positive")
    elif sec % alley or main % sec or spec.width_m % sec or spec.height_m % sec:
        problems.append(
            "the secondary spacing must be a multiple of the alley spacing, and the main "
            "spacing, width and height multiples of the secondary spacing"
        )
    if re.fullmatch(r"[0-9]{6}", spec.district_code) is None:
        problems.append(f"district_code {spec.district_code!r} is not 6 digits")
    if not 0 <= spec.wobble_m <= alley / 8:
        problems.append(f"wobble_m must be between 0 and {alley / 8:g} m")
    if not 0 <= spec.corner_cut <= 0.5:
        problems.append("corner_cut must be between 0 and 0.5")
    if spec.street_columns < 1 or spec.street_rows < 1:
        problems.append("street_columns and street_rows must be at least 1")
    elif spec.street_columns > spec.width_m // max(sec, 1) or (
        spec.street_rows > spec.height_m // max(sec, 1)
    ):
        problems.append("there are more street columns or rows than community blocks")
    if problems:
        raise InvalidParameter(f"Demo spec {spec.name!r} is inconsistent: {'; '.join(problems)}.")


def _wobble(
    t: np.ndarray, amplitude: float, wavelength: float, rng: np.random.Generator
) -> np.ndarray:
    """Lateral offset along a road: two gentle sine waves and jitter, |offset| ≤ amplitude."""
    phase = rng.uniform(0, 2 * np.pi, 2)
    waves = 0.6 * np.sin(2 * np.pi * t / wavelength + phase[0])
    waves += 0.25 * np.sin(2 * np.pi * t / (wavelength / 3.7) + phase[1])
    jitter = rng.uniform(-0.15, 0.15, t.size)
    return amplitude * (waves + jitter)


def _road_network(spec: DemoSpec, rng: np.random.Generator) -> list[_Road]:
    """Vertical then horizontal roads (local metres, origin at the south-west corner)."""
    alley = spec.alley_spacing_m
    margin = 3 * spec.wobble_m + 10
    shape = {"main": (1.0, 2500.0), "secondary": (0.8, 1500.0), "alley": (0.6, 700.0)}
    axes = []
    for length, across in ((spec.height_m, spec.width_m), (spec.width_m, spec.height_m)):
        ks = range(across // alley + 1)
        axes.append((length, [(k, _road_class(spec, k, across // alley)) for k in ks]))
    across_last = {True: spec.width_m // alley, False: spec.height_m // alley}
    majors = sum(1 for _, ks in axes for _, c in ks if c != "alley")
    stems = iter(names.road_stems(majors, rng))

    roads: list[_Road] = []
    for vertical, (length, lines) in zip((True, False), axes, strict=True):
        t = np.arange(-margin, length + margin + _VERTEX_STEP_M, _VERTEX_STEP_M)
        t[-1] = length + margin
        order = lines if vertical else lines[::-1]
        parent, parent_k = "", 0
        for k, road_class in order:
            if road_class == "alley":
                name = names.alley_name(parent, abs(k - parent_k))
            else:
                parent, parent_k = next(stems), k
                name = names.road_name(parent, road_class, rng)
            factor, wavelength = shape[road_class]
            offset = k * alley + _wobble(
                t, factor * spec.wobble_m, wavelength * rng.uniform(0.7, 1.4), rng
            )
            xy = np.column_stack((offset, t) if vertical else (t, offset))
            boundary = k in (0, across_last[vertical])
            roads.append(_Road(name, road_class, LineString(xy), boundary))
    if spec.corner_cut > 0:
        roads.append(_diagonal(spec, rng, margin))
    return roads


def _road_class(spec: DemoSpec, k: int, last: int) -> str:
    position = k * spec.alley_spacing_m
    if k in (0, last) or position % spec.main_spacing_m == 0:
        return "main"
    return "secondary" if position % spec.secondary_spacing_m == 0 else "alley"


def _diagonal(spec: DemoSpec, rng: np.random.Generator, margin: float) -> _Road:
    """The main road cutting the north-east corner; it runs a little past the outer roads."""
    w, h, c = spec.width_m, spec.height_m, spec.corner_cut
    start, end = np.array([w * (1 - c), h]), np.array([w, h * (1 - c)])
    along = (end - start) / np.linalg.norm(end - start)
    normal = np.array([along[1], -along[0]])
    length = float(np.linalg.norm(end - start)) + 4 * margin
    t = np.linspace(0, length, max(int(length / _VERTEX_STEP_M), 2) + 1)
    offset = _wobble(t, spec.wobble_m, 2500.0, rng)
    xy = (start - 2 * margin * along) + np.outer(t, along) + np.outer(offset, normal)
    return _Road(names.EDGE_ROAD_NAME, "main", LineString(xy), boundary=True)


def _kept_region(roads: list[_Road]) -> Polygon:
    """The district's area: inside the outer roads and south-west of the diagonal."""
    outer = [r.line for r in roads if r.boundary]
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(outer))))
    return faces[int(np.argmax(shapely.area(faces)))]


def _faces(lines: list[LineString], kept: Polygon) -> np.ndarray:
    """The faces of the noded lines whose representative point lies in the district."""
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inside = shapely.contains_xy(kept, shapely.get_coordinates(shapely.point_on_surface(faces)))
    faces = faces[inside]
    points = shapely.get_coordinates(shapely.point_on_surface(faces))
    order = np.lexsort((points[:, 0], -points[:, 1]))
    return faces[order]


def _absorb(
    faces: np.ndarray, min_area: float, label: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Merge each face smaller than ``min_area`` into the neighbour sharing its longest border.

    With ``label``, only into a neighbour with the same label (a grid stays in its community).
    Returns the merged faces and, for each, the index in ``faces`` of the face it grew from.
    """
    current: list[BaseGeometry | None] = list(faces)
    root = np.arange(len(faces))
    areas = shapely.area(faces)
    tree = shapely.STRtree(faces)
    for i in np.argsort(areas, kind="stable"):
        if areas[i] >= min_area:
            break
        geom = current[i]
        if geom is None or geom.area >= min_area:
            continue
        best, best_length = -1, 0.01
        for j in sorted({int(root[n]) for n in tree.query(geom)} - {int(i)}):
            other = current[j]
            if other is None or (label is not None and label[j] != label[i]):
                continue
            shared = float(shapely.length(shapely.intersection(geom.boundary, other.boundary)))
            if shared > best_length:
                best, best_length = j, shared
        if best >= 0:
            current[best] = shapely.union(current[best], geom)
            current[i] = None
            root[root == i] = best
    kept = np.array([g is not None for g in current])
    return np.array([g for g in current if g is not None], dtype=object), np.flatnonzero(kept)


def _splits(blocks: int, parts: int, every: int) -> list[int]:
    """Block indices where ``parts`` groups of ``blocks`` begin, on main roads when possible.

    ``every`` is the number of community blocks between main roads.
    """
    starts = [0]
    for k in range(1, parts):
        low, high = starts[-1] + 1, blocks - (parts - k)
        target = k * blocks / parts
        on_main = [b for b in range(low, high + 1) if b % every == 0]
        options = on_main or list(range(low, high + 1))
        starts.append(min(options, key=lambda b: (abs(b - target), b)))
    return starts


def _tables(
    spec: DemoSpec,
    rng: np.random.Generator,
    grid_faces: np.ndarray,
    owner: np.ndarray,
) -> dict[str, list[dict[str, object]]]:
    """Rows (local metres) of streets, communities and grids with their codes and names."""
    sec, alley = spec.secondary_spacing_m, spec.alley_spacing_m
    members = [np.flatnonzero(owner == c) for c in range(int(owner.max()) + 1)]
    members = [m for m in members if m.size]
    community_geoms = [shapely.union_all(grid_faces[m]) for m in members]
    points = shapely.get_coordinates(shapely.point_on_surface(community_geoms))
    columns, rows = spec.width_m // sec, spec.height_m // sec
    col_index = np.clip((points[:, 0] // sec).astype(int), 0, columns - 1)
    row_index = np.clip((points[:, 1] // sec).astype(int), 0, rows - 1)
    every = spec.main_spacing_m // sec
    col_starts = _splits(columns, spec.street_columns, every)
    row_starts = _splits(rows, spec.street_rows, every)
    street_col = np.searchsorted(col_starts, col_index, side="right") - 1
    street_row = spec.street_rows - np.searchsorted(row_starts, row_index, side="right")
    cells = sorted({(int(r), int(c)) for r, c in zip(street_row, street_col, strict=True)})
    if len(cells) > 99:
        raise InvalidParameter(f"Demo spec {spec.name!r} has {len(cells)} streets; at most 99.")
    street_names = names.street_names(len(cells), rng)
    community_names = iter(names.community_names(len(members), rng))

    streets: list[dict[str, object]] = []
    communities: list[dict[str, object]] = []
    grids: list[dict[str, object]] = []
    for s, cell in enumerate(cells):
        street_code = f"{spec.district_code}{s + 1:03d}"
        ours = np.flatnonzero((street_row == cell[0]) & (street_col == cell[1]))
        numbers = number_grids([(x, y) for x, y in points[ours]], row_tolerance=sec / 2)
        street_geoms = []
        for k, c in enumerate(ours[np.argsort(numbers)], start=1):
            community_code = f"{street_code}{k:03d}"
            community_name = next(community_names)
            u = (col_index[c] + 0.5) * sec / spec.width_m
            v = (row_index[c] + 0.5) * sec / spec.height_m
            grids += _grid_rows(
                grid_faces[members[c]],
                community_code,
                community_name,
                _grid_type(spec, u, v),
                row_tolerance=alley / 2,
            )
            communities.append(
                {
                    "code": community_code,
                    "street_code": street_code,
                    "name": community_name,
                    "geom": community_geoms[c],
                }
            )
            street_geoms.append(community_geoms[c])
        streets.append(
            {
                "code": street_code,
                "name": street_names[s],
                "kind": street_kind(street_code),
                "geom": shapely.union_all(street_geoms),
            }
        )
    district = shapely.union_all([x["geom"] for x in streets])
    return {
        "district": [{"code": spec.district_code, "name": spec.district_name, "geom": district}],
        "streets": streets,
        "communities": communities,
        "grids": grids,
    }


def _grid_type(spec: DemoSpec, u: float, v: float) -> str:
    """'rural' in the south-west outskirts, 'industrial' in the zone, 'city' elsewhere."""
    umin, vmin, umax, vmax = spec.industrial_zone
    if umin <= u <= umax and vmin <= v <= vmax:
        return "industrial"
    return "rural" if u + v < spec.rural_corner else "city"


def _grid_rows(
    faces: np.ndarray,
    community_code: str,
    community_name: str,
    grid_type: str,
    *,
    row_tolerance: float,
) -> list[dict[str, object]]:
    """The grids of one community, numbered west to east, north to south (DOMAIN.md §1)."""
    points = shapely.get_coordinates(shapely.point_on_surface(faces))
    numbers = number_grids([(x, y) for x, y in points], row_tolerance=row_tolerance)
    return [
        {
            "code": make_grid_code(community_code, n),
            "community_code": community_code,
            "street_code": community_code[:9],
            "grid_type": grid_type,
            "name": names.grid_name(community_name, n),
            "geom": faces[i],
        }
        for i, n in sorted(enumerate(numbers), key=lambda item: item[1])
    ]


def _clip_roads(roads: list[_Road], district: BaseGeometry) -> list[dict[str, object]]:
    """The roads inside the district (0.5 m of slack keeps the boundary roads whole)."""
    area = shapely.buffer(district, 0.5)
    rows: list[dict[str, object]] = []
    for road in roads:
        for part in shapely.get_parts(shapely.line_merge(shapely.intersection(road.line, area))):
            if isinstance(part, LineString) and part.length >= 1.0:
                rows.append({"name": road.name, "road_class": road.road_class, "geom": part})
    return rows


def _frames(
    spec: DemoSpec, tables: dict[str, list[dict[str, object]]], roads: list[dict[str, object]]
) -> dict[str, gpd.GeoDataFrame]:
    """GeoDataFrames in EPSG:4326 with the columns of geogrid's tables."""
    to_projected = Transformer.from_crs(STORAGE_CRS, PROJECTED_CRS, always_xy=True)
    east, north = to_projected.transform(*spec.centre_lonlat)
    shift = np.array([round(east) - spec.width_m / 2, round(north) - spec.height_m / 2])
    versioned = {"version": 1, "valid_from": pd.Timestamp(spec.valid_from), "valid_to": None}
    frames: dict[str, gpd.GeoDataFrame] = {}
    for table, rows in (*tables.items(), ("roads", roads)):
        frame = pd.DataFrame(rows)
        geoms = shapely.transform(np.asarray(frame.pop("geom"), dtype=object), lambda c: c + shift)
        if table != "roads":
            geoms = np.array([_multi(g) for g in geoms], dtype=object)
        for name, value in {
            "district_code": spec.district_code,
            "change_id": None,
            **versioned,
        }.items():
            if name in COLUMNS[table]:
                frame[name] = [value] * len(frame)
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=PROJECTED_CRS))
        frame = frame.rename_geometry("geom").to_crs(STORAGE_CRS)
        frames[table] = frame[list(COLUMNS[table])].reset_index(drop=True)
    return frames


def _multi(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    raise AssertionError(f"a demo area is a {geom.geom_type}, not a polygon")
