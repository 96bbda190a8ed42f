"""Component statistics (部件普查统计, DOMAIN.md §2): counts, densities and open cases.

Counts are over current components (``valid_to IS NULL``) per territory unit (DOMAIN.md §1) and
major class or subclass, with the unit's area and the density per km²; ``with_open_cases``
counts the components of a group that some case not yet closed (``closed_at IS NULL``) names
in ``cases.component_code`` (DOMAIN.md §2–3: a component case). Each result is one set-based
statement; Python only rounds and sums.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.catalogue import Catalogue
from geogrid.components.layers import STATUS_NAME_SQL, component_filter_sql
from geogrid.errors import InvalidParameter
from geogrid.features.collection import registry
from geogrid.features.query import feature_collection
from geogrid.io.tables import csv_lines

LEVELS: Final[dict[str, tuple[str, str]]] = {
    "grid": ("grid_code", "grids t WHERE t.valid_to IS NULL"),
    "community": ("community_code", "communities t WHERE t.valid_to IS NULL"),
    "street": ("street_code", "streets t WHERE t.valid_to IS NULL"),
    "district": ("district_code", "districts t"),
}
"""Level → (the components' column holding the unit's code, the units' current rows)."""

BY: Final[dict[str, str]] = {"class": "major_class", "sub_class": "sub_class"}
"""Grouping → the components' column: the 2-digit major class or the 5-digit subclass."""

MAP_LIMIT: Final = 20_000
"""Components a map page draws at most; beyond it the page asks for a filter."""
STREET_LIMIT: Final = 10_000

_OPEN_COMPONENTS: Final = """
SELECT DISTINCT c.district_code, c.component_code AS code
FROM cases c
WHERE c.component_code IS NOT NULL AND c.closed_at IS NULL
"""

_STATISTICS: Final = """
WITH open_components AS ({open_components}),
counted AS (
    SELECT f.{unit} AS unit, f.{by} AS class, count(*) AS components,
           count(o.code) AS with_open_cases
    FROM components f
    LEFT JOIN open_components o ON o.district_code = f.district_code AND o.code = f.code
    WHERE f.valid_to IS NULL{where}
    GROUP BY 1, 2
), units AS (
    SELECT t.code, t.name, t.area_m2 FROM {units}
)
SELECT k.unit, u.name, k.class, k.components, u.area_m2, k.with_open_cases
FROM counted k LEFT JOIN units u ON u.code = k.unit
ORDER BY k.unit NULLS LAST, k.class
"""

_OPEN_CASES: Final = """
SELECT f.code, f.sub_class, f.name, f.owner, f.status, o.open_cases, o.oldest
FROM (
    SELECT c.district_code, c.component_code, count(*) AS open_cases,
           min(c.registered_at) AS oldest
    FROM cases c
    WHERE c.component_code IS NOT NULL AND c.closed_at IS NULL
    GROUP BY 1, 2
) o
JOIN components f ON f.district_code = o.district_code AND f.code = o.component_code
    AND f.valid_to IS NULL
ORDER BY o.open_cases DESC, o.oldest NULLS LAST, f.code
LIMIT :limit
"""


def _choice(name: str, value: str, choices: Mapping[str, object]) -> str:
    if value not in choices:
        raise InvalidParameter(
            f"Parameter '{name}' must be one of {', '.join(choices)}, got '{value}'."
        )
    return value


def density(components: int, area_m2: float | None) -> float | None:
    """Components per km², 2 decimals; None when the area is unknown or zero."""
    if not area_m2:
        return None
    return round(components / (area_m2 / 1e6), 2)


def component_statistics(
    conn: Connection,
    *,
    level: str,
    by: str,
    sub_class: str | None = None,
    major_class: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Count current components per territory unit and class, with density and open cases.

    Parameters
    ----------
    level
        ``grid``, ``community``, ``street`` or ``district`` (DOMAIN.md §1): the unit is the one
        recorded on the component (``grid_code``, ``community_code``, ``street_code``,
        ``district_code``).
    by
        ``class`` (2-digit major class) or ``sub_class`` (5-digit class code, DOMAIN.md §2).
    sub_class, major_class, status
        Only components of this class code, major class, status (code or Chinese name).

    Returns
    -------
    list of dict
        One row per (unit, class) holding components, ordered by unit code then class:
        ``code`` (the unit's; None for components recorded without one), ``name`` (the unit's
        name, None for grids without a name), ``class``, ``components``, ``area_km2``
        (the unit's current area on the ellipsoid, km², 6 decimals), ``density_per_km2``
        (2 decimals; None without an area) and ``with_open_cases`` (components of the group
        named by a case with ``closed_at IS NULL``).

    Raises
    ------
    InvalidParameter
        For an unknown level or grouping or a malformed filter; the sentence names it.
    """
    unit, units = LEVELS[_choice("level", level, LEVELS)]
    column = BY[_choice("by", by, BY)]
    where, params = component_filter_sql(
        {"sub_class": sub_class, "class": major_class, "status": status}
    )
    sql = _STATISTICS.format(
        open_components=_OPEN_COMPONENTS, unit=unit, by=column, where=where, units=units
    )
    rows = conn.execute(sa.text(sql), params).all()
    return [
        {
            "code": r.unit,
            "name": r.name,
            "class": r[2],
            "components": int(r.components),
            "area_km2": None if r.area_m2 is None else round(r.area_m2 / 1e6, 6),
            "density_per_km2": density(int(r.components), r.area_m2),
            "with_open_cases": int(r.with_open_cases),
        }
        for r in rows
    ]


def statistics_totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The totals of :func:`component_statistics` rows: components, units, area, density.

    The area sums each unit once (a unit has a row per class); the density is over that area.
    """
    areas = {r["code"]: r["area_km2"] for r in rows if r["area_km2"] is not None}
    components = sum(int(r["components"]) for r in rows)
    area_km2 = sum(areas.values())
    return {
        "components": components,
        "with_open_cases": sum(int(r["with_open_cases"]) for r in rows),
        "units": len({r["code"] for r in rows}),
        "area_km2": round(area_km2, 6),
        "density_per_km2": density(components, area_km2 * 1e6),
    }


CLASS_LABELS: Final = {"class": ("大类", "大类名称"), "sub_class": ("小类", "小类名称")}


def name_classes(
    rows: Sequence[Mapping[str, Any]], catalogue: Catalogue, *, by: str
) -> list[dict[str, Any]]:
    """The rows with ``class_name``: the catalogue's name of the major class or subclass.

    A code the catalogue does not know is named by itself (CATALOGUE.md).
    """
    majors = catalogue.majors("component")
    if by == "class":
        return [{**r, "class_name": majors.get(r["class"], r["class"])} for r in rows]
    return [{**r, "class_name": catalogue.name("component", r["class"])} for r in rows]


def statistics_csv(
    rows: Sequence[Mapping[str, Any]], totals: Mapping[str, Any], *, by: str
) -> Iterator[str]:
    """Named statistics rows (:func:`name_classes`) as CSV lines with Chinese headers.

    Columns 区域编码, 名称, 大类 or 小类, its name, 部件数, 面积（平方公里）, 密度（个/平方公里）,
    有未结案件部件数; a last row 合计 holds the totals (:func:`statistics_totals`). UTF-8 with
    a BOM, so that Excel opens it.
    """
    column, name = CLASS_LABELS[_choice("by", by, CLASS_LABELS)]
    headers = ["区域编码", "名称", column, name, "部件数", "面积（平方公里）"]
    headers += ["密度（个/平方公里）", "有未结案件部件数"]
    body: list[Sequence[object]] = [
        [
            r["code"],
            r["name"],
            r["class"],
            r.get("class_name"),
            r["components"],
            r["area_km2"],
            r["density_per_km2"],
            r["with_open_cases"],
        ]
        for r in rows
    ]
    body.append(
        [
            "合计",
            None,
            None,
            None,
            totals["components"],
            totals["area_km2"],
            totals["density_per_km2"],
            totals["with_open_cases"],
        ]
    )
    return csv_lines(headers, body)


def open_component_cases(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """The current components named by open cases, most open cases first (DOMAIN.md §2–3).

    Parameters
    ----------
    limit
        At most this many components (>= 1).

    Returns
    -------
    list of dict
        ``code``, ``sub_class``, ``name``, ``owner``, ``status``, ``open_cases`` (cases with
        ``closed_at IS NULL`` naming the component) and ``oldest_registered_at`` (the earliest
        registration of those cases, timestamptz), by open cases then oldest first.
    """
    if limit < 1:
        raise InvalidParameter("Parameter 'limit' must be at least 1.")
    rows = conn.execute(sa.text(_OPEN_CASES), {"limit": limit}).all()
    return [
        {
            "code": r.code,
            "sub_class": r.sub_class,
            "name": r.name,
            "owner": r.owner,
            "status": r.status,
            "open_cases": int(r.open_cases),
            "oldest_registered_at": r.oldest,
        }
        for r in rows
    ]


@dataclass(frozen=True)
class ComponentMapData:
    """What the component map page shows.

    Attributes
    ----------
    components
        GeoJSON FeatureCollection (EPSG:4326, 7 decimals) of the components drawn, at most
        the limit, by code; properties ``code, major_class, sub_class, name, department,
        owner, maintainer, status, status_name, install_date`` (ISO day or None).
    matched
        Current components matching the filters (drawn or not).
    major_classes
        Matching components per major class, by code.
    sub_classes
        (class code, current components) of every subclass held, unfiltered, by code.
    streets
        GeoJSON FeatureCollection of the current streets (``code, name``), for outlines and
        the street selector.
    bounds
        (west, south, east, north) in degrees of the matching components; None for none.
    filters
        The filters applied, as given (blank ones dropped).
    """

    components: dict[str, Any]
    matched: int
    major_classes: dict[str, int]
    sub_classes: list[tuple[str, int]]
    streets: dict[str, Any]
    bounds: tuple[float, float, float, float] | None
    filters: dict[str, str]
    limit: int = MAP_LIMIT

    @property
    def shown(self) -> int:
        return len(self.components["features"])


_MAP_FEATURES: Final = """
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', q.code,
    'geometry', ST_AsGeoJSON(q.geom, 7)::json,
    'properties', json_build_object(
        'code', q.code, 'major_class', q.major_class, 'sub_class', q.sub_class,
        'name', q.name, 'department', q.department, 'owner', q.owner,
        'maintainer', q.maintainer, 'status', q.status, 'status_name', q.status_name,
        'install_date', q.install_date)) ORDER BY q.code), '[]')::text
FROM (
    SELECT f.*, {status_name} AS status_name FROM components f
    WHERE f.valid_to IS NULL{where} ORDER BY f.code LIMIT :limit
) q
"""

_MAP_COUNTS: Final = """
SELECT f.major_class, count(*) AS n, ST_XMin(ST_Extent(f.geom)) AS w,
       ST_YMin(ST_Extent(f.geom)) AS s, ST_XMax(ST_Extent(f.geom)) AS e,
       ST_YMax(ST_Extent(f.geom)) AS n_
FROM components f WHERE f.valid_to IS NULL{where}
GROUP BY 1 ORDER BY 1
"""

_SUB_CLASSES: Final = """
SELECT f.sub_class, count(*) FROM components f WHERE f.valid_to IS NULL GROUP BY 1 ORDER BY 1
"""


def component_map_data(
    conn: Connection, filters: Mapping[str, str | None], *, limit: int = MAP_LIMIT
) -> ComponentMapData:
    """Read the component map page's data: components drawn, counts, streets, bounds.

    Parameters
    ----------
    filters
        Raw values of the components layer's filters (``class``, ``sub_class``, ``status``,
        ``street``, ``owner``, ``grid``); None or blank means all.
    limit
        Components drawn at most (>= 1), by code; ``matched`` tells how many there are.

    Raises
    ------
    InvalidParameter
        For an unknown filter or a malformed value; the sentence names it.
    """
    if limit < 1:
        raise InvalidParameter("Parameter 'limit' must be at least 1.")
    where, params = component_filter_sql(filters)
    counts = conn.execute(sa.text(_MAP_COUNTS.format(where=where)), params).all()
    sql = _MAP_FEATURES.format(status_name=STATUS_NAME_SQL, where=where)
    features = conn.execute(sa.text(sql), {**params, "limit": limit}).scalar_one()
    sub_classes = [(str(c), int(n)) for c, n in conn.execute(sa.text(_SUB_CLASSES))]
    streets = feature_collection(conn, registry.get("streets"), limit=STREET_LIMIT)
    return ComponentMapData(
        components={"type": "FeatureCollection", "features": json.loads(features)},
        matched=sum(int(r.n) for r in counts),
        major_classes={str(r.major_class): int(r.n) for r in counts},
        sub_classes=sub_classes,
        streets=json.loads(streets),
        bounds=_union_bounds([(r.w, r.s, r.e, r.n_) for r in counts]),
        filters={k: v.strip() for k, v in filters.items() if v and v.strip()},
        limit=limit,
    )


def _union_bounds(
    boxes: Sequence[tuple[float, float, float, float]],
) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
