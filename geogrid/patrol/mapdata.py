"""What the patrol coverage map page (巡查覆盖图, DOMAIN.md §5) shows, read from PostGIS.

The page's figures come from :func:`geogrid.patrol.coverage.grid_visits` (one row per
supervisor and assigned grid); this module only gathers them with the current grids, the
street outlines, the supervisors and one supervisor's track of a day, and merges the rows of a
grid held by several supervisors. The page's period defaults to the last day with fixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.dates import check_period, parse_day
from geogrid.features.query import feature_collection
from geogrid.indicators.rules import rate
from geogrid.patrol.coverage import CoverageRule, grid_visits
from geogrid.patrol.supervisors import get_supervisor, list_supervisors
from geogrid.patrol.tracks import track_of_day
from geogrid.territory.layers import STREETS

MAX_PERIOD_DAYS: Final = 93
"""Longest period of the page (both days included), as ``GET /coverage/grids``."""
STREET_LIMIT: Final = 10_000
_TIME_PROPERTIES: Final = ("start", "end", "fixed_at")

_GRIDS: Final = """
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', g.code,
    'geometry', ST_AsGeoJSON(g.geom, 7)::json,
    'properties', json_build_object(
        'code', g.code, 'name', g.name,
        'community_code', g.community_code, 'community_name', c.name,
        'street_code', g.street_code, 'street_name', s.name)) ORDER BY g.code), '[]')::text
FROM grids g
LEFT JOIN communities c ON c.district_code = g.district_code AND c.code = g.community_code
     AND c.valid_to IS NULL
LEFT JOIN streets s ON s.district_code = g.district_code AND s.code = g.street_code
     AND s.valid_to IS NULL
WHERE g.valid_to IS NULL
"""


@dataclass(frozen=True)
class CoverageQuery:
    """The page's question: a period of local days, a supervisor, the day of the track."""

    first: date
    last: date
    supervisor: str | None = None
    track_day: date | None = None


@dataclass(frozen=True)
class CoverageSummary:
    """Figures of the page's period (DOMAIN.md §5).

    ``assigned``: distinct grids assigned in the period; ``patrolled``: those patrolled on at
    least one day; ``never_patrolled`` the rest. ``coverage_rate`` = patrolled grid-days /
    assigned grid-days × 100 (巡查覆盖率: the daily rate averaged over the period, as
    ``GET /coverage`` reports it); ``patrolled_share`` = patrolled / assigned × 100, the grids
    visited at least once. Rates in percent, 2 decimals, None for no grid.
    """

    assigned: int
    patrolled: int
    never_patrolled: int
    patrolled_share: float | None
    grid_days: int
    patrolled_grid_days: int
    coverage_rate: float | None


@dataclass(frozen=True)
class CoverageMapData:
    """What the coverage map page shows.

    Attributes
    ----------
    first, last
        The period, local days, both included.
    grids
        GeoJSON FeatureCollection (EPSG:4326) of the current grids, by code; properties
        ``code, name, community_code, community_name, street_code, street_name`` and, from
        :func:`merge_visits`, ``assigned``, ``supervisors``, ``days_assigned``, ``visits``,
        ``dwell_s`` and ``never_patrolled``.
    visits
        The rows of :func:`geogrid.patrol.coverage.grid_visits` (per supervisor and grid).
    streets
        GeoJSON FeatureCollection of the current streets (``code, name``).
    supervisors
        (id, name) of every supervisor, by id, for the selector.
    supervisor
        The chosen supervisor (the figures are theirs only), or None for all.
    track_day, track
        The day of the chosen supervisor's track and the track
        (:func:`geogrid.patrol.tracks.track_of_day`, times local ISO 8601); None without a
        chosen supervisor.
    latest_day
        The last local day with any fix; None when there is none.
    rule
        The coverage rule the figures were computed with.
    """

    first: date
    last: date
    grids: dict[str, Any]
    visits: list[dict[str, Any]]
    streets: dict[str, Any]
    supervisors: list[tuple[str, str]]
    supervisor: str | None = None
    track_day: date | None = None
    track: dict[str, Any] | None = None
    latest_day: date | None = None
    rule: CoverageRule = CoverageRule()

    @property
    def days(self) -> int:
        """Days of the period."""
        return (self.last - self.first).days + 1

    @property
    def missing_grids(self) -> list[str]:
        """Codes of grids assigned in the period that are no longer current (not drawn)."""
        drawn = {f["properties"]["code"] for f in self.grids["features"]}
        return sorted({r["grid_code"] for r in self.visits} - drawn)

    def summary(self) -> CoverageSummary:
        """The period's figures over :attr:`visits`."""
        return summarise_visits(self.visits)


def summarise_visits(rows: Sequence[Mapping[str, Any]]) -> CoverageSummary:
    """The figures of :class:`CoverageSummary` over rows of ``grid_visits``.

    A grid held by several supervisors counts once among the assigned grids and is patrolled
    when any of them patrolled it; its grid-days count once per supervisor.
    """
    assigned = {str(r["grid_code"]) for r in rows}
    patrolled = {str(r["grid_code"]) for r in rows if int(r["visits"]) > 0}
    grid_days = sum(int(r["days_assigned"]) for r in rows)
    visits = sum(int(r["visits"]) for r in rows)
    return CoverageSummary(
        assigned=len(assigned),
        patrolled=len(patrolled),
        never_patrolled=len(assigned - patrolled),
        patrolled_share=rate(len(patrolled), len(assigned)),
        grid_days=grid_days,
        patrolled_grid_days=visits,
        coverage_rate=rate(visits, grid_days),
    )


def merge_visits(
    grids: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
) -> dict[str, Any]:
    """The grids with their patrol figures, one feature per grid (pure).

    Parameters
    ----------
    grids
        FeatureCollection of grids with a ``code`` property.
    rows
        Rows of ``grid_visits``: ``supervisor_id, grid_code, days_assigned, visits, dwell_s``.
    names
        Supervisor id → name.

    Returns
    -------
    dict
        A new FeatureCollection; each feature's properties gain ``assigned`` (bool),
        ``supervisors`` (list of ``{id, name, days_assigned, visits, dwell_s}`` by id),
        ``days_assigned`` and ``visits`` (the most of any one supervisor: the days on which
        the grid was patrolled are at least these, and no supervisor's days are added to
        another's), ``dwell_s`` (summed over supervisors, seconds) and ``never_patrolled``
        (assigned and no visit by anyone). Unassigned grids hold None figures.
    """
    held: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["grid_code"], r["supervisor_id"])):
        held.setdefault(str(r["grid_code"]), []).append(
            {
                "id": r["supervisor_id"],
                "name": names.get(r["supervisor_id"], r["supervisor_id"]),
                "days_assigned": int(r["days_assigned"]),
                "visits": int(r["visits"]),
                "dwell_s": float(r["dwell_s"]),
            }
        )
    features = []
    for feature in grids.get("features", []):
        props = dict(feature.get("properties") or {})
        by = held.get(str(props.get("code")), [])
        props.update(
            assigned=bool(by),
            supervisors=by,
            days_assigned=max((s["days_assigned"] for s in by), default=None),
            visits=max((s["visits"] for s in by), default=None),
            dwell_s=round(sum(s["dwell_s"] for s in by), 1) if by else None,
            never_patrolled=bool(by) and all(s["visits"] == 0 for s in by),
        )
        features.append({**feature, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def latest_fix_day(conn: Connection, *, tz: str = "Asia/Shanghai") -> date | None:
    """The local day (in ``tz``) of the latest fix of any supervisor; None without fixes."""
    # one probe per supervisor on the primary key (fixes has no btree on time alone)
    latest = conn.execute(
        sa.text(
            "SELECT max(m) FROM supervisors s CROSS JOIN LATERAL (SELECT max(fixed_at) AS m "
            "FROM fixes f WHERE f.district_code = s.district_code AND f.supervisor_id = s.id) q"
        )
    ).scalar_one()
    return None if latest is None else latest.astimezone(ZoneInfo(tz)).date()


def coverage_period(
    first: date | None, last: date | None, *, latest: date | None, today: date
) -> tuple[date, date]:
    """The page's period: the days given, else one day (DOMAIN.md §5 reports per day).

    Neither day given: ``latest`` (the last day with fixes) alone, or the day before
    ``today`` when there is no fix at all. One day given: that day alone.

    Raises
    ------
    InvalidParameter
        When ``last`` is before ``first`` or the period is longer than
        :data:`MAX_PERIOD_DAYS`; the sentence names the parameters.
    """
    if first is None and last is None:
        first = last = latest if latest is not None else today - timedelta(days=1)
    first = first or last
    last = last or first
    assert first is not None and last is not None
    check_period(first, last, MAX_PERIOD_DAYS)
    return first, last


def parse_coverage_query(
    conn: Connection,
    raw: Mapping[str, str | None],
    *,
    tz: str = "Asia/Shanghai",
    today: date | None = None,
) -> CoverageQuery:
    """Read the page's query text: ``from``, ``to``, ``supervisor``, ``track_date``.

    Blank values count as absent (an HTML form sends empty fields). Days are ``YYYY-MM-DD``,
    local in ``tz``; the period defaults as :func:`coverage_period` says, with ``today`` the
    local day now unless given.

    Raises
    ------
    InvalidParameter
        For a malformed day or a bad period; the sentence names the parameter.
    """
    first, last = parse_day(raw.get("from"), "from"), parse_day(raw.get("to"), "to")
    track_day = parse_day(raw.get("track_date"), "track_date")
    supervisor = (raw.get("supervisor") or "").strip() or None
    latest = latest_fix_day(conn, tz=tz) if first is None and last is None else None
    now = today or datetime.now(ZoneInfo(tz)).date()
    first, last = coverage_period(first, last, latest=latest, today=now)
    return CoverageQuery(first, last, supervisor, track_day)


def _local_track(track: Mapping[str, Any], tz: str) -> dict[str, Any]:
    """The track with its times as local ISO 8601 seconds (the database answers in UTC)."""
    zone = ZoneInfo(tz)
    features = []
    for feature in track["features"]:
        props = dict(feature["properties"])
        for key in _TIME_PROPERTIES:
            if props.get(key):
                moment = datetime.fromisoformat(str(props[key])).astimezone(zone)
                props[key] = moment.isoformat(timespec="seconds")
        features.append({**feature, "properties": props})
    return {**track, "features": features}


def coverage_map_data(
    conn: Connection,
    first: date,
    last: date,
    *,
    supervisor: str | None,
    track_day: date | None,
    tz: str,
    rule: CoverageRule = CoverageRule(),
) -> CoverageMapData:
    """Read the coverage map page's data for a period (local days in ``tz``).

    Parameters
    ----------
    first, last
        The period, both days included (check it with :func:`coverage_period`).
    supervisor
        Only this supervisor's assigned grids and their track; None for every supervisor and
        no track.
    track_day
        The day of the supervisor's track; None for ``last``.
    tz
        Zone of the local days and of the track's times.
    rule
        Buffer, gap and dwell of a visit (DOMAIN.md §5).

    Raises
    ------
    NotFound
        When ``supervisor`` is not a registered supervisor.
    """
    if supervisor is not None:
        get_supervisor(conn, supervisor)
    rows = grid_visits(conn, first, last, supervisor=supervisor, rule=rule, tz=tz)
    people = list_supervisors(conn)
    names = {str(p["id"]): str(p["name"]) for p in people}
    grids = json.loads(conn.execute(sa.text(_GRIDS)).scalar_one())
    track = None
    if supervisor is not None:
        track_day = track_day or last
        track = _local_track(track_of_day(conn, supervisor, track_day, tz=tz), tz)
    return CoverageMapData(
        first=first,
        last=last,
        grids=merge_visits({"type": "FeatureCollection", "features": grids}, rows, names),
        visits=rows,
        streets=json.loads(feature_collection(conn, STREETS, limit=STREET_LIMIT)),
        supervisors=list(names.items()),
        supervisor=supervisor,
        track_day=track_day if supervisor is not None else None,
        track=track,
        latest_day=latest_fix_day(conn, tz=tz),
        rule=rule,
    )
