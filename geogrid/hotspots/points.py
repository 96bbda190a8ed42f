"""The cases of a period as map points: heat cells and the most recent case markers.

A month of a city holds ~170,000 cases (DOMAIN.md §8): too many points for a web page. Heat
cells aggregate them to ~25 m cells with a weight (the number of cases); markers are the most
recent cases only, and both say how many they stand for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.cases.status import STAGE_SQL
from geogrid.hotspots.counts import DEFAULT_TZ, DISTRICTS_SQL, case_conditions, zone
from geogrid.hotspots.request import CaseFilter

MARKER_LIMIT: Final = 2000
HEAT_LIMIT: Final = 20_000
HEAT_CELL_M: Final = 25.0
M_PER_DEGREE_LAT: Final = 110_574.0
M_PER_DEGREE_LON_EQUATOR: Final = 111_320.0

_PERIOD = "f.district_code IN ({districts}) AND f.registered_at >= :t0 AND f.registered_at < :t1"

_POINTS_SQL = f"""
SELECT f.case_id, f.case_type, f.sub_class, {STAGE_SQL} AS stage,
       to_char(f.registered_at AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI') AS registered,
       to_char(f.closed_at AT TIME ZONE :tz, 'YYYY-MM-DD HH24:MI') AS closed,
       ST_Y(f.geom) AS lat, ST_X(f.geom) AS lon, count(*) OVER () AS total
FROM cases f
WHERE {_PERIOD} AND f.geom IS NOT NULL{{filters}}
ORDER BY f.registered_at DESC, f.case_id DESC
LIMIT :limit
"""

_HEAT_SQL = f"""
WITH ref AS (
    SELECT coalesce(cos(radians((ST_YMin(e) + ST_YMax(e)) / 2)), 1) AS k
    FROM (SELECT ST_Extent(geom) AS e FROM grids WHERE valid_to IS NULL) q
)
SELECT floor(ST_X(f.geom) * {M_PER_DEGREE_LON_EQUATOR} * ref.k / :cell_m)::bigint AS i,
       floor(ST_Y(f.geom) * {M_PER_DEGREE_LAT} / :cell_m)::bigint AS j,
       count(*) AS n, sum(ST_Y(f.geom)) AS lat, sum(ST_X(f.geom)) AS lon
FROM cases f CROSS JOIN ref
WHERE {_PERIOD} AND f.geom IS NOT NULL{{filters}}
GROUP BY 1, 2
"""

_SUB_CLASSES_SQL = f"""
SELECT f.sub_class, min(f.case_type) AS case_type, count(*) AS n
FROM cases f WHERE {_PERIOD}{{filters}}
GROUP BY f.sub_class ORDER BY n DESC, f.sub_class
"""

_LATEST_SQL = f"""
SELECT max(m.t) FROM ({DISTRICTS_SQL}) d
CROSS JOIN LATERAL (
    SELECT max(registered_at) AS t FROM cases WHERE district_code = d.district_code
) m
"""


@dataclass(frozen=True)
class CasePoint:
    """One case as a marker: 案卷号, type, 小类, stage (``geogrid.cases.status``), local times."""

    case_id: str
    case_type: str
    sub_class: str
    stage: str
    registered: str
    closed: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class CasePoints:
    """The ``limit`` most recent located cases of a period, and how many there are in all."""

    points: list[CasePoint]
    total: int


@dataclass(frozen=True)
class HeatCells:
    """Cases summed in square cells: (lat, lon, cases) at the mean position of each cell's cases.

    ``cell_m`` is the side of the cells used (doubled from the one asked for until at most
    ``limit`` cells remain); ``cases`` counts the located cases summed.
    """

    points: list[tuple[float, float, int]]
    cell_m: float
    cases: int


def merge_cells(
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
    n: npt.NDArray[np.int64],
    lat_sum: npt.NDArray[np.float64],
    lon_sum: npt.NDArray[np.float64],
    limit: int,
) -> tuple[list[tuple[float, float, int]], int]:
    """Merge 2 × 2 blocks of cells until at most ``limit`` remain; (points, times doubled).

    Cells ``(i, j)`` hold ``n`` cases whose latitudes and longitudes sum to ``lat_sum`` and
    ``lon_sum``; a merged cell sits at the mean position of all its cases.
    """
    doubled = 0
    cases = n.astype(np.float64)
    while len(cases) > max(limit, 1):
        keys, inverse = np.unique(np.stack([i // 2, j // 2], axis=1), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        i, j = keys[:, 0], keys[:, 1]
        cases = np.bincount(inverse, weights=cases).astype(np.float64)
        lat_sum = np.bincount(inverse, weights=lat_sum).astype(np.float64)
        lon_sum = np.bincount(inverse, weights=lon_sum).astype(np.float64)
        doubled += 1
    n = np.rint(cases).astype(np.int64)
    order = np.lexsort((lon_sum, lat_sum, -n))
    points = [
        (round(float(lat_sum[k] / n[k]), 6), round(float(lon_sum[k] / n[k]), 6), int(n[k]))
        for k in order
    ]
    return points, doubled


def _query(cases: CaseFilter, tz: str, template: str) -> tuple[str, dict[str, object]]:
    filters, params = case_conditions(cases, tz, alias="f")
    return template.format(districts=DISTRICTS_SQL, filters=filters), params


def latest_case_day(conn: Connection, *, tz: str = DEFAULT_TZ) -> date | None:
    """The local day of the last case registered in a district with grids; None: no case."""
    latest = conn.execute(sa.text(_LATEST_SQL)).scalar()
    return None if latest is None else latest.astimezone(zone(tz)).date()


def case_points(
    conn: Connection,
    *,
    start: date,
    end: date,
    sub_class: str | None = None,
    source: str | None = None,
    limit: int = MARKER_LIMIT,
    tz: str = DEFAULT_TZ,
) -> CasePoints:
    """The most recent located cases registered in ``[start, end]`` (local days, DOMAIN.md §3).

    Parameters
    ----------
    start, end, sub_class, source, tz
        As :func:`~geogrid.hotspots.counts.grid_case_counts`.
    limit
        At most this many cases, newest registration first.

    Returns
    -------
    CasePoints
        Positions in EPSG:4326 degrees; times ``YYYY-MM-DD HH:MI`` in zone ``tz``.
    """
    sql, params = _query(CaseFilter(start, end, sub_class, source), tz, _POINTS_SQL)
    rows = conn.execute(sa.text(sql), {**params, "tz": tz, "limit": limit}).all()
    points = [
        CasePoint(
            str(r.case_id),
            str(r.case_type),
            str(r.sub_class),
            str(r.stage),
            str(r.registered),
            r.closed,
            float(r.lat),
            float(r.lon),
        )
        for r in rows
    ]
    return CasePoints(points, int(rows[0].total) if rows else 0)


def heat_cells(
    conn: Connection,
    *,
    start: date,
    end: date,
    sub_class: str | None = None,
    source: str | None = None,
    cell_m: float = HEAT_CELL_M,
    limit: int = HEAT_LIMIT,
    tz: str = DEFAULT_TZ,
) -> HeatCells:
    """Located cases of ``[start, end]`` summed in square cells of about ``cell_m`` metres.

    Cells are cut in degrees scaled to metres at the grids' mid latitude (a display
    aggregation: at city scale the sides are within 1 % of ``cell_m``). Each cell is placed
    at the mean position of its cases and weighted by their number. When there are more than
    ``limit`` cells, 2 × 2 blocks are merged (the side doubles) until there are not: every
    located case stays on the map.

    Parameters
    ----------
    start, end, sub_class, source, tz
        As :func:`~geogrid.hotspots.counts.grid_case_counts`.
    cell_m
        Side of the cells asked for, metres.
    limit
        Most cells returned.

    Returns
    -------
    HeatCells
        Positions in EPSG:4326 degrees, fullest cells first.
    """
    sql, params = _query(CaseFilter(start, end, sub_class, source), tz, _HEAT_SQL)
    rows = conn.execute(sa.text(sql), {**params, "cell_m": cell_m}).all()
    i, j, n = (np.array([r[k] for r in rows], dtype=np.int64) for k in range(3))
    lat_sum, lon_sum = (np.array([r[k] for r in rows], dtype=np.float64) for k in (3, 4))
    points, doubled = merge_cells(i, j, n, lat_sum, lon_sum, limit)
    return HeatCells(points, cell_m * 2**doubled, int(n.sum()))


def sub_class_counts(
    conn: Connection,
    *,
    start: date,
    end: date,
    source: str | None = None,
    tz: str = DEFAULT_TZ,
) -> list[tuple[str, str, int]]:
    """(subclass, case type, cases) registered in ``[start, end]``, most frequent first."""
    sql, params = _query(CaseFilter(start, end, None, source), tz, _SUB_CLASSES_SQL)
    return [
        (str(r.sub_class), str(r.case_type), int(r.n)) for r in conn.execute(sa.text(sql), params)
    ]
