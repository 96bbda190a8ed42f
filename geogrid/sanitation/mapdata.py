"""What the sanitation map (环卫作业图) shows for one day: areas by company, road segments with
the share swept that day, the vehicles' and crews' tracks, and the open sanitation cases.

Query values arrive as text (a form); :func:`parse_sanitation_query` checks them with
sentences naming the parameter. GeoJSON is built by PostgreSQL (EPSG:4326).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.dates import parse_day
from geogrid.patrol.tracks import day_bounds
from geogrid.sanitation.areas import areas_geojson, segments_geojson
from geogrid.sanitation.coverage import summarise
from geogrid.sanitation.rules import SANITATION_SUB_CLASSES, SweepRule
from geogrid.sanitation.sweeping import resolve_company, sweep_days

MAX_CASES = 3000
TRACK_GAP_S = 120
SIMPLIFY_DEG = 0.00001  # about 1 m: a day's track of a vehicle shrinks several times


@dataclass(frozen=True)
class SanitationQuery:
    """The day shown and a company (id) or None for all."""

    day: date
    company: str | None


@dataclass(frozen=True)
class SanitationMapData:
    """Everything the page draws (GeoJSON FeatureCollections, EPSG:4326) and its figures."""

    day: date
    company: str | None
    companies: list[tuple[str, str]]
    areas: dict[str, Any]
    segments: dict[str, Any]
    tracks: dict[str, Any]
    cases: dict[str, Any]
    totals: dict[str, Any] = field(default_factory=dict)
    latest_day: date | None = None
    cases_capped: bool = False


def latest_fix_day(conn: Connection, tz: str) -> date | None:
    """The local day of the newest fix of any vehicle or crew (one index probe each)."""
    newest = conn.execute(
        sa.text(
            "SELECT max(n.fixed_at) FROM sanitation_trackers t CROSS JOIN LATERAL ("
            "SELECT f.fixed_at FROM fixes f WHERE f.district_code = t.district_code "
            "AND f.supervisor_id = t.id ORDER BY f.fixed_at DESC LIMIT 1) n"
        )
    ).scalar_one()
    return None if newest is None else newest.astimezone(ZoneInfo(tz)).date()


def parse_sanitation_query(
    conn: Connection, values: Mapping[str, str | None], *, tz: str, today: date | None = None
) -> SanitationQuery:
    """The day (``date``; default the newest day with a tracker's fix, else yesterday) and
    the company (``company``, id or name; empty: all). NotFound for an unknown company."""
    day = parse_day(values.get("date"), "date")
    if day is None:
        day = latest_fix_day(conn, tz) or (
            (today or datetime.now(ZoneInfo(tz)).date()) - timedelta(days=1)
        )
    company = (values.get("company") or "").strip() or None
    return SanitationQuery(day, resolve_company(conn, company))


_TRACKS = """
WITH usable AS (
    SELECT t.id, t.name, t.kind, t.company_id, f.fixed_at, f.geom,
           CASE WHEN f.fixed_at - lag(f.fixed_at) OVER w > make_interval(secs => :gap)
                THEN 1 ELSE 0 END AS breaks
    FROM sanitation_trackers t
    JOIN fixes f ON f.district_code = t.district_code AND f.supervisor_id = t.id
     AND f.fixed_at >= :t0 AND f.fixed_at < :t1 AND cardinality(f.flags) = 0
    WHERE CAST(:company AS text) IS NULL OR t.company_id = :company
    WINDOW w AS (PARTITION BY t.id ORDER BY f.fixed_at)
), pieces AS (
    SELECT *, sum(breaks) OVER (PARTITION BY id ORDER BY fixed_at) AS piece FROM usable
)
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 6)::json,
                      'properties', props) ORDER BY id, piece), '[]'::json))::text
FROM (
    SELECT p.id, p.piece,
           ST_Simplify(ST_MakeLine(p.geom ORDER BY p.fixed_at), :tolerance) AS geom,
           json_build_object('tracker_id', p.id, 'name', min(p.name), 'kind', min(p.kind),
                             'company_id', min(p.company_id), 'fixes', count(*),
                             'start', min(p.fixed_at), 'end', max(p.fixed_at)) AS props
    FROM pieces p GROUP BY p.id, p.piece HAVING count(*) > 1
) q
"""

_CASES = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 6)::json,
        'properties', json_build_object('case_id', case_id, 'sub_class', sub_class,
            'department', department, 'source', source, 'registered_at', registered_at,
            'due_at', due_at, 'overdue', due_at < :t1)) ORDER BY registered_at DESC), '[]'::json)
)::text
FROM (
    SELECT * FROM cases c
    WHERE c.sub_class = ANY(:subs) AND c.geom IS NOT NULL
      AND c.registered_at < :t1 AND (c.closed_at IS NULL OR c.closed_at >= :t1)
      AND (CAST(:unit AS text) IS NULL OR c.department = :unit)
    ORDER BY c.registered_at DESC LIMIT :n
) c
"""


def _collection(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def sanitation_map_data(
    conn: Connection,
    day: date,
    *,
    company: str | None = None,
    rule: SweepRule | None = None,
    tz: str = "Asia/Shanghai",
) -> SanitationMapData:
    """Read everything the map of ``day`` shows, for one company (id) or all."""
    companies = [
        (str(i), str(n))
        for i, n in conn.execute(sa.text("SELECT id, name FROM sanitation_companies ORDER BY id"))
    ]
    names = dict(companies)
    areas = areas_geojson(conn, company=company)
    segments = segments_geojson(conn, company=company)
    days = sweep_days(conn, day, day, company=company, rule=rule, tz=tz)
    figures = {r["segment_id"]: r for r in days.to_dict("records")}
    for feature in segments["features"]:
        p = feature["properties"]
        got = figures.get(p["id"])
        p["due"] = got is not None
        if got is not None:
            for key in ("swept_share", "sweeps", "status", "swept_m"):
                p[key] = got[key]
    t0, t1 = day_bounds(day, tz)
    tracks = _collection(
        conn.execute(
            sa.text(_TRACKS),
            {"t0": t0, "t1": t1, "company": company, "gap": TRACK_GAP_S, "tolerance": SIMPLIFY_DEG},
        ).scalar_one()
    )
    for feature in tracks["features"]:
        p = feature["properties"]
        p["company"] = names.get(p["company_id"], p["company_id"])
    cases = _collection(
        conn.execute(
            sa.text(_CASES),
            {
                "t1": t1,
                "subs": list(SANITATION_SUB_CLASSES),
                "unit": names.get(company) if company else None,
                "n": MAX_CASES,
            },
        ).scalar_one()
    )
    for feature in cases["features"]:
        p = feature["properties"]
        p["sub_class_name"] = SANITATION_SUB_CLASSES.get(p["sub_class"], "")
    return SanitationMapData(
        day=day,
        company=company,
        companies=companies,
        areas=areas,
        segments=segments,
        tracks=tracks,
        cases=cases,
        totals=summarise(days) if len(days) else {},
        latest_day=latest_fix_day(conn, tz),
        cases_capped=len(cases["features"]) >= MAX_CASES,
    )
