"""Importing a batch of patches: locate each in its grids, register it as a case (DOMAIN.md §6).

A patch may overlap several unit grids; its grid is the one it overlaps most (ties: the lower
code), and its community and street are that grid's. The case it becomes (source
``satellite``) is located at a point inside that overlap, so the case store puts the case in
the same grid, and is registered through :func:`geogrid.cases.store_frame` like any imported
case: indicators count it. Everything happens in the caller's transaction: a refused batch
leaves nothing behind.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.cases import store_frame
from geogrid.catalogue import Catalogue
from geogrid.db.copy import copy_csv_in
from geogrid.errors import InvalidParameter, NotFound, Problem, ValidationFailed
from geogrid.satellite.rules import (
    CHANGE_TYPES,
    DISPATCH,
    HANDLING_STATES,
    VERDICTS,
    case_id,
    check_batch_id,
)
from geogrid.satellite.upload import PatchUpload
from geogrid.worktime import WorkCalendar

Progress = Callable[[str, float], None]

STAGED = (
    "seq",
    "source_row",
    "patch_code",
    "change_type",
    "geom",
    "declared_area_m2",
    "before_date",
    "after_date",
    "department",
    "sub_class",
    "due_at",
    "note",
)

_STAGE = """
CREATE TEMP TABLE patch_stage (
    seq integer, source_row integer, patch_code text, change_type text, geom geometry,
    declared_area_m2 double precision, before_date date, after_date date, department text,
    sub_class text, due_at timestamptz, note text
) ON COMMIT DROP
"""

_LOCATE = """
CREATE TEMP TABLE patch_located ON COMMIT DROP AS
WITH parts AS (
    SELECT s.seq, g.code, g.community_code, g.street_code, g.geom AS grid_geom,
           ST_Area(ST_Intersection(s.geom, g.geom)::geography) AS overlap_m2
    FROM patch_stage s
    JOIN grids g ON g.valid_to IS NULL AND g.district_code = :d AND ST_Intersects(g.geom, s.geom)
), ranked AS (
    SELECT o.*, row_number() OVER (PARTITION BY o.seq ORDER BY o.overlap_m2 DESC, o.code) AS pos
    FROM parts o WHERE o.overlap_m2 > 0
)
SELECT s.seq, m.code AS grid_code, m.community_code, m.street_code,
       (SELECT array_agg(r.code ORDER BY r.pos) FROM ranked r WHERE r.seq = s.seq) AS grid_codes,
       ST_PointOnSurface(ST_CollectionExtract(ST_Intersection(s.geom, m.grid_geom), 3)) AS point,
       ST_Area(s.geom::geography) AS area_m2
FROM patch_stage s LEFT JOIN ranked m ON m.seq = s.seq AND m.pos = 1
"""

_INSERT = """
INSERT INTO patches (district_code, batch_id, patch_code, change_type, geom, declared_area_m2,
    before_date, after_date, grid_codes, grid_code, community_code, street_code, department,
    sub_class, case_id, dispatched_at, due_at, note, source_row)
SELECT :d, :b, s.patch_code, s.change_type, ST_Multi(s.geom), s.declared_area_m2, s.before_date,
       s.after_date, l.grid_codes, l.grid_code, l.community_code, l.street_code, s.department,
       s.sub_class, 'SAT-' || :b || '-' || s.patch_code, :dispatched, s.due_at, s.note,
       s.source_row
FROM patch_stage s JOIN patch_located l USING (seq)
ORDER BY s.seq
"""

#: The handling state of a patch (aliased ``p``) from its records (DOMAIN.md §6).
HANDLING_STATE_SQL = (
    "CASE WHEN EXISTS (SELECT 1 FROM patch_handling h WHERE h.district_code = p.district_code "
    "AND h.patch_id = p.id AND h.handling_type = 'on_site') THEN 'on_site' "
    "WHEN EXISTS (SELECT 1 FROM patch_handling h WHERE h.district_code = p.district_code "
    "AND h.patch_id = p.id) THEN 'documents' ELSE 'pending' END"
)


def district_code(conn: Connection) -> str:
    """The district of the database (patches need exactly one)."""
    codes = conn.execute(sa.text("SELECT code FROM districts ORDER BY code")).scalars().all()
    if len(codes) != 1:
        raise InvalidParameter(
            f"Satellite patches need exactly one district in the database; found {len(codes)}. "
            "Load the territory first."
        )
    return str(codes[0])


def _aware(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:
        return pd.Timestamp(value).tz_localize(tz).to_pydatetime()
    return value


def _defaults(frame: pd.DataFrame, calendar: WorkCalendar, dispatched_at: datetime) -> None:
    """Department, subclass and due time of each patch from its change type where not given."""
    kinds = frame["change_type"]
    frame["department"] = frame["department"].where(
        frame["department"].notna(), kinds.map(lambda k: DISPATCH[k].department)
    )
    frame["sub_class"] = frame["sub_class"].where(
        frame["sub_class"].notna(), kinds.map(lambda k: DISPATCH[k].sub_class)
    )
    todo = np.flatnonzero(frame["due_at"].isna().to_numpy())
    if len(todo):
        start = dispatched_at.astimezone(calendar.tz)
        due = calendar.add_many(
            [start] * len(todo), [DISPATCH[kinds.iat[i]].deadline for i in todo]
        )
        values = frame["due_at"].to_numpy(dtype=object, copy=True)
        values[todo] = [pd.Timestamp(d).tz_convert("UTC") for d in due]
        frame["due_at"] = values


def _stage(conn: Connection, frame: pd.DataFrame, geoms: np.ndarray) -> None:
    staged = frame.copy()
    staged["seq"] = np.arange(len(staged))
    staged["source_row"] = staged["row"]
    with_srid = shapely.set_srid(geoms, 4326)
    staged["geom"] = shapely.to_wkb(with_srid, hex=True, include_srid=True)
    staged["due_at"] = staged["due_at"].map(lambda t: t.isoformat())
    buffer = io.StringIO()
    staged[list(STAGED)].to_csv(buffer, header=False, index=False, na_rep="")
    buffer.seek(0)
    conn.execute(sa.text("DROP TABLE IF EXISTS patch_stage, patch_located"))
    conn.execute(sa.text(_STAGE))
    copy_csv_in(conn, "patch_stage", STAGED, buffer)


def _refuse_outside(conn: Connection, frame: pd.DataFrame, shown: str) -> None:
    rows = conn.execute(
        sa.text("SELECT seq FROM patch_located WHERE grid_code IS NULL ORDER BY seq")
    ).scalars()
    problems = []
    for seq in rows:
        where = f"feature {frame['row'].iat[seq]} (patch {frame['patch_code'].iat[seq]})"
        problems.append(
            Problem(
                where,
                "outside_district",
                f"{where[0].upper()}{where[1:]}: the patch overlaps no unit grid of the district.",
            )
        )
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not imported: {len(problems)} patch(es) lie outside the district's "
            f"unit grids; nothing was written. First: {problems[0].message}",
            problems,
        )


def _refuse_taken_case_ids(conn: Connection, d: str, ids: list[str], shown: str) -> None:
    taken = conn.execute(
        sa.text(
            "SELECT case_id FROM cases WHERE district_code = :d AND case_id = ANY(:ids) "
            "ORDER BY case_id"
        ),
        {"d": d, "ids": ids},
    ).scalars()
    problems = [
        Problem(
            f"case {c}",
            "case_id_taken",
            f"Case {c}, which a patch of this batch would become, exists already.",
        )
        for c in taken
    ]
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not imported: {problems[0].message}; nothing was written.", problems
        )


def import_batch(
    conn: Connection,
    upload: PatchUpload,
    *,
    batch_id: str,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    delivered_at: datetime | None = None,
    dispatched_at: datetime | None = None,
    vendor: str | None = None,
    note: str | None = None,
    tz: str = "Asia/Shanghai",
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Store a batch of patches and register each as a case, in the caller's transaction.

    Parameters
    ----------
    upload
        From :func:`geogrid.satellite.upload.read_patch_upload` (EPSG:4326).
    batch_id
        The batch, e.g. ``2022-05``; a batch is imported once.
    delivered_at
        When the vendor delivered it (the cases' ``reported_at``); default now.
    dispatched_at
        When the patches were registered and dispatched (the cases' ``registered_at`` and
        ``dispatched_at``, the start of the handling window and of the deadlines); default
        ``delivered_at``. Naive values are local time in ``tz``.

    Returns
    -------
    dict
        The batch as :func:`get_batch` gives it.

    Raises
    ------
    ValidationFailed
        When the batch exists, a patch overlaps no grid of the district, or a case id is taken;
        nothing is written.
    """
    report = progress or (lambda stage, fraction: None)
    problem = check_batch_id(batch_id)
    if problem:
        raise InvalidParameter(problem, [Problem("batch", "bad_batch_id", problem)])
    d = district_code(conn)
    existing = conn.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM patches p WHERE p.district_code = b.district_code "
            "AND p.batch_id = b.id) FROM patch_batches b WHERE b.district_code = :d AND b.id = :b"
        ),
        {"d": d, "b": batch_id},
    ).scalar()
    if existing is not None:
        message = (
            f"Batch {batch_id} was imported already ({existing} patches); deliver a corrected "
            "file under a new batch id."
        )
        raise ValidationFailed(message, [Problem("batch", "batch_exists", message)])
    current = now or datetime.now(UTC)
    delivered = _aware(delivered_at, tz) if delivered_at else current
    dispatched = _aware(dispatched_at, tz) if dispatched_at else delivered
    if dispatched < delivered:
        raise InvalidParameter("The dispatch time is before the delivery time.")
    if dispatched > current + timedelta(days=1):
        raise InvalidParameter("The dispatch time lies in the future.")
    if len(upload) == 0:
        raise ValidationFailed(f"'{upload.file_name}' holds no patches.")

    report("locating", 0.1)
    frame = pd.DataFrame(upload.features.drop(columns="geometry"))
    _defaults(frame, calendar, dispatched)
    _stage(conn, frame, np.asarray(upload.features.geometry.array, dtype=object))
    conn.execute(sa.text(_LOCATE), {"d": d})
    _refuse_outside(conn, frame, upload.file_name)
    ids = [case_id(batch_id, c) for c in frame["patch_code"]]
    _refuse_taken_case_ids(conn, d, ids, upload.file_name)

    report("storing", 0.4)
    conn.execute(
        sa.text(
            "INSERT INTO patch_batches (district_code, id, delivered_at, dispatched_at, vendor, "
            "note, file_name, file_sha256, source_crs) VALUES (:d, :b, :delivered, :dispatched, "
            ":vendor, :note, :file, :sha, :crs)"
        ),
        {
            "d": d,
            "b": batch_id,
            "delivered": delivered,
            "dispatched": dispatched,
            "vendor": vendor,
            "note": note,
            "file": upload.file_name,
            "sha": upload.sha256,
            "crs": upload.source_crs,
        },
    )
    conn.execute(sa.text(_INSERT), {"d": d, "b": batch_id, "dispatched": dispatched})
    report("registering cases", 0.6)
    _register_cases(conn, frame, batch_id, delivered, dispatched, catalogue, calendar, tz)
    report("done", 1.0)
    return get_batch(conn, batch_id, now=current)


def _register_cases(
    conn: Connection,
    frame: pd.DataFrame,
    batch_id: str,
    delivered: datetime,
    dispatched: datetime,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str,
) -> None:
    located = conn.execute(
        sa.text(
            "SELECT seq, ST_X(point) AS lon, ST_Y(point) AS lat, area_m2 FROM patch_located "
            "ORDER BY seq"
        )
    ).all()
    lon = [r.lon for r in located]
    lat = [r.lat for r in located]
    area = [r.area_m2 for r in located]
    kinds = frame["change_type"]
    codes = frame["patch_code"]
    cases = pd.DataFrame(
        {
            "case_id": [case_id(batch_id, c) for c in codes],
            "source": "satellite",
            "platform": "district",
            "case_type": "event",
            "sub_class": frame["sub_class"].to_numpy(),
            "description": [
                f"卫星遥感图斑 {c}：{CHANGE_TYPES[k]}，面积 {a:.0f} 平方米（批次 {batch_id}）"
                for c, k, a in zip(codes, kinds, area, strict=True)
            ],
            "lon": lon,
            "lat": lat,
            "department": frame["department"].to_numpy(),
            "reported_at": pd.Series([delivered] * len(frame)).map(pd.Timestamp),
            "registered_at": pd.Series([dispatched] * len(frame)).map(pd.Timestamp),
            "dispatched_at": pd.Series([dispatched] * len(frame)).map(pd.Timestamp),
            "due_at": pd.to_datetime(pd.Series(frame["due_at"].to_numpy()), utc=True),
        }
    )
    for column in ("reported_at", "registered_at", "dispatched_at"):
        cases[column] = pd.to_datetime(cases[column], utc=True)
    store_frame(conn, cases, catalogue=catalogue, calendar=calendar, tz=tz, shown="patches")


_FIGURES = """
SELECT p.batch_id,
       count(*) AS patches,
       count(*) FILTER (WHERE c.due_at <= :now) AS due,
       count(*) FILTER (WHERE s.state = 'on_site') AS on_site,
       count(*) FILTER (WHERE s.state = 'documents') AS documents,
       count(*) FILTER (WHERE s.state = 'pending') AS pending,
       count(*) FILTER (WHERE c.closed_at IS NOT NULL AND c.closed_at <= :now) AS closed,
       count(*) FILTER (WHERE coalesce(c.closed_at, :now) > c.due_at
                          AND c.due_at <= :now) AS overdue,
       {verdicts},
       count(*) FILTER (WHERE v.verdict IS NULL) AS unchecked,
       {types},
       coalesce(sum(p.area_m2), 0) AS area_m2,
       coalesce(sum(p.area_m2) FILTER (WHERE p.change_type = 'dust_source'), 0)
           AS dust_area_m2,
       coalesce(sum(p.area_m2) FILTER (WHERE p.change_type = 'dust_source'
                                       AND v.verdict = 'verified'), 0) AS dust_area_covered_m2
FROM patches p
JOIN cases c ON c.district_code = p.district_code AND c.case_id = p.case_id
LEFT JOIN patch_verifications v ON v.district_code = p.district_code AND v.patch_id = p.id
CROSS JOIN LATERAL (SELECT {state} AS state) s
WHERE p.district_code = :d AND (CAST(:b AS text) IS NULL OR p.batch_id = :b)
  AND (CAST(:street AS text) IS NULL OR p.street_code = :street)
GROUP BY p.batch_id
"""


def batch_figures(
    conn: Connection,
    *,
    batch_id: str | None = None,
    street_code: str | None = None,
    now: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Counts per batch (of one street when given) at ``now``: the raw figures of scoring.

    Returns
    -------
    dict
        By batch id: ``patches``, ``due`` (due_at ≤ now), handling states (``on_site``,
        ``documents``, ``pending``), ``closed``, ``overdue`` (closed late or open past due),
        one count per verdict and ``unchecked``, one per change type, ``area_m2``,
        ``dust_area_m2`` and ``dust_area_covered_m2`` (dust sources whose verdict is
        ``verified``).
    """
    sql = _FIGURES.format(
        verdicts=", ".join(f"count(*) FILTER (WHERE v.verdict = '{v}') AS {v}" for v in VERDICTS),
        types=", ".join(
            f"count(*) FILTER (WHERE p.change_type = '{t}') AS type_{t}" for t in CHANGE_TYPES
        ),
        state=HANDLING_STATE_SQL,
    )
    params = {
        "d": district_code(conn),
        "b": batch_id,
        "street": street_code,
        "now": now or datetime.now(UTC),
    }
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.text(sql), params).mappings():
        figures = {k: v for k, v in row.items() if k != "batch_id"}
        figures["change_types"] = {t: figures.pop(f"type_{t}") for t in CHANGE_TYPES}
        figures["verdicts"] = {v: figures.pop(v) for v in (*VERDICTS, "unchecked")}
        figures["handling"] = {s: figures.pop(s) for s in HANDLING_STATES}
        for key in ("area_m2", "dust_area_m2", "dust_area_covered_m2"):
            figures[key] = round(float(figures[key]), 1)
        out[str(row["batch_id"])] = figures
    return out


_BATCHES = """
SELECT id, delivered_at, dispatched_at, vendor, note, file_name, file_sha256, source_crs,
       created_at,
       (SELECT coalesce(jsonb_object_agg(role, jsonb_build_object(
            'path', path, 'bands', bands, 'scale', scale, 'crs', crs, 'width', width,
            'height', height, 'acquired_on', acquired_on)), '{}')
        FROM patch_imagery i WHERE i.district_code = b.district_code AND i.batch_id = b.id)
           AS imagery
FROM patch_batches b
WHERE b.district_code = :d AND (CAST(:b AS text) IS NULL OR b.id = :b)
ORDER BY b.delivered_at DESC, b.id DESC
"""


def list_batches(conn: Connection, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every batch, newest first, with its imagery and :func:`batch_figures`."""
    d = district_code(conn)
    figures = batch_figures(conn, now=now)
    rows = conn.execute(sa.text(_BATCHES), {"d": d, "b": None}).mappings()
    return [dict(r) | {"figures": figures.get(str(r["id"]), {})} for r in rows]


def get_batch(conn: Connection, batch_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """One batch with its imagery and figures; :class:`NotFound` when there is none."""
    d = district_code(conn)
    row = conn.execute(sa.text(_BATCHES), {"d": d, "b": batch_id}).mappings().first()
    if row is None:
        raise NotFound(f"There is no patch batch '{batch_id}'.")
    figures = batch_figures(conn, batch_id=batch_id, now=now)
    return dict(row) | {"figures": figures.get(batch_id, {})}
