"""Component updates through the one plan mechanism: dry run → review → apply, versioned.

A plan compares a file with the current inventory by code: added, removed (in the scope of
the subclasses the file carries, unless the upload is partial), recoded (a code gone and a
new one of the same subclass within 1 m), moved (> 1 m), owner changed, status changed, other
attributes changed (DOMAIN.md §1b, §2). Applying closes the replaced versions and inserts the
new ones in one transaction; any applied version can be restored as a new version.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.catalogue import Catalogue
from geogrid.changes.plans import (
    Plan,
    create_plan,
    decide,
    get_plan,
    lock_for_apply,
    set_summary,
)
from geogrid.components import diff_sql as Q
from geogrid.components.rules import MOVE_THRESHOLD_M, make_component_code
from geogrid.components.upload import ComponentUpload
from geogrid.components.validate import validate_components
from geogrid.db.copy import copy_csv_in
from geogrid.errors import InvalidParameter, NotFound, ValidationFailed
from geogrid.features.query import layer_versions

KIND = "components"
Progress = Callable[[str, float], None]
KINDS = ("added", "removed", "recoded", "moved", "owner_changed", "status_changed", "changed")
KIND_LABELS = {
    "added": "新增",
    "removed": "删除",
    "recoded": "重新编码",
    "moved": "位移",
    "owner_changed": "权属变更",
    "status_changed": "状态变更",
    "changed": "属性变更",
}


def _quiet(stage: str, fraction: float) -> None:
    return None


def _district(conn: Connection) -> tuple[str, Any]:
    rows = conn.execute(
        sa.text("SELECT code, ST_AsBinary(geom) FROM districts ORDER BY code")
    ).all()
    if len(rows) != 1:
        raise InvalidParameter(
            "Component updates need exactly one district in the database; "
            f"found {len(rows)}. Load the territory first."
        )
    return str(rows[0][0]), shapely.from_wkb(bytes(rows[0][1]))


def assign_codes(conn: Connection, frame: gpd.GeoDataFrame, district_code: str) -> int:
    """Give components without a code the next unused 17-digit code of their subclass.

    Sequences continue after the highest ever used (kept in ``component_sequences`` and in
    every version of the inventory), so a code is never reused. Returns how many were given.
    """
    todo = frame["code"].isna()
    if not todo.any():
        return 0
    last: dict[str, int] = {
        str(k): int(v)
        for k, v in conn.execute(sa.text(Q.LAST_SEQUENCES), {"d": district_code}).all()
    }
    taken = frame["code"].dropna()
    for code in taken[taken.str.len() == 17]:
        if code[:6] == district_code:
            last[code[6:11]] = max(last.get(code[6:11], 0), int(code[11:]))
    codes = frame["code"].to_numpy(dtype=object).copy()
    for i in np.flatnonzero(todo.to_numpy()):
        sub = frame["sub_class"].iat[i]
        last[sub] = last.get(sub, 0) + 1
        codes[i] = make_component_code(district_code, sub, last[sub])
    frame["code"] = codes
    return int(todo.sum())


def _stage(conn: Connection, frame: gpd.GeoDataFrame) -> None:
    staged = pd.DataFrame({c: frame[c] for c in Q.STAGED if c not in ("row_number", "wkb")})
    staged.insert(0, "row_number", frame["row"].to_numpy())
    staged["wkb"] = shapely.to_wkb(np.asarray(frame.geometry.array), hex=True)
    buffer = io.StringIO()
    staged[list(Q.STAGED)].to_csv(buffer, header=False, index=False, na_rep="")
    buffer.seek(0)
    conn.execute(sa.text(Q.STAGE))
    copy_csv_in(conn, "component_stage", Q.STAGED, buffer)


def _summary(conn: Connection, plan_id: int, matched: int, extra: dict[str, Any]) -> dict[str, Any]:
    rows = conn.execute(
        sa.text("SELECT kind, count(*) FROM change_plan_changes WHERE plan_id = :p GROUP BY kind"),
        {"p": plan_id},
    ).all()
    by_kind = {k: 0 for k in KINDS} | {str(k): int(n) for k, n in rows}
    flags = conn.execute(
        sa.text(
            "SELECT flag, count(*) FROM change_plan_changes, "
            "jsonb_array_elements_text(details->'changes') AS flag "
            "WHERE plan_id = :p GROUP BY flag"
        ),
        {"p": plan_id},
    ).all()
    modified = sum(by_kind[k] for k in ("moved", "owner_changed", "status_changed", "changed"))
    return {
        **extra,
        "changes": by_kind,
        "attribute_changes": {str(f): int(n) for f, n in flags},
        "unchanged": matched - modified,
    }


def plan_component_update(
    conn: Connection,
    upload: ComponentUpload,
    *,
    catalogue: Catalogue,
    created_by: str,
    partial: bool = False,
    effective_from: datetime | None = None,
    restores: int | None = None,
    scope: list[str] | None = None,
    progress: Progress = _quiet,
) -> Plan:
    """Validate a component file and store the dry-run plan of what applying it would change.

    Parameters
    ----------
    upload
        From :func:`geogrid.components.upload.read_component_upload` (EPSG:4326).
    partial
        The file holds only some components of its subclasses: nothing is removed.
        Otherwise the file is the whole inventory of the subclasses it carries, and their
        components absent from it are removed.
    scope
        Subclasses whose absent components are removed (default: the file's).

    Raises
    ------
    ValidationFailed
        Listing every bad feature (see :mod:`geogrid.components.validate`); nothing stored.
    """
    district_code, outline = _district(conn)
    progress("validating", 0.05)
    frame = validate_components(
        upload.features,
        catalogue=catalogue,
        district_code=district_code,
        district=outline,
        shown=upload.file_name,
    )
    generated = assign_codes(conn, frame, district_code)
    progress("staging", 0.3)
    plan_id = create_plan(
        conn,
        kind=KIND,
        district_code=district_code,
        file_name=upload.file_name,
        file_sha256=upload.sha256,
        source_crs=upload.source_crs,
        created_by=created_by,
        base_versions=dict(zip([KIND], layer_versions(conn, [KIND]), strict=True)),
        effective_from=effective_from,
        restores=restores,
    )
    _stage(conn, frame)
    conn.execute(sa.text(Q.STORE_FEATURES), {"p": plan_id})
    progress("comparing", 0.5)
    classes = sorted(set(frame["sub_class"])) if scope is None else scope
    in_scope = [] if partial else classes
    params = {"p": plan_id, "d": district_code, "scope": in_scope, "move_m": MOVE_THRESHOLD_M}
    for statement in (Q.PLAN_VIEWS, Q.RECODED, Q.CHANGES):
        for part in statement.split(";"):
            if part.strip():
                conn.execute(sa.text(part), params)
    matched = int(conn.execute(sa.text(Q.MATCHED)).scalar_one())
    summary = _summary(
        conn,
        plan_id,
        matched,
        {
            "components_in_file": len(frame),
            "codes_generated": generated,
            "partial": partial,
            "sub_classes": classes,
        },
    )
    set_summary(conn, plan_id, summary)
    progress("done", 1.0)
    return get_plan(conn, plan_id)


def apply_component_update(
    conn: Connection, plan_id: int, *, decided_by: str, progress: Progress = _quiet
) -> Plan:
    """Make plan ``plan_id`` current in the caller's transaction; refuse a stale plan.

    Replaced versions are closed (``valid_to``, ``ended_by``), never deleted; new versions
    carry the plan id as ``change_id`` and the grid, community and street they lie in.
    """
    plan = lock_for_apply(conn, plan_id, kind=KIND)
    params = {"p": plan_id, "d": plan.district_code}
    progress("closing replaced versions", 0.2)
    closed = conn.execute(sa.text(Q.CLOSE), params).rowcount
    progress("writing new versions", 0.5)
    inserted = conn.execute(sa.text(Q.INSERT_VERSIONS), params).rowcount
    conn.execute(sa.text(Q.SEQUENCES), params)
    set_summary(
        conn, plan_id, {**plan.summary, "applied": {"closed": closed, "inserted": inserted}}
    )
    decide(conn, plan_id, status="applied", decided_by=decided_by)
    progress("done", 1.0)
    return get_plan(conn, plan_id)


def applied_versions(conn: Connection) -> list[int]:
    """Ids of the applied component plans (each a version of the inventory), oldest first."""
    rows = conn.execute(
        sa.text(
            "SELECT id FROM change_plans WHERE kind = 'components' AND status = 'applied' "
            "ORDER BY id"
        )
    ).scalars()
    return [int(r) for r in rows]


def components_at_version(conn: Connection, version: int) -> gpd.GeoDataFrame:
    """The inventory as it was right after version ``version`` (0: before any plan)."""
    sql = (
        "SELECT code, sub_class, name, department, owner, maintainer, status, install_date, "
        "change_date, data_source, photo_url, note, geom FROM components "
        "WHERE (change_id IS NULL OR change_id <= :v) AND (ended_by IS NULL OR ended_by > :v) "
        "ORDER BY code"
    )
    return gpd.read_postgis(sa.text(sql), conn, params={"v": version}, geom_col="geom")


def restore_component_version(
    conn: Connection, version: int, *, catalogue: Catalogue, created_by: str
) -> Plan:
    """Roll the inventory back to its state after ``version`` (0 = initial), as a new version."""
    if version != 0 and version not in applied_versions(conn):
        raise NotFound(f"There is no applied component version {version}.")
    state = components_at_version(conn, version)
    current = conn.execute(
        sa.text("SELECT DISTINCT sub_class FROM components WHERE valid_to IS NULL")
    ).scalars()
    scope = sorted(set(current) | set(state["sub_class"]))
    if state.empty and not scope:
        raise InvalidParameter("There are no components to restore.")
    frame = state.rename_geometry("geometry")
    frame.insert(0, "row", np.arange(1, len(frame) + 1))
    frame.insert(0, "layer", "restore")
    frame["install_date"] = frame["install_date"].astype(object)
    frame["change_date"] = frame["change_date"].astype(object)
    digest = hashlib.sha256(",".join(frame["code"]).encode()).hexdigest()
    upload = ComponentUpload(frame, f"restore of version {version}", digest, "EPSG:4326", [])
    try:
        plan = plan_component_update(
            conn, upload, catalogue=catalogue, created_by=created_by, restores=version, scope=scope
        )
    except ValidationFailed as exc:
        raise InvalidParameter(f"Version {version} cannot be restored: {exc.message}") from None
    return apply_component_update(conn, plan.id, decided_by=created_by)


def plan_changes(
    conn: Connection, plan_id: int, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The plan's changes in order (old and new code, kind, street, details)."""
    get_plan(conn, plan_id, kind=KIND)
    rows = conn.execute(
        sa.text(
            "SELECT seq, kind, old_codes[1] AS old_code, new_codes[1] AS new_code, street_code, "
            "community_code, details FROM change_plan_changes WHERE plan_id = :p ORDER BY seq "
            "LIMIT :n OFFSET :o"
        ),
        {"p": plan_id, "n": limit, "o": offset},
    ).mappings()
    return [dict(r) for r in rows]


def component_history(conn: Connection, code: str) -> list[dict[str, Any]]:
    """Every version of one component, oldest first; NotFound when the code never existed."""
    rows = conn.execute(
        sa.text(
            "SELECT version, sub_class, name, owner, maintainer, status, valid_from, valid_to, "
            "change_id, ended_by, ST_AsText(geom) AS wkt FROM components WHERE code = :c "
            "ORDER BY version"
        ),
        {"c": code},
    ).mappings()
    history = [dict(r) for r in rows]
    if not history:
        raise NotFound(f"There is no component {code}.")
    return history
