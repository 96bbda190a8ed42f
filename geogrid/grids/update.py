"""Grid-boundary updates (DOMAIN.md §1b): plan from an uploaded file, apply, roll back.

A file covers whole communities: for every community in it, the file's grids become that
community's complete set (grids missing from the file are removed); other communities are
untouched. ``plan_grid_update`` validates (every problem at once; nothing stored on error),
diffs against the current grids, stores the plan and its 对照表; ``apply_grid_update`` makes it
current in one transaction; ``restore_grid_version`` rolls back through a new plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.changes.plans import Plan, create_plan, decide, get_plan, lock_for_apply, set_summary
from geogrid.errors import InvalidParameter, NotFound, Problem, ValidationFailed
from geogrid.features.query import layer_versions
from geogrid.grids import store
from geogrid.grids.diff import GridDiff, classify_changes
from geogrid.grids.impact import compute_impact, reassign_cases
from geogrid.grids.upload import GridUpload
from geogrid.grids.validate import validate_grids

KIND = "grids"

Progress = Callable[[str, float], None]


def _quiet(stage: str, fraction: float) -> None:
    """No progress report."""


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _database_problems(
    conn: Connection, grids: gpd.GeoDataFrame, communities: Sequence[str]
) -> list[Problem]:
    """Rules that need the database: codes in use by another community, retired codes."""
    codes = [c for c in grids["code"].dropna().astype(str)]
    where = {str(r.code): f"feature {r.row} ({r.code})" for r in grids.itertuples()}
    problems = [
        Problem(
            where[code],
            "code_in_use",
            f"Grid code {code} is in use by community {owner}, which this file does not cover.",
        )
        for code, owner in sorted(store.codes_in_use_elsewhere(conn, codes, communities).items())
    ]
    problems += [
        Problem(
            where[code],
            "code_reused",
            f"Grid code {code} belonged to a grid that was removed; codes are never reused.",
        )
        for code in sorted(store.retired_codes(conn, codes))
    ]
    return problems


def _store_features(
    conn: Connection, plan_id: int, layer: str, frame: gpd.GeoDataFrame, attrs: Sequence[str]
) -> None:
    rows = [
        {
            "p": plan_id,
            "layer": layer,
            "row": int(r["row"]),
            "code": str(r["code"]),
            "attrs": json.dumps({a: _text(r.get(a)) for a in attrs}, ensure_ascii=False),
            "wkb": shapely.to_wkb(r["geometry"], hex=True, include_srid=False),
        }
        for r in frame.to_dict("records")
    ]
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO change_plan_features (plan_id, layer, row_number, code, attrs, geom) "
                "VALUES (:p, :layer, :row, :code, CAST(:attrs AS jsonb), "
                "ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326))"
            ),
            rows,
        )


def _store_changes(conn: Connection, plan_id: int, diff: GridDiff) -> None:
    rows = [
        {
            "p": plan_id,
            "seq": i,
            "kind": c.kind,
            "old": list(c.old_codes),
            "new": list(c.new_codes),
            "iou": None if c.iou is None else float(c.iou),
            "street": c.street_code,
            "community": c.community_code,
            "old_area": None if c.old_area_m2 is None else float(c.old_area_m2),
            "new_area": None if c.new_area_m2 is None else float(c.new_area_m2),
        }
        for i, c in enumerate(diff.changes, start=1)
    ]
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO change_plan_changes (plan_id, seq, kind, old_codes, new_codes, iou, "
                "street_code, community_code, old_area_m2, new_area_m2) VALUES (:p, :seq, :kind, "
                ":old, :new, :iou, :street, :community, :old_area, :new_area)"
            ),
            rows,
        )


def _communities_for(
    conn: Connection, upload: GridUpload, codes: Sequence[str]
) -> gpd.GeoDataFrame:
    """Boundaries the grids must fill: the file's where it has them, else the current ones."""
    current = store.current_communities(conn, codes)
    if upload.communities is None or upload.communities.empty:
        return current
    given = upload.communities
    missing = current[~current["code"].isin(given["code"])]
    return gpd.GeoDataFrame(pd.concat([given, missing], ignore_index=True), crs=4326)


def plan_grid_update(
    conn: Connection,
    upload: GridUpload,
    *,
    created_by: str,
    fix: bool = False,
    effective_from: datetime | None = None,
    area_band: tuple[float, float] = (2000.0, 100_000.0),
    communities: Sequence[str] | None = None,
    restores: int | None = None,
    validate: bool = True,
    progress: Progress = _quiet,
) -> Plan:
    """Validate ``upload``, diff it against the current grids and store a pending plan.

    Raises :class:`ValidationFailed` listing every error (with the warnings) when the file
    breaks any rule; nothing is stored then. ``communities`` overrides the set of communities
    the plan replaces (a roll-back may empty a community); by default, those in the file.
    """
    grids = upload.grids
    scope = sorted(set(communities or grids["community_code"].dropna().astype(str)))
    if not scope:
        raise ValidationFailed("The file holds no grid with a community code; nothing to plan.")
    districts = {c[:6] for c in scope}
    if len(districts) != 1:
        raise ValidationFailed(
            f"A plan covers one district; the file has communities of {sorted(districts)}."
        )
    warnings: list[Problem] = []
    fixes: list[Problem] = []
    if validate:
        progress("validating", 0.05)
        report = validate_grids(
            grids, _communities_for(conn, upload, scope), area_band=area_band, fix=fix
        )
        errors = list(report.errors) + _database_problems(conn, report.grids, scope)
        warnings, fixes, grids = list(report.warnings), list(report.fixes), report.grids
        if errors:
            raise ValidationFailed(
                f"'{upload.file_name}' breaks {len(errors)} rule(s) in "
                f"{len({p.where for p in errors})} place(s); nothing was stored. "
                f"First: {errors[0].message}",
                errors + warnings,
            )
    progress("storing the plan", 0.3)
    plan_id = create_plan(
        conn,
        kind=KIND,
        district_code=districts.pop(),
        file_name=upload.file_name,
        file_sha256=upload.sha256,
        source_crs=upload.source_crs,
        created_by=created_by,
        base_versions=dict(
            zip(store.TERRITORY_LAYERS, layer_versions(conn, store.TERRITORY_LAYERS), strict=True)
        ),
        effective_from=effective_from,
        restores=restores,
        warnings=warnings,
        fixes=fixes,
    )
    _store_features(
        conn, plan_id, "grids", grids, ("community_code", "community_name", "grid_type", "name")
    )
    for layer, frame, attrs in (
        ("communities", upload.communities, ("name", "street_code", "street_name")),
        ("streets", upload.streets, ("name",)),
    ):
        if frame is not None and not frame.empty:
            _store_features(conn, plan_id, layer, frame, attrs)
    # Fresh statistics, so that the case join below uses the spatial index.
    conn.execute(sa.text("ANALYZE change_plan_features"))
    progress("comparing with the current grids", 0.45)
    old = store.current_grids(conn, scope)
    new = grids.assign(street_code=grids["code"].astype(str).str[:9])
    diff = classify_changes(old, new)
    _store_changes(conn, plan_id, diff)
    changed = sorted(
        {
            code
            for c in diff.changes
            if c.kind != "unchanged"
            for code in (*c.old_codes, *c.new_codes)
        }
    )
    progress("locating historical cases", 0.6)
    cases = compute_impact(conn, plan_id, scope, changed)
    set_summary(
        conn,
        plan_id,
        {
            "community_codes": scope,
            "grids_in_file": len(grids),
            "grids_before": len(old),
            "changes": diff.counts(),
            "by_street": diff.counts_by("street"),
            "by_community": diff.counts_by("community"),
            "cases": cases,
            "warnings": len(warnings),
            "fixes": len(fixes),
        },
    )
    return get_plan(conn, plan_id)


NEW_VERSIONS = """
INSERT INTO {table} (district_code, code, version, {columns}, geom, valid_from, change_id)
SELECT left(f.code, 6), f.code, coalesce(v.version, 0) + 1, {values}, ST_Multi(f.geom),
       p.effective_from, p.id
FROM change_plan_features f
JOIN change_plans p ON p.id = f.plan_id
LEFT JOIN (SELECT code, max(version) AS version FROM {table} GROUP BY code) v ON v.code = f.code
WHERE f.plan_id = :p AND f.layer = '{table}'
"""

CLOSE_VERSIONS = """
UPDATE {table} t SET valid_to = p.effective_from, ended_by = p.id
FROM change_plans p
WHERE p.id = :p AND t.valid_to IS NULL AND {scope}
"""

# What each layer's new version takes from the plan's feature attributes.
LAYER_VALUES = {
    "grids": {
        "community_code": "f.attrs ->> 'community_code'",
        "street_code": "left(f.code, 9)",
        "grid_type": "coalesce(f.attrs ->> 'grid_type', 'city')",
        "name": "f.attrs ->> 'name'",
    },
    "communities": {
        "street_code": "coalesce(f.attrs ->> 'street_code', left(f.code, 9))",
        "name": "coalesce(f.attrs ->> 'name', f.code)",
    },
    "streets": {
        "name": "coalesce(f.attrs ->> 'name', f.code)",
        "kind": "CASE WHEN substr(f.code, 7, 3)::int < 100 THEN '街道' "
        "WHEN substr(f.code, 7, 3)::int < 200 THEN '镇' ELSE '乡' END",
    },
}


def _replace_versions(conn: Connection, plan_id: int, table: str, scope: list[str]) -> None:
    """Close the current versions the plan replaces and insert the plan's as new versions.

    Grids are replaced community by community (``scope``); communities and streets code by
    code, only where the file carries their boundaries.
    """
    where = (
        "t.community_code = ANY(:c)"
        if table == "grids"
        else f"t.code IN (SELECT code FROM change_plan_features WHERE plan_id = :p "
        f"AND layer = '{table}')"
    )
    params = {"p": plan_id, "c": scope}
    conn.execute(sa.text(CLOSE_VERSIONS.format(table=table, scope=where)), params)
    values = LAYER_VALUES[table]
    sql = NEW_VERSIONS.format(
        table=table, columns=", ".join(values), values=", ".join(values.values())
    )
    conn.execute(sa.text(sql), params)


def apply_grid_update(
    conn: Connection, plan_id: int, *, decided_by: str, progress: Progress = _quiet
) -> Plan:
    """Make plan ``plan_id`` current in one transaction (the caller's); refuse a stale plan.

    Old versions are closed (``valid_to``, ``ended_by``), never deleted; the new ones carry the
    plan id as ``change_id``; the listed cases get their current grid re-assigned.
    """
    plan = lock_for_apply(conn, plan_id, kind=KIND)
    scope = list(plan.summary["community_codes"])
    params = {"p": plan_id, "c": scope}
    # Cases registered since the plan was made are located too, so the impact is computed
    # again, while the grids it replaces are still current.
    progress("locating cases", 0.1)
    changed = (
        conn.execute(
            sa.text(
                "SELECT DISTINCT unnest(old_codes || new_codes) FROM change_plan_changes "
                "WHERE plan_id = :p AND kind <> 'unchanged'"
            ),
            params,
        )
        .scalars()
        .all()
    )
    cases = compute_impact(conn, plan_id, scope, [str(c) for c in changed])
    progress("writing new versions", 0.6)
    for table in ("grids", "communities", "streets"):
        _replace_versions(conn, plan_id, table, scope)
    progress("re-assigning cases", 0.8)
    cases["updated"] = reassign_cases(conn, plan_id)
    set_summary(conn, plan_id, {**plan.summary, "cases": cases})
    decide(conn, plan_id, status="applied", decided_by=decided_by)
    return get_plan(conn, plan_id)


def restore_grid_version(conn: Connection, version: int, *, created_by: str) -> Plan:
    """Roll the grids back to their state right after ``version`` (0 = initial), as a new version.

    Every community whose grids changed after ``version`` gets back its grids of that time,
    through a plan that is applied at once; its history therefore records the roll-back.
    """
    if version not in store.applied_versions(conn):
        raise NotFound(f"There is no applied grid version {version}.")
    scope = store.communities_changed_after(conn, version)
    if not scope:
        raise InvalidParameter(f"Nothing changed after version {version}; nothing to restore.")
    frame = store.grids_at_version(conn, version, scope)
    frame.insert(0, "row", range(1, len(frame) + 1))
    frame["community_name"] = None
    digest = hashlib.sha256(
        b"".join(shapely.to_wkb(g) for g in frame.geometry) + ",".join(frame["code"]).encode()
    ).hexdigest()
    upload = GridUpload(
        grids=frame,
        communities=None,
        streets=None,
        file_name=f"restore of version {version}",
        sha256=digest,
        source_crs="EPSG:4326",
    )
    plan = plan_grid_update(
        conn, upload, created_by=created_by, communities=scope, restores=version, validate=False
    )
    return apply_grid_update(conn, plan.id, decided_by=created_by)


def plan_changes(conn: Connection, plan_id: int) -> list[dict[str, Any]]:
    """The plan's grid changes, in order."""
    get_plan(conn, plan_id, kind=KIND)
    rows = (
        conn.execute(
            sa.text(
                "SELECT kind, old_codes, new_codes, iou, street_code, community_code, old_area_m2, "
                "new_area_m2 FROM change_plan_changes WHERE plan_id = :p ORDER BY seq"
            ),
            {"p": plan_id},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]
