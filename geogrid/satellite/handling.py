"""Handling records of a patch (实地处置 / 材料结案) and their evidence photos (DOMAIN.md §6).

A record stores who handled the patch, when, how (on site or by documents) and its photos. It
also moves the patch's case along the workflow (DOMAIN.md §3): the first record sets the case's
``handled_at``; a record that closes the patch sets ``closed_at`` when the case is still open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.auth.principal import UNLIMITED, Scope
from geogrid.errors import Forbidden, NotFound, Problem, ValidationFailed
from geogrid.satellite.batches import district_code
from geogrid.satellite.photos import MAX_PHOTOS, Photo
from geogrid.satellite.rules import HANDLING_TYPES

MAX_NOTE = 2000

_INSERT_PHOTO = """
INSERT INTO patch_photos (district_code, patch_id, handling_id, file_name, sha256, size_bytes,
    width, height, content, geom, taken_at, taken_at_source, exif)
VALUES (:d, :patch, :handling, :name, :sha, :size, :width, :height, :content,
    CASE WHEN CAST(:lon AS double precision) IS NULL THEN NULL
         ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
    :taken, :source, CAST(:exif AS jsonb))
"""


def _invalid(field: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [Problem(field, rule, message)])


def add_handling(
    conn: Connection,
    patch_id: int,
    *,
    handling_type: str,
    handler: str,
    handled_at: datetime,
    note: str | None = None,
    closes: bool = True,
    covered_area_m2: float | None = None,
    photos: Sequence[Photo] = (),
    tz: str = "Asia/Shanghai",
    now: datetime | None = None,
    scope: Scope = UNLIMITED,
) -> dict[str, Any]:
    """Record how a patch was handled, with its evidence photos, in the caller's transaction.

    Parameters
    ----------
    handling_type
        ``on_site`` (实地处置: demolition, covering, greening) or ``documents`` (材料结案).
    handled_at
        When it was handled; naive values are local time in ``tz``. Not before the patch was
        dispatched, not in the future.
    closes
        The record closes the patch (the case's ``closed_at``).
    covered_area_m2
        For dust sources: the area reported as covered, in square metres.
    photos
        From :func:`geogrid.satellite.photos.read_photo`.
    scope
        What the writer may write: a street operator (``scope.streets``) only the patches of
        its streets.

    Returns
    -------
    dict
        The stored record with its photos (without their bytes).

    Raises
    ------
    NotFound
        When there is no patch ``patch_id``.
    Forbidden
        When the patch lies in a street outside the writer's scope; nothing is written.
    ValidationFailed
        For an unknown handling type, an empty handler, a time out of range, too many photos.
    """
    d = district_code(conn)
    patch = conn.execute(
        sa.text(
            "SELECT p.id, p.case_id, p.dispatched_at, p.street_code, c.closed_at FROM patches p "
            "JOIN cases c ON c.district_code = p.district_code AND c.case_id = p.case_id "
            "WHERE p.district_code = :d AND p.id = :id FOR UPDATE OF p"
        ),
        {"d": d, "id": patch_id},
    ).first()
    if patch is None:
        raise NotFound(f"There is no patch {patch_id}.")
    if scope.supervisor_id is not None or (
        scope.streets is not None and patch.street_code not in scope.streets
    ):
        raise Forbidden(
            f"Patch {patch_id} lies in street {patch.street_code}, outside the streets this "
            "account may write."
        )
    if handling_type not in HANDLING_TYPES:
        raise _invalid(
            "handling_type",
            "unknown_value",
            f"Handling type '{handling_type}' is not one of "
            + ", ".join(f"{k} ({v})" for k, v in HANDLING_TYPES.items())
            + ".",
        )
    if not handler.strip() or len(handler) > 100:
        raise _invalid("handler", "bad_value", "The handler must be 1 to 100 characters.")
    if note is not None and len(note) > MAX_NOTE:
        raise _invalid("note", "too_long", f"The note is longer than {MAX_NOTE} characters.")
    if covered_area_m2 is not None and not covered_area_m2 >= 0:
        raise _invalid("covered_area_m2", "bad_value", "The covered area must be ≥ 0 m².")
    if len(photos) > MAX_PHOTOS:
        raise _invalid("photos", "too_many", f"At most {MAX_PHOTOS} photos per record.")
    at = handled_at
    if at.tzinfo is None:
        at = pd.Timestamp(at).tz_localize(tz).to_pydatetime()
    if at < patch.dispatched_at:
        raise _invalid(
            "handled_at",
            "before_dispatch",
            f"The handling time {at:%Y-%m-%d %H:%M %z} is before the patch was dispatched "
            f"({patch.dispatched_at:%Y-%m-%d %H:%M %z}).",
        )
    if at > (now or datetime.now(UTC)) + timedelta(days=1):
        raise _invalid("handled_at", "in_future", "The handling time lies in the future.")

    handling_id = conn.execute(
        sa.text(
            "INSERT INTO patch_handling (district_code, patch_id, handling_type, handler, "
            "handled_at, closes, covered_area_m2, note) VALUES (:d, :p, :t, :h, :at, :closes, "
            ":area, :note) RETURNING id"
        ),
        {
            "d": d,
            "p": patch_id,
            "t": handling_type,
            "h": handler.strip(),
            "at": at,
            "closes": closes,
            "area": covered_area_m2,
            "note": note,
        },
    ).scalar_one()
    if photos:
        conn.execute(
            sa.text(_INSERT_PHOTO),
            [
                {
                    "d": d,
                    "patch": patch_id,
                    "handling": handling_id,
                    "name": p.file_name,
                    "sha": p.sha256,
                    "size": len(p.content),
                    "width": p.width,
                    "height": p.height,
                    "content": p.content,
                    "lon": p.lon,
                    "lat": p.lat,
                    "taken": p.taken_at,
                    "source": p.taken_at_source,
                    "exif": json.dumps(p.exif, ensure_ascii=False),
                }
                for p in photos
            ],
        )
    conn.execute(
        sa.text(
            "UPDATE cases SET handled_at = LEAST(coalesce(handled_at, :at), :at), "
            "closed_at = CASE WHEN :closes AND closed_at IS NULL THEN :at ELSE closed_at END, "
            "updated_at = now() WHERE district_code = :d AND case_id = :c"
        ),
        {"d": d, "c": patch.case_id, "at": at, "closes": closes},
    )
    records = handling_records(conn, patch_id, district=d)
    return next(r for r in records if r["id"] == handling_id)


def handling_records(
    conn: Connection, patch_id: int, *, district: str | None = None
) -> list[dict[str, Any]]:
    """The handling records of a patch, oldest first, each with its photos' EXIF (no bytes)."""
    d = district or district_code(conn)
    records = [
        dict(r)
        for r in conn.execute(
            sa.text(
                "SELECT id, handling_type, handler, handled_at, closes, covered_area_m2, note, "
                "created_at FROM patch_handling WHERE district_code = :d AND patch_id = :p "
                "ORDER BY handled_at, id"
            ),
            {"d": d, "p": patch_id},
        ).mappings()
    ]
    photos = conn.execute(
        sa.text(
            "SELECT f.id, f.handling_id, f.file_name, f.sha256, f.size_bytes, f.width, f.height, "
            "ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat, f.taken_at, f.taken_at_source, f.exif, "
            "ST_Distance(f.geom::geography, p.geom::geography) AS distance_m "
            "FROM patch_photos f JOIN patches p ON p.district_code = f.district_code "
            "AND p.id = f.patch_id WHERE f.district_code = :d AND f.patch_id = :p ORDER BY f.id"
        ),
        {"d": d, "p": patch_id},
    ).mappings()
    by_record: dict[int, list[dict[str, Any]]] = {}
    for photo in photos:
        item = dict(photo)
        if item["distance_m"] is not None:
            item["distance_m"] = round(float(item["distance_m"]), 1)
        by_record.setdefault(int(item.pop("handling_id")), []).append(item)
    for record in records:
        record["photos"] = by_record.get(int(record["id"]), [])
    return records


def photo_content(conn: Connection, patch_id: int, photo_id: int) -> tuple[str, bytes]:
    """The file name and bytes of one evidence photo of a patch."""
    row = conn.execute(
        sa.text(
            "SELECT file_name, content FROM patch_photos WHERE district_code = :d "
            "AND patch_id = :p AND id = :id"
        ),
        {"d": district_code(conn), "p": patch_id, "id": photo_id},
    ).first()
    if row is None:
        raise NotFound(f"Patch {patch_id} has no photo {photo_id}.")
    return str(row.file_name), bytes(row.content)
