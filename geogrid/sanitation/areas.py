"""Cleaning areas (保洁责任区) and their road segments: validation, storage, listing.

An area is a company's polygon with its service level (sweeps a day on main roads, secondary
roads and alleys). Its road segments come from the district's road network
(:func:`segments_from_roads`) or from an uploaded line file (:func:`import_segments`); both cut
the lines between crossings (:func:`geogrid.sanitation.segments.split_roads`) and give each
piece to the area holding its midpoint. Storing the segments of an area replaces all of them.
Every upload is validated whole first: a refusal names each bad feature and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from geogrid.errors import Problem, ValidationFailed
from geogrid.io.read import read_layers
from geogrid.patrol.coverage import metric_transformer
from geogrid.sanitation.fleet import ID_PATTERN, company_ids, district_code
from geogrid.sanitation.rules import ROAD_CLASS_ALIASES, ROAD_CLASSES
from geogrid.sanitation.segments import (
    MAX_LENGTH_M,
    SPLIT_CLASSES,
    assign_areas,
    segment_ids,
    split_roads,
)

MAX_SWEEPS = 20
OVERLAP_M2 = 1.0
AREA_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "area_id", "编号", "责任区编号"),
    "name": ("name", "area_name", "名称", "责任区", "责任区名称"),
    "company": ("company", "company_id", "公司", "责任单位", "作业公司", "环卫公司"),
    "sweeps_main": ("sweeps_main", "main", "主干道", "主干道遍数"),
    "sweeps_secondary": ("sweeps_secondary", "secondary", "次干道", "次干道遍数"),
    "sweeps_alley": ("sweeps_alley", "alley", "背街小巷", "小巷遍数", "背街小巷遍数"),
}
SEGMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "road_name", "道路名称", "路名", "名称"),
    "road_class": ("road_class", "class", "道路等级", "等级", "道路类型"),
    "area": ("area", "area_id", "责任区", "责任区编号"),
    "sweeps": ("sweeps", "遍数", "清扫遍数"),
}
SWEEP_COLUMNS = ("sweeps_main", "sweeps_secondary", "sweeps_alley")
#: SQL of the sweeps a day segment ``s`` of area ``a`` needs.
REQUIRED_SQL = (
    "coalesce(s.sweeps, CASE s.road_class WHEN 'main' THEN a.sweeps_main "
    "WHEN 'secondary' THEN a.sweeps_secondary ELSE a.sweeps_alley END)"
)


@dataclass(frozen=True)
class AreaSpec:
    """A cleaning area: id, name, company (id or name), polygon (EPSG:4326), sweeps a day."""

    id: str
    name: str
    company: str
    geometry: BaseGeometry
    sweeps_main: int = 2
    sweeps_secondary: int = 1
    sweeps_alley: int = 1


@dataclass(frozen=True)
class SegmentSpec:
    """A road segment of an area (EPSG:4326 line); ``sweeps`` None: the area's level."""

    id: str
    area_id: str
    road_class: str
    road_name: str | None
    geometry: BaseGeometry
    sweeps: int | None = None


def _metric(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def _problem(where: str, rule: str, text: str) -> Problem:
    return Problem(where, rule, f"{where[:1].upper()}{where[1:]}: {text}")


def _features(path: Path, crs: str | None, file_name: str | None) -> gpd.GeoDataFrame:
    """Every feature of every layer, with ``where`` naming it (``feature 3``)."""
    layers = read_layers(path, crs=crs, file_name=file_name)
    frames = []
    for layer, frame in layers.items():
        prefix = f"layer '{layer}', " if len(layers) > 1 else ""
        frame = frame.copy()
        frame["where"] = [f"{prefix}feature {n}" for n in frame["row"]]
        frames.append(frame)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")


def _cells(frame: pd.DataFrame, aliases: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """The canonical columns of ``frame`` as stripped text ("" when missing).

    Where several headers of one column are present (features of a GeoJSON file need not
    share their properties), the first non-empty cell in alias order wins.
    """
    lower = {str(c).strip().lower(): c for c in frame.columns}
    out = pd.DataFrame(index=frame.index)
    for target, names in aliases.items():
        cells = [""] * len(frame)
        for column in (lower[n.lower()] for n in names if n.lower() in lower):
            for k, v in enumerate(frame[column]):
                if cells[k] or v is None or (isinstance(v, float) and v != v):
                    continue
                whole = isinstance(v, float) and v.is_integer()  # ints of a column with gaps
                cells[k] = str(int(v)) if whole else str(v).strip()
        out[target] = cells
    return out


def _sweeps(text: str, where: str, column: str, problems: list[Problem]) -> int | None:
    if not text:
        return None
    try:
        value = float(text)
        if value != int(value) or not 0 <= value <= MAX_SWEEPS:
            raise ValueError
    except ValueError:
        problems.append(
            _problem(
                f"{where}, {column}",
                "bad_sweeps",
                f"'{text}' is not a whole number of sweeps a day from 0 to {MAX_SWEEPS}.",
            )
        )
        return None
    return int(value)


def read_area_file(
    path: Path, *, crs: str | None = None, file_name: str | None = None
) -> tuple[list[AreaSpec], list[str]]:
    """Areas of a vector file (polygons; ``id, name, company, sweeps_main, sweeps_secondary,
    sweeps_alley``, Chinese headers accepted; missing levels default to 2, 1, 1), and the
    feature each is (``feature 3``).

    Raises
    ------
    ValidationFailed
        Naming every bad feature (not a polygon, invalid, no id, bad sweeps); nothing is read.
    """
    shown = file_name or path.name
    features = _features(path, crs, file_name)
    cells = _cells(features, AREA_ALIASES)
    problems: list[Problem] = []
    specs, wheres = [], []
    for k, (where, geom) in enumerate(zip(features["where"], features.geometry, strict=True)):
        row = cells.iloc[k]
        levels = [_sweeps(row[c], where, c, problems) for c in SWEEP_COLUMNS]
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            kind = "nothing" if geom is None or geom.is_empty else f"a {geom.geom_type}"
            problems.append(_problem(where, "not_polygon", f"is {kind}, not a polygon."))
            continue
        wheres.append(where)
        specs.append(
            AreaSpec(
                id=row["id"],
                name=row["name"] or row["id"],
                company=row["company"],
                geometry=geom,
                **{
                    c: v if v is not None else d
                    for c, v, d in zip(SWEEP_COLUMNS, levels, (2, 1, 1), strict=True)
                },
            )
        )
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not imported: {problems[0].message} Nothing was written.", problems
        )
    return specs, wheres


def store_areas(
    conn: Connection, specs: Sequence[AreaSpec], *, shown: str, wheres: Sequence[str] = ()
) -> dict[str, int]:
    """Insert or replace areas (by id) in the caller's transaction.

    Raises
    ------
    ValidationFailed
        Naming every bad area (``wheres`` name them, default ``area <id>``): a bad or doubled
        id, an unknown company, an invalid polygon, sweeps out of range, an overlap of more
        than 1 m² with another area (of the file or stored); nothing is written.
    """
    district = district_code(conn)
    companies = company_ids(conn)
    names = list(wheres) or [f"area {s.id or i}" for i, s in enumerate(specs, start=1)]
    problems: list[Problem] = []
    for where, s in zip(names, specs, strict=True):
        if not ID_PATTERN.match(s.id):
            problems.append(_problem(where, "bad_id", "the id is 1–64 letters, digits, . - _."))
        if s.company not in companies:
            problems.append(
                _problem(where, "unknown_company", f"'{s.company}' is not a registered company.")
            )
        if not shapely.is_valid(s.geometry):
            reason = shapely.is_valid_reason(s.geometry)
            problems.append(_problem(where, "invalid_polygon", f"is not valid ({reason})."))
        for column in SWEEP_COLUMNS:
            if not 0 <= getattr(s, column) <= MAX_SWEEPS:
                problems.append(
                    _problem(where, "bad_sweeps", f"{column} is not from 0 to {MAX_SWEEPS}.")
                )
    ids = [s.id for s in specs]
    problems += [
        _problem(f"area {v}", "duplicate_id", "is given more than once.")
        for v in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if not problems:
        problems += _overlaps(conn, specs, names)
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not stored: {problems[0].message} Nothing was written.", problems
        )
    existing = set(
        conn.execute(
            sa.text("SELECT id FROM sanitation_areas WHERE id = ANY(:ids)"), {"ids": ids}
        ).scalars()
    )
    rows = [
        {
            "d": district,
            "id": s.id,
            "company": companies[s.company],
            "name": s.name,
            "main": s.sweeps_main,
            "secondary": s.sweeps_secondary,
            "alley": s.sweeps_alley,
            "wkb": shapely.to_wkb(shapely.force_2d(MultiPolygon(_polygons(s.geometry)))),
        }
        for s in specs
    ]
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO sanitation_areas (district_code, id, company_id, name, sweeps_main, "
                "sweeps_secondary, sweeps_alley, geom) VALUES (:d, :id, :company, :name, :main, "
                ":secondary, :alley, ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)) "
                "ON CONFLICT (district_code, id) DO UPDATE SET company_id = EXCLUDED.company_id, "
                "name = EXCLUDED.name, sweeps_main = EXCLUDED.sweeps_main, "
                "sweeps_secondary = EXCLUDED.sweeps_secondary, "
                "sweeps_alley = EXCLUDED.sweeps_alley, geom = EXCLUDED.geom, updated_at = now()"
            ),
            rows,
        )
    return {"areas": len(specs), "added": len(set(ids) - existing), "replaced": len(existing)}


def _polygons(geom: BaseGeometry) -> list[Any]:
    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]


def _overlaps(conn: Connection, specs: Sequence[AreaSpec], names: Sequence[str]) -> list[Problem]:
    """Areas overlapping by more than :data:`OVERLAP_M2` (the file's and the stored others)."""
    to_metric = metric_transformer(conn)
    stored = conn.execute(
        sa.text("SELECT id, ST_AsBinary(geom) FROM sanitation_areas WHERE NOT id = ANY(:ids)"),
        {"ids": [s.id for s in specs]},
    ).all()
    labels = [*names, *(f"stored area {r[0]}" for r in stored)]
    geoms = np.array(
        [s.geometry for s in specs] + [shapely.from_wkb(bytes(r[1])) for r in stored],
        dtype=object,
    )
    if len(geoms) < 2:
        return []
    metric = shapely.make_valid(_metric(geoms, to_metric))
    a, b = shapely.STRtree(metric).query(metric, predicate="intersects")
    keep = (a < b) & (a < len(specs))
    a, b = a[keep], b[keep]
    shared = shapely.area(shapely.intersection(metric[a], metric[b]))
    return [
        _problem(
            labels[i],
            "overlapping_areas",
            f"overlaps {labels[j]} by {m2:,.0f} m²; a place belongs to one cleaning area.",
        )
        for i, j, m2 in zip(a.tolist(), b.tolist(), shared.tolist(), strict=True)
        if m2 > OVERLAP_M2
    ]


def import_areas(
    conn: Connection, path: Path, *, crs: str | None = None, file_name: str | None = None
) -> dict[str, int]:
    """Read and store the areas of a vector file (see :func:`read_area_file`)."""
    specs, wheres = read_area_file(path, crs=crs, file_name=file_name)
    return store_areas(conn, specs, shown=file_name or path.name, wheres=wheres)


# --- segments ----------------------------------------------------------------------------


def _area_shapes(conn: Connection, to_metric: Transformer) -> tuple[list[str], np.ndarray]:
    rows = conn.execute(
        sa.text("SELECT id, ST_AsBinary(geom) FROM sanitation_areas ORDER BY id")
    ).all()
    geoms = np.array([shapely.from_wkb(bytes(r[1])) for r in rows], dtype=object)
    return [str(r[0]) for r in rows], _metric(geoms, to_metric) if len(geoms) else geoms


def _pieces_to_specs(
    pieces: Sequence[Any],
    areas: Sequence[str],
    given_area: Callable[[int], str | None],
    sweeps: Callable[[int], int | None],
    to_lonlat: Transformer,
    area_geoms: np.ndarray,
) -> tuple[list[SegmentSpec], list[int]]:
    """Specs of the pieces (an area each), and the roads with a piece in no area."""
    geoms = np.array([p.geometry for p in pieces], dtype=object)
    found = assign_areas(geoms, area_geoms)
    area_of = [
        given_area(p.road) or (areas[f] if f >= 0 else None)
        for p, f in zip(pieces, found, strict=True)
    ]
    kept = [k for k, a in enumerate(area_of) if a is not None]
    outside = sorted({pieces[k].road for k, a in enumerate(area_of) if a is None})
    lonlat = _metric(geoms[kept], to_lonlat) if kept else geoms[:0]
    ids = segment_ids(
        [str(area_of[k]) for k in kept],
        [pieces[k].road_class for k in kept],
        [pieces[k].name for k in kept],
    )
    specs = [
        SegmentSpec(
            ids[n],
            str(area_of[k]),
            pieces[k].road_class,
            pieces[k].name or None,
            lonlat[n],
            sweeps(pieces[k].road),
        )
        for n, k in enumerate(kept)
    ]
    return specs, outside


def replace_segments(conn: Connection, specs: Sequence[SegmentSpec]) -> dict[str, int]:
    """Replace the segments of every area among ``specs`` with them (caller's transaction)."""
    district = district_code(conn)
    areas = sorted({s.area_id for s in specs})
    removed = conn.execute(
        sa.text("DELETE FROM sanitation_segments WHERE district_code = :d AND area_id = ANY(:a)"),
        {"d": district, "a": areas},
    ).rowcount
    rows = [
        {
            "d": district,
            "id": s.id,
            "area": s.area_id,
            "name": s.road_name,
            "class": s.road_class,
            "sweeps": s.sweeps,
            "wkb": shapely.to_wkb(shapely.force_2d(s.geometry)),
        }
        for s in specs
    ]
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO sanitation_segments (district_code, id, area_id, road_name, "
                "road_class, sweeps, geom) VALUES (:d, :id, :area, :name, :class, :sweeps, "
                "ST_SetSRID(ST_GeomFromWKB(:wkb), 4326))"
            ),
            rows,
        )
    return {"areas": len(areas), "segments": len(rows), "removed": removed}


def segments_from_roads(
    conn: Connection,
    *,
    split_classes: Sequence[str] = SPLIT_CLASSES,
    max_length_m: float = MAX_LENGTH_M,
) -> dict[str, int]:
    """Cut the district's roads (table ``roads``) into the segments of the cleaning areas.

    Every area holding a segment's midpoint gets it; the segments of those areas are replaced.
    Returns areas, segments stored, segments removed and ``outside`` (roads with a piece in
    no area, not stored).
    """
    to_metric = metric_transformer(conn)
    to_lonlat = Transformer.from_crs(to_metric.target_crs, "EPSG:4326", always_xy=True)
    rows = conn.execute(
        sa.text("SELECT name, road_class, ST_AsBinary(geom) FROM roads ORDER BY id")
    ).all()
    lines = _metric(
        np.array([shapely.from_wkb(bytes(r[2])) for r in rows], dtype=object), to_metric
    )
    pieces = split_roads(
        lines,
        [r[1] for r in rows],
        [r[0] for r in rows],
        split_classes=split_classes,
        max_length_m=max_length_m,
    )
    areas, area_geoms = _area_shapes(conn, to_metric)
    specs, outside = _pieces_to_specs(
        pieces, areas, lambda _: None, lambda _: None, to_lonlat, area_geoms
    )
    return {**replace_segments(conn, specs), "outside": len(outside)}


def import_segments(
    conn: Connection,
    path: Path,
    *,
    crs: str | None = None,
    file_name: str | None = None,
    split: bool = True,
    max_length_m: float = MAX_LENGTH_M,
) -> dict[str, int]:
    """Store the road segments of a line file (``name, road_class, area, sweeps``).

    Lines are cut between crossings (``split``) and each piece goes to the ``area`` given or
    else the area holding its midpoint; the segments of every area receiving pieces are
    replaced. Returns areas, segments, removed.

    Raises
    ------
    ValidationFailed
        Naming every bad feature (not a line, unknown road class or area, bad sweeps, a line
        lying in no area); nothing is written.
    """
    shown = file_name or path.name
    features = _features(path, crs, file_name)
    cells = _cells(features, SEGMENT_ALIASES)
    known = set(conn.execute(sa.text("SELECT id FROM sanitation_areas")).scalars())
    problems: list[Problem] = []
    wheres = list(features["where"])
    lines: list[Any] = []
    classes: list[str] = []
    sweeps: list[int | None] = []
    for k, (where, geom) in enumerate(zip(wheres, features.geometry, strict=True)):
        row = cells.iloc[k]
        if geom is None or geom.is_empty or geom.geom_type not in ("LineString", "MultiLineString"):
            kind = "nothing" if geom is None or geom.is_empty else f"a {geom.geom_type}"
            problems.append(_problem(where, "not_line", f"is {kind}, not a road line."))
        road_class = ROAD_CLASS_ALIASES.get(row["road_class"].lower())
        if road_class is None:
            problems.append(
                _problem(
                    f"{where}, road_class",
                    "bad_road_class",
                    f"'{row['road_class']}' is not one of {', '.join(ROAD_CLASSES)} "
                    f"({'、'.join(ROAD_CLASSES.values())}).",
                )
            )
        if row["area"] and row["area"] not in known:
            problems.append(
                _problem(
                    f"{where}, area", "unknown_area", f"'{row['area']}' is not a cleaning area."
                )
            )
        sweeps.append(_sweeps(row["sweeps"], where, "sweeps", problems))
        classes.append(road_class or "alley")
        lines.append(geom)
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not imported: {problems[0].message} Nothing was written.", problems
        )
    to_metric = metric_transformer(conn)
    to_lonlat = Transformer.from_crs(to_metric.target_crs, "EPSG:4326", always_xy=True)
    parts, owner = shapely.get_parts(np.array(lines, dtype=object), return_index=True)
    metric = _metric(parts, to_metric)
    names = [cells["name"].iloc[o] or None for o in owner]
    pieces = split_roads(
        metric,
        [classes[o] for o in owner],
        names,
        split_classes=SPLIT_CLASSES if split else (),
        max_length_m=max_length_m if split else float("inf"),
    )
    areas, area_geoms = _area_shapes(conn, to_metric)
    specs, outside = _pieces_to_specs(
        pieces,
        areas,
        lambda part: cells["area"].iloc[owner[part]] or None,
        lambda part: sweeps[owner[part]],
        to_lonlat,
        area_geoms,
    )
    missing = sorted({int(owner[part]) for part in outside})
    if missing:
        problems = [
            _problem(
                wheres[k],
                "outside_areas",
                "lies (partly) in no cleaning area; give it an area or draw the area first.",
            )
            for k in missing
        ]
        raise ValidationFailed(
            f"'{shown}' was not imported: {problems[0].message} Nothing was written.", problems
        )
    return replace_segments(conn, specs)


def areas_geojson(conn: Connection, *, company: str | None = None) -> dict[str, Any]:
    """The areas as a GeoJSON FeatureCollection (EPSG:4326) with company and service level."""
    text = conn.execute(
        sa.text(
            "SELECT json_build_object('type', 'FeatureCollection', 'features', "
            "coalesce(json_agg(json_build_object('type', 'Feature', 'id', a.id, "
            "'geometry', ST_AsGeoJSON(a.geom, 7)::json, 'properties', json_build_object("
            "'id', a.id, 'name', a.name, 'company_id', a.company_id, 'company', c.name, "
            "'sweeps_main', a.sweeps_main, 'sweeps_secondary', a.sweeps_secondary, "
            "'sweeps_alley', a.sweeps_alley, 'area_m2', round(a.area_m2::numeric, 1))) "
            "ORDER BY a.id), '[]'::json))::text FROM sanitation_areas a "
            "JOIN sanitation_companies c ON c.district_code = a.district_code "
            "AND c.id = a.company_id WHERE CAST(:c AS text) IS NULL OR c.id = :c OR c.name = :c"
        ),
        {"c": company},
    ).scalar_one()
    return dict(json.loads(text))


def segments_geojson(
    conn: Connection, *, company: str | None = None, area: str | None = None
) -> dict[str, Any]:
    """The road segments as a GeoJSON FeatureCollection (EPSG:4326), with the sweeps a day
    each needs (its own, else its area's for its road class)."""
    text = conn.execute(
        sa.text(
            "SELECT json_build_object('type', 'FeatureCollection', 'features', "
            "coalesce(json_agg(json_build_object('type', 'Feature', 'id', s.id, "
            "'geometry', ST_AsGeoJSON(s.geom, 7)::json, 'properties', json_build_object("
            "'id', s.id, 'area_id', s.area_id, 'company_id', a.company_id, 'company', c.name, "
            "'road_name', s.road_name, 'road_class', s.road_class, "
            "'length_m', round(s.length_m::numeric, 1), 'required', " + REQUIRED_SQL + ")) "
            "ORDER BY s.id), '[]'::json))::text FROM sanitation_segments s "
            "JOIN sanitation_areas a ON a.district_code = s.district_code AND a.id = s.area_id "
            "JOIN sanitation_companies c ON c.district_code = a.district_code "
            "AND c.id = a.company_id WHERE (CAST(:c AS text) IS NULL OR c.id = :c OR c.name = :c) "
            "AND (CAST(:a AS text) IS NULL OR s.area_id = :a)"
        ),
        {"c": company, "a": area},
    ).scalar_one()
    return dict(json.loads(text))
