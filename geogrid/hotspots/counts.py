"""Cases per unit grid over a period: the values a hotspot analysis runs on (DOMAIN.md §3, §4).

A case belongs to the period when it was **registered** (立案) on one of its local days. It is
counted in the grid it lies in now (``current_grid_code``, re-assigned by every applied grid
update) or in the grid it was registered in (``grid_code``, historical truth); grids are
versioned, so a grid code of the past that is no longer current has no polygon to count in and
its cases are reported as ``unassigned``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter
from geogrid.hotspots.request import BOUNDARIES, Boundaries, CaseFilter

DEFAULT_TZ = "Asia/Shanghai"

GRID_COLUMN: dict[Boundaries, str] = {"current": "current_grid_code", "registered": "grid_code"}
"""The case column that names the grid a case is counted in."""

DISTRICTS_SQL = "SELECT DISTINCT district_code FROM grids WHERE valid_to IS NULL"
"""Districts with current grids: the cases read are those of these districts (the index
``cases (district_code, registered_at)`` is searched once per district)."""

_COUNTS_SQL = """
WITH g AS (
    SELECT district_code, code, street_code, area_m2, geom
    FROM grids WHERE valid_to IS NULL
), counted AS (
    SELECT c.district_code, c.{grid_column} AS code, count(*) AS n
    FROM cases c
    WHERE c.district_code IN ({districts})
      AND c.registered_at >= :t0 AND c.registered_at < :t1{filters}
    GROUP BY c.district_code, c.{grid_column}
), meta AS (
    SELECT (SELECT coalesce(sum(k.n), 0) FROM counted k
            WHERE NOT EXISTS (SELECT 1 FROM g WHERE g.district_code = k.district_code
                              AND g.code = k.code)) AS unassigned,
           (SELECT version FROM layer_versions WHERE layer = 'grids') AS grids_version,
           current_database() AS db
)
SELECT m.unassigned, m.grids_version, m.db, r.code, r.street_code, r.area_m2, r.wkb, r.cases
FROM meta m LEFT JOIN (
    SELECT g.code, g.street_code, g.area_m2, ST_AsBinary(g.geom) AS wkb, coalesce(k.n, 0) AS cases
    FROM g LEFT JOIN counted k ON k.district_code = g.district_code AND k.code = g.code
) r ON true
ORDER BY r.code
"""


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone ``tz``; :class:`InvalidParameter` when unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameter(f"Unknown time zone '{tz}'; use an IANA name.") from None


def period_bounds(start: date, end: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in zone ``tz``, as aware datetimes (DOMAIN.md §4)."""
    zi = zone(tz)
    return (
        datetime.combine(start, time(), zi),
        datetime.combine(end + timedelta(days=1), time(), zi),
    )


def case_conditions(cases: CaseFilter, tz: str, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """SQL conditions (``AND …``, after the period) and parameters of a :class:`CaseFilter`."""
    t0, t1 = period_bounds(cases.start, cases.end, tz)
    params: dict[str, Any] = {"t0": t0, "t1": t1}
    sql = ""
    if cases.sub_class is not None:
        sql += f" AND {alias}.sub_class = :sub_class"
        params["sub_class"] = cases.sub_class
    if cases.source is not None:
        sql += f" AND {alias}.source = :source"
        params["source"] = cases.source
    return sql, params


def grid_case_counts(
    conn: Connection,
    *,
    start: date,
    end: date,
    sub_class: str | None = None,
    source: str | None = None,
    boundaries: Boundaries = "current",
    tz: str = DEFAULT_TZ,
) -> gpd.GeoDataFrame:
    """Count the cases registered in a period in every current unit grid (DOMAIN.md §3, §4).

    One set-based statement: the cases of the period are found through the index
    ``cases (district_code, registered_at)``, grouped by grid code, and joined onto the current
    grids (grids without a case get 0). The same statement reads the ``grids`` layer version, so
    the version always describes the polygons returned (it keys the weights cache).

    Parameters
    ----------
    conn
        Connection to a migrated geogrid database.
    start, end
        First and last local day of the period, both included: cases with
        ``start 00:00 <= registered_at < end + 1 day 00:00`` in zone ``tz``.
    sub_class
        Only cases of this 5-digit subclass (DOMAIN.md §2).
    source
        Only cases of this source (``city_supervisor``, ``hotline``, … DOMAIN.md §3).
    boundaries
        ``current``: count each case in the grid it lies in now (``current_grid_code``);
        ``registered``: in the grid it was registered in (``grid_code``), joined onto the
        current grid of the same code; cases of codes no longer current are not counted in any
        grid and reported in ``attrs["unassigned"]``.
    tz
        IANA zone of the local days (default Asia/Shanghai).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per current grid, ordered by code: ``code``, ``street_code``, ``area_m2``
        (m², on the ellipsoid), ``cases`` (int), ``density`` (cases per km²) and ``geometry``
        (EPSG:4326). ``attrs``: ``unassigned`` (cases of the period counted in no current grid:
        no grid code, or a code that is no longer current), ``grids_version`` (database name and
        ``grids`` layer version).
    """
    if boundaries not in BOUNDARIES:
        raise InvalidParameter(f"Parameter 'boundaries' must be one of {', '.join(BOUNDARIES)}.")
    if end < start:
        raise InvalidParameter("The period ends before it starts.")
    filters, params = case_conditions(CaseFilter(start, end, sub_class, source), tz)
    sql = _COUNTS_SQL.format(
        grid_column=GRID_COLUMN[boundaries], districts=DISTRICTS_SQL, filters=filters
    )
    rows = conn.execute(sa.text(sql), params).all()
    unassigned, version, db = rows[0][0], rows[0][1], rows[0][2]
    rows = [r for r in rows if r.code is not None]
    area = np.array([float(r.area_m2) for r in rows], dtype=float)
    counts = np.array([int(r.cases) for r in rows], dtype=np.int64)
    gdf = gpd.GeoDataFrame(
        {
            "code": [str(r.code) for r in rows],
            "street_code": [str(r.street_code) for r in rows],
            "area_m2": area,
            "cases": counts,
            "density": counts / (area / 1e6) if len(rows) else np.array([], dtype=float),
        },
        geometry=shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else [],
        crs="EPSG:4326",
    )
    gdf.attrs["unassigned"] = int(unassigned)
    gdf.attrs["grids_version"] = (str(db), int(version or 0))
    return gdf
