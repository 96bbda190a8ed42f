"""Responsibility-rule updates through the one plan mechanism: dry run → review → apply, versioned.

A plan compares a rule file with the current rules by rule code: added, changed (which
fields), removed (current rules of the scopes the file carries that it no longer lists,
unless the upload is partial); it lists the **conflicts** of the rule set it would leave (see
:mod:`geogrid.dispatch.rules`) and the open cases that would move to another unit. A plan
with conflicts cannot be applied. Applying closes the replaced versions (``ended_by``) and
inserts the new ones (``change_id``) in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
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
from geogrid.dispatch import sql as Q
from geogrid.dispatch.rules import Rule, validate_rules
from geogrid.dispatch.upload import RuleUpload
from geogrid.errors import InvalidParameter, NotFound, Problem, ValidationFailed
from geogrid.features.query import layer_versions

KIND = "responsibility"
#: The layers a plan is computed against: the rules, and the grids that grid-set areas resolve to.
DEPENDS_ON = ("grids", "responsibility_rules")
KINDS = ("added", "changed", "removed")
KIND_LABELS = {"added": "新增", "changed": "变更", "removed": "删除"}
LISTED_CONFLICTS = 200


class RuleConflicts(ValidationFailed):
    """A plan leaves two responsible units for the same subclass and place; it is not applied."""


def _district(conn: Connection) -> tuple[str, BaseGeometry]:
    rows = conn.execute(
        sa.text("SELECT code, ST_AsBinary(geom) FROM districts ORDER BY code")
    ).all()
    if len(rows) != 1:
        raise InvalidParameter(
            "Responsibility rules need exactly one district in the database; "
            f"found {len(rows)}. Load the territory first."
        )
    return str(rows[0][0]), shapely.from_wkb(bytes(rows[0][1]))


def _run(conn: Connection, statements: str, params: dict[str, Any]) -> None:
    for part in statements.split(";"):
        if part.strip():
            conn.execute(sa.text(part), params)


def _stage(conn: Connection, rules: Sequence[Rule]) -> None:
    _run(conn, Q.STAGE, {})
    conn.execute(
        sa.text(Q.STAGE_ROW),
        [
            {
                "seq": i,
                "row_label": r.where,
                "code": r.code,
                "case_type": r.case_type,
                "scope": r.scope,
                "unit": r.unit,
                "unit_kind": r.unit_kind,
                "area_kind": r.area_kind,
                "area_name": r.area_name,
                "grid_codes": list(r.grid_codes) if r.grid_codes is not None else None,
                "wkb": None if r.geometry is None else shapely.to_wkb(r.geometry, hex=True),
                "buffer_m": r.buffer_m,
                "priority": r.priority,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
                "note": r.note,
            }
            for i, r in enumerate(rules, start=1)
        ],
    )


def _conflicts(conn: Connection, plan_id: int, district_code: str) -> list[Problem]:
    """Conflicting pairs of the rule set the plan would leave, as problems."""
    _run(conn, Q.RESULT, {"p": plan_id, "d": district_code})
    problems = []
    for c in conn.execute(sa.text(Q.CONFLICTS), {"p": plan_id}).mappings():
        rows = " / ".join(r for r in (c["a_row"], c["b_row"]) if r)
        where = f"rules {c['a_code']} and {c['b_code']}" + (f" ({rows})" if rows else "")
        kind = {"grids": "grids", "polygon": "polygons", "road": "road segments"}[c["area_kind"]]
        place = f"grid(s) {c['place']}" if c["area_kind"] == "grids" else f"around {c['place']}"
        tie = f"priority {c['priority']}" if c["priority"] is not None else "no priority"
        problems.append(
            Problem(
                where,
                "responsibility_conflict",
                f"Rules {c['a_code']} ({c['a_unit']}) and {c['b_code']} ({c['b_unit']}) both "
                f"cover {c['scope']}{' ' + c['case_type'] if c['case_type'] else ''} cases "
                f"in overlapping {kind} at {place} with {tie} and overlapping validity; give "
                "one of them a priority (1 first), or change its area or dates.",
                location=None if c["lon"] is None else (float(c["lon"]), float(c["lat"])),
            )
        )
    return problems


def _summary(conn: Connection, plan_id: int, extra: dict[str, Any]) -> dict[str, Any]:
    rows = conn.execute(
        sa.text("SELECT kind, count(*) FROM change_plan_changes WHERE plan_id = :p GROUP BY kind"),
        {"p": plan_id},
    ).all()
    changes = {k: 0 for k in KINDS} | {str(k): int(n) for k, n in rows}
    return {
        **extra,
        "changes": changes,
        "unchanged": extra["rules_in_file"] - changes["added"] - changes["changed"],
    }


def plan_responsibility_update(
    conn: Connection,
    upload: RuleUpload,
    *,
    catalogue: Catalogue,
    created_by: str,
    partial: bool = False,
    effective_from: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> Plan:
    """Validate a rule file and store the dry-run plan of what applying it would change.

    Parameters
    ----------
    upload
        From :func:`geogrid.dispatch.upload.read_rule_upload` (EPSG:4326).
    partial
        The file holds only some rules: nothing is removed. Otherwise the file is the whole
        rule set of the scopes (subclasses, classes, ``*``) it carries, and current rules of
        those scopes absent from it are removed.
    tz
        Zone of the file's validity dates and naive times.

    Returns
    -------
    Plan
        Pending; ``summary`` holds the counts of changes, ``conflicts`` (problems; a plan with
        any cannot be applied) and ``redispatch`` (open cases that would move, per unit pair).

    Raises
    ------
    ValidationFailed
        Listing every bad row or feature (nothing is stored).
    """
    district_code, outline = _district(conn)
    grid_codes = set(
        conn.execute(
            sa.text("SELECT code FROM grids WHERE valid_to IS NULL AND district_code = :d"),
            {"d": district_code},
        ).scalars()
    )
    rules = validate_rules(
        upload.rows,
        catalogue=catalogue,
        grid_codes=grid_codes,
        district=outline,
        tz=tz,
        shown=upload.file_name,
    )
    _stage(conn, rules)
    params = {"d": district_code}
    _run(conn, Q.RESOLVE, params)
    given = sum(1 for r in rules if r.code is not None)
    _run(conn, Q.CODES, params)
    plan_id = create_plan(
        conn,
        kind=KIND,
        district_code=district_code,
        file_name=upload.file_name,
        file_sha256=upload.sha256,
        source_crs=upload.source_crs,
        created_by=created_by,
        base_versions=dict(zip(DEPENDS_ON, layer_versions(conn, DEPENDS_ON), strict=True)),
        effective_from=effective_from,
    )
    scopes = sorted({r.scope for r in rules})
    plan_params = {"p": plan_id, "d": district_code, "scope": [] if partial else scopes}
    conn.execute(sa.text(Q.STORE_PLAN_RULES), plan_params)
    conn.execute(sa.text(Q.CHANGES), plan_params)
    conflicts = _conflicts(conn, plan_id, district_code)
    moves = _redispatch(conn, plan_id, district_code, catalogue, at=None, limit=0, offset=0)
    summary = _summary(
        conn,
        plan_id,
        {
            "rules_in_file": len(rules),
            "codes_assigned": len(rules) - given,
            "partial": partial,
            "scopes": scopes,
            "conflict_count": len(conflicts),
            "conflicts": [p.as_dict() for p in conflicts[:LISTED_CONFLICTS]],
            "redispatch": {k: moves[k] for k in ("at", "open_cases_moving", "by_units")},
        },
    )
    set_summary(conn, plan_id, summary)
    return get_plan(conn, plan_id)


def apply_responsibility_update(conn: Connection, plan_id: int, *, decided_by: str) -> Plan:
    """Make plan ``plan_id`` current in the caller's transaction.

    Raises
    ------
    StalePlan
        When the rules or the grids changed since the plan was made, or it is not pending.
    RuleConflicts
        When the plan leaves conflicting rules (listed as problems); nothing is applied.
    """
    plan = lock_for_apply(conn, plan_id, kind=KIND)
    conflicts = plan.summary.get("conflicts", [])
    if plan.summary.get("conflict_count", 0):
        raise RuleConflicts(
            f"Plan {plan_id} was not applied: it leaves {plan.summary['conflict_count']} "
            "conflict(s), two responsible units for the same subclass and place. First: "
            f"{conflicts[0]['message']}",
            [Problem(c["where"], c["rule"], c["message"]) for c in conflicts],
        )
    params = {"p": plan_id, "d": plan.district_code}
    closed = conn.execute(sa.text(Q.CLOSE), params).rowcount
    inserted = conn.execute(sa.text(Q.INSERT_VERSIONS), params).rowcount
    set_summary(
        conn, plan_id, {**plan.summary, "applied": {"closed": closed, "inserted": inserted}}
    )
    decide(conn, plan_id, status="applied", decided_by=decided_by)
    return get_plan(conn, plan_id)


def plan_changes(
    conn: Connection, plan_id: int, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The plan's changes in order: kind, rule code, the rule, and what changed."""
    get_plan(conn, plan_id, kind=KIND)
    rows = conn.execute(
        sa.text(
            "SELECT seq, kind, coalesce(new_codes[1], old_codes[1]) AS code, details "
            "FROM change_plan_changes WHERE plan_id = :p ORDER BY seq LIMIT :n OFFSET :o"
        ),
        {"p": plan_id, "n": limit, "o": offset},
    ).mappings()
    return [dict(r) for r in rows]


def _defaults(conn: Connection, catalogue: Catalogue) -> None:
    _run(conn, Q.DEFAULTS, {})
    rows = [
        {"t": item.kind, "s": item.code, "d": item.department}
        for kind in ("component", "event")
        for item in catalogue.items(kind)
        if item.department
    ]
    if rows:
        conn.execute(sa.text("INSERT INTO dispatch_defaults VALUES (:t, :s, :d)"), rows)


def _redispatch(
    conn: Connection,
    plan_id: int,
    district_code: str,
    catalogue: Catalogue,
    *,
    at: datetime | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    _run(conn, Q.RESULT, {"p": plan_id, "d": district_code})
    _defaults(conn, catalogue)
    moment = at or conn.execute(sa.text("SELECT now()")).scalar_one()
    _run(conn, Q.REDISPATCH, {"d": district_code, "at": moment})
    pairs = [dict(r) for r in conn.execute(sa.text(Q.REDISPATCH_PAIRS)).mappings()]
    cases = conn.execute(sa.text(Q.REDISPATCH_LIST), {"n": limit, "o": offset}).mappings()
    return {
        "at": moment.isoformat(),
        "open_cases_moving": sum(int(p["cases"]) for p in pairs),
        "by_units": pairs,
        "cases": [dict(r) for r in cases],
    }


def redispatch_plan(
    conn: Connection,
    plan_id: int,
    *,
    catalogue: Catalogue,
    at: datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> dict[str, Any]:
    """The open cases that would move to another unit if plan ``plan_id`` were applied.

    Only cases whose department a rule or the catalogue chose (``dispatch_rule`` set) are
    re-dispatched; a department given with the case stays. Each is dispatched at ``at``
    (default now) under the current rules and under the rules the plan would leave.

    Returns
    -------
    dict
        ``at``, ``open_cases_moving``, ``by_units`` (from_unit, to_unit, cases) and ``cases``
        (case_id, sub_class, department, from_unit, from_rule, to_unit, to_rule; by case id).

    Raises
    ------
    InvalidParameter
        When the plan is no longer pending (applied or rejected).
    """
    plan = get_plan(conn, plan_id, kind=KIND)
    if plan.status not in ("pending", "stale"):
        raise InvalidParameter(
            f"Plan {plan_id} is {plan.status}; a re-dispatch dry run needs a pending plan."
        )
    return _redispatch(
        conn, plan_id, plan.district_code, catalogue, at=at, limit=limit, offset=offset
    )


def current_rules(conn: Connection, *, at: datetime | None = None) -> list[dict[str, Any]]:
    """The current rules (those valid at ``at`` when given), most specific first.

    Each with ``geometry`` (GeoJSON of the polygon or lines, EPSG:4326; None for a grid set).
    """
    rows = conn.execute(sa.text(Q.CURRENT_RULES), {"at": at}).mappings()
    return [
        {
            **{k: v for k, v in r.items() if k not in ("area", "geom", "geometry")},
            "geometry": json.loads(r["geometry"]) if r["geometry"] else None,
        }
        for r in rows
    ]


def rule_history(conn: Connection, code: str) -> list[dict[str, Any]]:
    """Every version of rule ``code``, oldest first; NotFound when it never existed."""
    history = [dict(r) for r in conn.execute(sa.text(Q.HISTORY), {"code": code}).mappings()]
    if not history:
        raise NotFound(f"There is no responsibility rule {code}.")
    return history
