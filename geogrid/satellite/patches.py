"""Reading patches: a filtered list and one patch with its handling, photos and verification."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter, NotFound
from geogrid.satellite.batches import HANDLING_STATE_SQL, district_code
from geogrid.satellite.handling import handling_records
from geogrid.satellite.rules import CHANGE_TYPES, HANDLING_STATES, VERDICTS

#: Values of the ``status`` filter: a verdict, ``unchecked``, a handling state, or one of these.
STATUSES = (*VERDICTS, "unchecked", *HANDLING_STATES, "overdue", "open", "closed")

_SELECT = f"""
SELECT p.id, p.batch_id, p.patch_code, p.change_type, round(p.area_m2::numeric, 1) AS area_m2,
       p.grid_code, p.grid_codes, p.community_code, p.street_code, p.department, p.sub_class,
       p.case_id, p.dispatched_at, c.due_at, c.handled_at, c.closed_at,
       {HANDLING_STATE_SQL} AS handling_state, v.verdict, v.computed_at AS verified_at,
       coalesce(c.closed_at, :now) > c.due_at AND c.due_at <= :now AS overdue,
       ST_X(ST_PointOnSurface(p.geom)) AS lon, ST_Y(ST_PointOnSurface(p.geom)) AS lat
"""
_FROM = """
FROM patches p
JOIN cases c ON c.district_code = p.district_code AND c.case_id = p.case_id
LEFT JOIN patch_verifications v ON v.district_code = p.district_code AND v.patch_id = p.id
WHERE p.district_code = :d
  AND (CAST(:batch AS text) IS NULL OR p.batch_id = :batch)
  AND (CAST(:street AS text) IS NULL OR p.street_code = :street)
  AND (CAST(:change_type AS text) IS NULL OR p.change_type = :change_type)
"""
_STATUS = {
    "unchecked": "v.verdict IS NULL",
    "overdue": "coalesce(c.closed_at, :now) > c.due_at AND c.due_at <= :now",
    "open": "c.closed_at IS NULL",
    "closed": "c.closed_at IS NOT NULL",
    **{v: f"v.verdict = '{v}'" for v in VERDICTS},
    **{s: f"({HANDLING_STATE_SQL}) = '{s}'" for s in HANDLING_STATES},
}


def _labelled(row: dict[str, Any]) -> dict[str, Any]:
    row["change_type_label"] = CHANGE_TYPES[row["change_type"]]
    row["handling_label"] = HANDLING_STATES[row["handling_state"]]
    row["verdict_label"] = VERDICTS.get(row["verdict"] or "", "未核验")
    row["area_m2"] = float(row["area_m2"])
    return row


def list_patches(
    conn: Connection,
    *,
    batch_id: str | None = None,
    status: str | None = None,
    street_code: str | None = None,
    change_type: str | None = None,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Patches in batch and code order, with their handling state and verdict; and the total.

    Parameters
    ----------
    status
        One of :data:`STATUSES`: a verdict, ``unchecked`` (never verified), a handling state
        (``pending``, ``on_site``, ``documents``), ``overdue``, ``open`` or ``closed``.

    Raises
    ------
    InvalidParameter
        For an unknown status or change type.
    """
    if status is not None and status not in _STATUS:
        raise InvalidParameter(f"Status '{status}' is not one of {', '.join(STATUSES)}.")
    if change_type is not None and change_type not in CHANGE_TYPES:
        raise InvalidParameter(
            f"Change type '{change_type}' is not one of {', '.join(CHANGE_TYPES)}."
        )
    where = _FROM + (f" AND {_STATUS[status]}" if status else "")
    params = {
        "d": district_code(conn),
        "batch": batch_id,
        "street": street_code,
        "change_type": change_type,
        "now": now or datetime.now(UTC),
        "limit": limit,
        "offset": offset,
    }
    total = int(conn.execute(sa.text("SELECT count(*) " + where), params).scalar_one())
    rows = conn.execute(
        sa.text(_SELECT + where + " ORDER BY p.batch_id, p.patch_code LIMIT :limit OFFSET :offset"),
        params,
    ).mappings()
    return [_labelled(dict(r)) for r in rows], total


def get_patch(conn: Connection, patch_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """One patch: attributes, GeoJSON geometry, handling records with photos' EXIF, verification.

    Raises
    ------
    NotFound
        When there is no patch ``patch_id``.
    """
    d = district_code(conn)
    row = (
        conn.execute(
            sa.text(
                _SELECT + ", ST_AsGeoJSON(p.geom, 7) AS geometry, p.before_date, p.after_date, "
                "p.declared_area_m2, p.note, v.figures, v.rules " + _FROM + " AND p.id = :id"
            ),
            {
                "d": d,
                "id": patch_id,
                "batch": None,
                "street": None,
                "change_type": None,
                "now": now or datetime.now(UTC),
            },
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"There is no patch {patch_id}.")
    patch = _labelled(dict(row))
    patch["geometry"] = json.loads(patch["geometry"])
    patch["verification"] = (
        {
            "verdict": patch["verdict"],
            "label": patch["verdict_label"],
            "computed_at": patch["verified_at"],
            "figures": patch.pop("figures"),
            "rules": patch.pop("rules"),
        }
        if patch["verdict"]
        else None
    )
    patch.pop("figures", None)
    patch.pop("rules", None)
    patch["handling"] = handling_records(conn, patch_id, district=d)
    roles = conn.execute(
        sa.text(
            "SELECT role FROM patch_imagery i JOIN patches p ON p.district_code = i.district_code "
            "AND p.batch_id = i.batch_id WHERE p.district_code = :d AND p.id = :id "
            "AND ST_Intersects(i.footprint, p.geom) ORDER BY role"
        ),
        {"d": d, "id": patch_id},
    ).scalars()
    patch["imagery"] = list(roles)
    return patch
