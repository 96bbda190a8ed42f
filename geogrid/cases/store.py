"""Writing validated cases to PostGIS: one COPY, one set-based upsert, one transaction.

Each case is located by point-in-polygon twice (DOMAIN.md §3): in the grid version that was
valid when it was registered (kept as the historical truth) and in the current grid (which an
applied grid update re-assigns). A case without a department is dispatched by the
responsibility rules (``geogrid.dispatch``; ``dispatch_rule`` records the rule). The class
of the nearest road is stored for the repeat-case rule (DOMAIN.md §4).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.auth.principal import UNLIMITED, Scope
from geogrid.cases.columns import TIMESTAMPS
from geogrid.cases.parse import CaseTable
from geogrid.db.copy import copy_csv_in
from geogrid.dispatch.match import dispatch_located
from geogrid.errors import Forbidden, Problem, ValidationFailed
from geogrid.io.problems import FIRST_DATA_LINE, MAX_LISTED

Progress = Callable[[str, float], None]

#: Columns copied from the validated table; the rest are computed in the database.
COPIED = (
    "line",
    "case_id",
    "source",
    "platform",
    "case_type",
    "major_class",
    "sub_class",
    "sub_class_recorded",
    "major_class_recorded",
    "description",
    "urgency",
    "lon",
    "lat",
    "recorded_lon",
    "recorded_lat",
    "recorded_crs",
    "department",
    "component_code",
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "due_at",
    "rework_count",
    "extended",
    "postponed",
    "returned_count",
    "satisfaction",
    "department_given",
)
#: Columns the upsert writes (and overwrites on re-import).
STORED = (
    *(c for c in COPIED if c not in ("line", "lon", "lat", "department_given")),
    "dispatch_rule",
    "geom",
    "grid_code",
    "community_code",
    "street_code",
    "current_grid_code",
    "current_community_code",
    "current_street_code",
    "road_class",
)

_STAGE_SQL = """
CREATE TEMP TABLE case_import (
    line integer, case_id text, source text, platform text, case_type text,
    major_class text, sub_class text, sub_class_recorded text, major_class_recorded text,
    description text, urgency text, lon double precision, lat double precision,
    recorded_lon double precision, recorded_lat double precision, recorded_crs text,
    department text, component_code text,
    reported_at timestamptz, registered_at timestamptz, dispatched_at timestamptz,
    handled_at timestamptz, verified_at timestamptz, closed_at timestamptz, due_at timestamptz,
    rework_count integer, extended boolean, postponed boolean, returned_count integer,
    satisfaction text, department_given boolean, dispatch_rule text
) ON COMMIT DROP
"""

_LOCATE_SQL = """
CREATE TEMP TABLE case_located ON COMMIT DROP AS
SELECT i.*, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) AS geom,
       cur.district_code AS cur_district, cur.code AS current_grid_code,
       cur.community_code AS current_community_code, cur.street_code AS current_street_code,
       reg.district_code AS reg_district, reg.code AS grid_code,
       reg.community_code, reg.street_code
FROM case_import i
LEFT JOIN LATERAL (
    SELECT g.district_code, g.code, g.community_code, g.street_code, g.valid_from FROM grids g
    WHERE g.valid_to IS NULL
      AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326))
    ORDER BY g.code LIMIT 1
) cur ON true
LEFT JOIN LATERAL (
    -- only looked up when the current grid did not yet exist at registration
    SELECT g.district_code, g.code, g.community_code, g.street_code FROM grids g
    WHERE (cur.code IS NULL OR cur.valid_from > coalesce(i.registered_at, i.reported_at))
      AND g.valid_from <= coalesce(i.registered_at, i.reported_at)
      AND (g.valid_to IS NULL OR g.valid_to > coalesce(i.registered_at, i.reported_at))
      AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326))
    ORDER BY g.code LIMIT 1
) reg ON true
"""


#: Registered grid: the version valid at registration when the current one is younger, else
#: the current one (also when no version existed then).
_LOCATED = {
    "road_class": "road.road_class",
    "grid_code": "CASE WHEN l.reg_district IS NULL THEN l.current_grid_code ELSE l.grid_code END",
    "community_code": "CASE WHEN l.reg_district IS NULL THEN l.current_community_code "
    "ELSE l.community_code END",
    "street_code": "CASE WHEN l.reg_district IS NULL THEN l.current_street_code "
    "ELSE l.street_code END",
}

_UPSERT_SQL = """
INSERT INTO cases AS c (district_code, {stored})
SELECT coalesce(l.cur_district, l.reg_district), {located}
FROM case_located l
LEFT JOIN LATERAL (
    SELECT r.road_class FROM roads r
    WHERE r.district_code = coalesce(l.cur_district, l.reg_district)
    ORDER BY r.geom <-> l.geom LIMIT 1
) road ON true
ORDER BY l.line
ON CONFLICT (district_code, case_id) DO UPDATE SET {updates}, updated_at = now()
RETURNING (xmax = 0) AS inserted
"""


@dataclass(frozen=True)
class StoreResult:
    """What an import wrote: new cases and re-imported (updated) ones."""

    inserted: int
    updated: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated


def _copy_frame(conn: Connection, table: CaseTable) -> None:
    frame = table.frame.copy()
    frame.insert(0, "line", range(FIRST_DATA_LINE, FIRST_DATA_LINE + len(frame)))
    for name in TIMESTAMPS:
        frame[name] = frame[name].map(lambda t: "" if pd.isna(t) else t.isoformat())
    frame = frame[list(COPIED)]
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False, na_rep="", float_format="%.9f")
    buffer.seek(0)
    copy_csv_in(conn, "case_import", COPIED, buffer)


def _outside(conn: Connection, shown: str) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT line, case_id, lon, lat FROM case_located "
            "WHERE cur_district IS NULL AND reg_district IS NULL ORDER BY line LIMIT :n"
        ),
        {"n": MAX_LISTED + 1},
    ).all()
    if not rows:
        return
    problems = [
        Problem(
            f"row {r.line}, column lon",
            "outside_district",
            f"Row {r.line}, lon/lat: case {r.case_id} at ({r.lon:.6f}, {r.lat:.6f}) lies "
            "outside every unit grid of the district.",
            location=(r.lon, r.lat),
        )
        for r in rows[:MAX_LISTED]
    ]
    raise ValidationFailed(
        f"'{shown}' was not imported: {len(rows)}{'+' if len(rows) > MAX_LISTED else ''} "
        f"case(s) lie outside the district's unit grids; nothing was written. "
        f"First: {problems[0].message}",
        problems,
    )


#: Located cases a scoped writer may not write: outside its streets, or (a supervisor) not a
#: new case reported by a supervisor. The street of a case is its current one (else the one
#: it was registered in), both where the row puts it and where a stored case with its id is.
_OUT_OF_SCOPE_SQL = """
SELECT l.line, l.case_id, coalesce(l.current_street_code, l.street_code) AS street,
       coalesce(c.current_street_code, c.street_code) AS stored_street,
       c.case_id IS NOT NULL AS stored, l.source
FROM case_located l
LEFT JOIN cases c
  ON c.district_code = coalesce(l.cur_district, l.reg_district) AND c.case_id = l.case_id
WHERE (CAST(:streets AS text[]) IS NOT NULL AND (
        NOT coalesce(coalesce(l.current_street_code, l.street_code) = ANY(:streets), false)
        OR (c.case_id IS NOT NULL AND NOT coalesce(
            coalesce(c.current_street_code, c.street_code) = ANY(:streets), false))))
   OR (CAST(:supervisor AS text) IS NOT NULL AND (
        c.case_id IS NOT NULL OR l.source NOT IN ('city_supervisor', 'district_supervisor')))
ORDER BY l.line LIMIT :n
"""


def _check_scope(conn: Connection, scope: Scope, shown: str) -> None:
    """Refuse the whole table when one case lies outside the writer's scope (issue 8)."""
    if scope.unlimited:
        return
    streets = sorted(scope.streets) if scope.streets is not None else None
    rows = conn.execute(
        sa.text(_OUT_OF_SCOPE_SQL),
        {"streets": streets, "supervisor": scope.supervisor_id, "n": MAX_LISTED + 1},
    ).all()
    if not rows:
        return
    problems = []
    for r in rows[:MAX_LISTED]:
        if scope.supervisor_id is not None and r.stored:
            why = "already exists; a supervisor only reports new cases"
        elif scope.supervisor_id is not None:
            why = f"has source {r.source}; a supervisor reports as a supervisor"
        elif r.street not in (scope.streets or ()):
            why = f"lies in street {r.street}, not one of yours"
        else:
            why = f"is stored in street {r.stored_street}, not one of yours"
        problems.append(
            Problem(f"row {r.line}", "out_of_scope", f"Row {r.line}: case {r.case_id} {why}.")
        )
    raise Forbidden(
        f"'{shown}' was not stored: {len(rows)}{'+' if len(rows) > MAX_LISTED else ''} "
        f"case(s) are outside what you may write; nothing was written. "
        f"First: {problems[0].message}",
        problems,
    )


def store_cases(
    conn: Connection,
    table: CaseTable,
    *,
    shown: str = "cases",
    progress: Progress | None = None,
    scope: Scope = UNLIMITED,
) -> StoreResult:
    """Insert or update (by case id) validated cases in the caller's transaction.

    Parameters
    ----------
    conn
        A connection inside a transaction; on any error the caller rolls back and nothing
        is written.
    table
        Cases from :func:`geogrid.cases.parse.parse_cases` (lon/lat EPSG:4326).
    shown
        The file name used in messages.
    scope
        What the writer may write (``Principal.scope``): a street operator only cases in
        its streets (where the row locates them and where a stored case of that id is), a
        supervisor only new cases with a supervisor source.

    Raises
    ------
    ValidationFailed
        When a case lies outside every unit grid (current or at its registration time).
    Forbidden
        When a case lies outside ``scope``; nothing is written.
    """
    report = progress or (lambda stage, fraction: None)
    if len(table) == 0:
        return StoreResult(0, 0)
    conn.execute(sa.text("DROP TABLE IF EXISTS case_import, case_located"))  # earlier batch
    conn.execute(sa.text(_STAGE_SQL))
    report("copying", 0.1)
    _copy_frame(conn, table)
    report("locating", 0.3)
    conn.execute(sa.text(_LOCATE_SQL))
    _outside(conn, shown)
    _check_scope(conn, scope, shown)
    report("dispatching", 0.5)
    dispatch_located(conn)
    report("writing", 0.6)
    located = ", ".join(_LOCATED.get(c, f"l.{c}") for c in STORED)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in STORED)
    inserted = (
        conn.execute(
            sa.text(_UPSERT_SQL.format(stored=", ".join(STORED), located=located, updates=updates))
        )
        .scalars()
        .all()
    )
    report("done", 1.0)
    new = sum(1 for flag in inserted if flag)
    return StoreResult(new, len(inserted) - new)
