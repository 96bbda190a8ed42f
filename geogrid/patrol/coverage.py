"""Patrol coverage (巡查覆盖率, DOMAIN.md §5): dwell time of each supervisor in each assigned grid.

A grid is patrolled by a supervisor on a day when the track — consecutive usable fixes joined
into segments when less than ``max_gap_s`` apart — comes within ``buffer_m`` of the grid for at
least ``min_dwell_s`` in total. The time a segment spends within the buffer is its duration
times the share of its length inside the buffered grid (a segment of no length, a supervisor
standing still, counts whole when it lies inside). Lengths are in metres, in a projection
centred on the district.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.crs import local_metric_proj4
from geogrid.patrol.tracks import day_bounds


@dataclass(frozen=True)
class CoverageRule:
    """The three parameters of the coverage rule (all configurable, DOMAIN.md §5)."""

    buffer_m: float = 20.0
    max_gap_s: int = 120
    min_dwell_s: int = 30


_DWELL = """
WITH days AS (
    SELECT d::date AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date),
                                               interval '1 day') AS d
), assigned AS (
    SELECT sg.district_code, sg.supervisor_id, sg.grid_code, days.day
    FROM supervisor_grids sg JOIN days
      ON sg.valid_from <= days.day AND (sg.valid_to IS NULL OR sg.valid_to > days.day)
), zones AS (
    SELECT a.*, ST_Buffer(ST_Transform(g.geom, CAST(:proj AS text)), :buffer) AS zone
    FROM assigned a
    JOIN grids g ON g.district_code = a.district_code AND g.code = a.grid_code
     AND g.valid_to IS NULL
), points AS (
    SELECT supervisor_id, fixed_at, (fixed_at AT TIME ZONE :tz)::date AS day,
           ST_Transform(geom, CAST(:proj AS text)) AS g
    FROM fixes
    WHERE fixed_at >= :t0 AND fixed_at < :t1 AND cardinality(flags) = 0
), pairs AS (
    SELECT supervisor_id, day, fixed_at, g,
           lead(fixed_at) OVER w AS next_at, lead(g) OVER w AS next_g,
           lead(day) OVER w AS next_day
    FROM points WINDOW w AS (PARTITION BY supervisor_id ORDER BY fixed_at)
), segments AS (
    SELECT supervisor_id, day, extract(epoch FROM next_at - fixed_at) AS seconds,
           ST_MakeLine(g, next_g) AS line
    FROM pairs
    WHERE next_at IS NOT NULL AND next_day = day
      AND next_at - fixed_at <= make_interval(secs => :gap)
), dwell AS (
    SELECT z.supervisor_id, z.day, z.grid_code,
           sum(CASE WHEN ST_Length(s.line) = 0 THEN s.seconds
                    ELSE s.seconds * ST_Length(ST_Intersection(s.line, z.zone))
                         / ST_Length(s.line) END) AS seconds
    FROM zones z
    JOIN segments s ON s.supervisor_id = z.supervisor_id AND s.day = z.day
     AND s.line && z.zone AND ST_Intersects(s.line, z.zone)
    GROUP BY z.supervisor_id, z.day, z.grid_code
)
SELECT a.supervisor_id, a.day, a.grid_code, round(coalesce(d.seconds, 0)::numeric, 1) AS dwell_s
FROM assigned a
LEFT JOIN dwell d USING (supervisor_id, day, grid_code)
ORDER BY a.supervisor_id, a.day, a.grid_code
"""


def _centre(conn: Connection) -> tuple[float, float]:
    row = conn.execute(
        sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c FROM grids "
            "WHERE valid_to IS NULL) q"
        )
    ).one()
    return (row[0], row[1]) if row[0] is not None else (116.4, 39.9)


def grid_dwell(
    conn: Connection,
    first: date,
    last: date,
    *,
    rule: CoverageRule = CoverageRule(),
    tz: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Per supervisor, day and assigned grid: seconds within the buffer, and whether patrolled.

    Every assigned grid of every day of ``first``..``last`` (local days) has a row, with 0 s
    when the supervisor never came near it.
    """
    t0, _ = day_bounds(first, tz)
    _, t1 = day_bounds(last, tz)
    params = {
        "first": first,
        "last": last,
        "t0": t0,
        "t1": t1,
        "tz": tz,
        "proj": local_metric_proj4(*_centre(conn)),
        "buffer": rule.buffer_m,
        "gap": rule.max_gap_s,
    }
    rows = conn.execute(sa.text(_DWELL), params).mappings().all()
    return [
        {**r, "dwell_s": float(r["dwell_s"]), "patrolled": float(r["dwell_s"]) >= rule.min_dwell_s}
        for r in rows
    ]


def grid_visits(
    conn: Connection,
    first: date,
    last: date,
    *,
    supervisor: str | None = None,
    rule: CoverageRule = CoverageRule(),
    tz: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Each assigned grid over ``first``..``last``: days assigned, days patrolled, dwell.

    ``visits`` counts the days on which the grid was patrolled (the rule of
    :func:`grid_dwell`); ``dwell_s`` sums the seconds within the buffer; a grid with no visit
    in the period is ``never_patrolled``.
    """
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for row in grid_dwell(conn, first, last, rule=rule, tz=tz):
        if supervisor is not None and row["supervisor_id"] != supervisor:
            continue
        key = (row["supervisor_id"], row["grid_code"])
        entry = totals.setdefault(
            key,
            {
                "supervisor_id": key[0],
                "grid_code": key[1],
                "days_assigned": 0,
                "visits": 0,
                "dwell_s": 0.0,
            },
        )
        entry["days_assigned"] += 1
        entry["visits"] += int(row["patrolled"])
        entry["dwell_s"] = round(entry["dwell_s"] + row["dwell_s"], 1)
    return [{**e, "never_patrolled": e["visits"] == 0} for e in totals.values()]
