"""A supervisor's track of one day as GeoJSON: segments split at gaps, flagged fixes apart.

Consecutive usable fixes (not flagged) less than ``max_gap_s`` apart are joined into one line
segment (DOMAIN.md §5, the segments coverage is computed on); a longer gap (phone off, no
signal) starts a new segment. Flagged fixes are returned as points with their flags, so a map
can show what analytics ignore.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.patrol.supervisors import get_supervisor

MAX_GAP_S = 120

_SEGMENTS = """
WITH usable AS (
    SELECT fixed_at, geom,
           CASE WHEN fixed_at - lag(fixed_at) OVER w > make_interval(secs => :gap)
                THEN 1 ELSE 0 END AS breaks
    FROM fixes
    WHERE district_code = (SELECT district_code FROM supervisors WHERE id = :s)
      AND supervisor_id = :s AND fixed_at >= :t0 AND fixed_at < :t1
      AND cardinality(flags) = 0
    WINDOW w AS (ORDER BY fixed_at)
), numbered AS (
    SELECT fixed_at, geom, sum(breaks) OVER (ORDER BY fixed_at) AS segment FROM usable
)
SELECT json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(CASE WHEN count(*) > 1 THEN ST_MakeLine(geom ORDER BY fixed_at)
                                  ELSE (array_agg(geom))[1] END, 7)::json,
    'properties', json_build_object(
        'kind', 'segment', 'segment', segment, 'fixes', count(*),
        'start', min(fixed_at), 'end', max(fixed_at),
        'seconds', extract(epoch FROM max(fixed_at) - min(fixed_at)))
)::text
FROM numbered GROUP BY segment ORDER BY segment
"""

_FLAGGED = """
SELECT json_build_object(
    'type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 7)::json,
    'properties', json_build_object('kind', 'flagged', 'fixed_at', fixed_at, 'flags', flags,
                                    'accuracy_m', accuracy_m, 'source', source)
)::text
FROM fixes
WHERE district_code = (SELECT district_code FROM supervisors WHERE id = :s)
      AND supervisor_id = :s AND fixed_at >= :t0 AND fixed_at < :t1
      AND cardinality(flags) > 0
ORDER BY fixed_at
"""


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The start of ``day`` and of the next day, local time in ``tz``."""
    start = datetime.combine(day, time(0), ZoneInfo(tz))
    return start, start + timedelta(days=1)


def track_of_day(
    conn: Connection,
    supervisor_id: str,
    day: date,
    *,
    tz: str = "Asia/Shanghai",
    max_gap_s: int = MAX_GAP_S,
) -> dict[str, Any]:
    """The day's track of a supervisor as a GeoJSON FeatureCollection.

    Features are the segments (LineStrings, or a Point for a segment of one fix) with their
    start, end, number of fixes and duration, then the flagged fixes (Points with their
    flags). NotFound when the supervisor is unknown.
    """
    get_supervisor(conn, supervisor_id)
    t0, t1 = day_bounds(day, tz)
    params = {"s": supervisor_id, "t0": t0, "t1": t1, "gap": max_gap_s}
    features = [json.loads(f) for f in conn.execute(sa.text(_SEGMENTS), params).scalars()]
    features += [json.loads(f) for f in conn.execute(sa.text(_FLAGGED), params).scalars()]
    return {
        "type": "FeatureCollection",
        "supervisor": supervisor_id,
        "date": day.isoformat(),
        "max_gap_s": max_gap_s,
        "features": features,
    }
