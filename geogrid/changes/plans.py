"""Storage and life cycle of change plans (``change_plans``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import NotFound, Problem, StalePlan
from geogrid.features.query import layer_versions


@dataclass(frozen=True)
class Plan:
    """A stored change plan; ``status`` is ``stale`` when a depended-on layer changed since."""

    id: int
    district_code: str
    kind: str
    file_name: str
    file_sha256: str
    source_crs: str | None
    created_by: str
    created_at: datetime
    base_versions: dict[str, int]
    effective_from: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    restores: int | None
    summary: dict[str, Any]
    warnings: list[dict[str, Any]]
    fixes: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "district_code": self.district_code,
            "kind": self.kind,
            "file_name": self.file_name,
            "file_sha256": self.file_sha256,
            "source_crs": self.source_crs,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "computed_against": self.base_versions,
            "effective_from": self.effective_from.isoformat(),
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "restores_version": self.restores,
            "summary": self.summary,
            "warnings": self.warnings,
            "fixes": self.fixes,
        }


_COLUMNS = (
    "id, district_code, kind, file_name, file_sha256, source_crs, created_by, created_at, "
    "base_versions, effective_from, status, decided_by, decided_at, restores, summary, "
    "warnings, fixes"
)


def _problems(items: Sequence[Problem]) -> str:
    return json.dumps([p.as_dict() for p in items], ensure_ascii=False)


def create_plan(
    conn: Connection,
    *,
    kind: str,
    district_code: str,
    file_name: str,
    file_sha256: str,
    source_crs: str | None,
    created_by: str,
    base_versions: dict[str, int],
    effective_from: datetime | None = None,
    restores: int | None = None,
    warnings: Sequence[Problem] = (),
    fixes: Sequence[Problem] = (),
) -> int:
    """Store a new pending plan and return its id (the summary is filled in later)."""
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO change_plans (kind, district_code, file_name, file_sha256, "
                "source_crs, created_by, base_versions, effective_from, restores, warnings, "
                "fixes) VALUES (:kind, :district, :file_name, :sha, :crs, :who, "
                "CAST(:base AS jsonb), coalesce(:eff, now()), :restores, "
                "CAST(:warnings AS jsonb), CAST(:fixes AS jsonb)) RETURNING id"
            ),
            {
                "kind": kind,
                "district": district_code,
                "file_name": file_name,
                "sha": file_sha256,
                "crs": source_crs,
                "who": created_by,
                "base": json.dumps(base_versions),
                "eff": effective_from,
                "restores": restores,
                "warnings": _problems(warnings),
                "fixes": _problems(fixes),
            },
        ).scalar_one()
    )


def set_summary(conn: Connection, plan_id: int, summary: dict[str, Any]) -> None:
    conn.execute(
        sa.text("UPDATE change_plans SET summary = CAST(:s AS jsonb) WHERE id = :id"),
        {"s": json.dumps(summary, ensure_ascii=False), "id": plan_id},
    )


def _plan(conn: Connection, row: sa.Row[Any]) -> Plan:
    plan = Plan(**row._mapping)
    if plan.status == "pending":
        current = dict(
            zip(plan.base_versions, layer_versions(conn, list(plan.base_versions)), strict=True)
        )
        if current != plan.base_versions:
            return Plan(**{**plan.__dict__, "status": "stale"})
    return plan


def get_plan(conn: Connection, plan_id: int, *, kind: str | None = None) -> Plan:
    """The plan ``plan_id`` (of ``kind`` when given); :class:`NotFound` otherwise."""
    row = conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM change_plans WHERE id = :id"), {"id": plan_id}
    ).one_or_none()
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound(f"There is no {kind or 'change'} plan {plan_id}.")
    return _plan(conn, row)


def list_plans(conn: Connection, *, kind: str, limit: int = 100) -> list[Plan]:
    """The newest plans of ``kind``, newest first."""
    rows = conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM change_plans WHERE kind = :k ORDER BY id DESC LIMIT :n"),
        {"k": kind, "n": limit},
    ).all()
    return [_plan(conn, r) for r in rows]


def lock_for_apply(conn: Connection, plan_id: int, *, kind: str) -> Plan:
    """Lock the plan and the layers it depends on; refuse unless it is pending and current.

    The layer rows of ``layer_versions`` are locked in a fixed order, so of two concurrent
    applies the second waits, then finds the versions changed and is refused as stale.
    """
    row = conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM change_plans WHERE id = :id FOR UPDATE"), {"id": plan_id}
    ).one_or_none()
    if row is None or row.kind != kind:
        raise NotFound(f"There is no {kind} plan {plan_id}.")
    plan = Plan(**row._mapping)
    if plan.status != "pending":
        raise StalePlan(f"Plan {plan_id} is {plan.status}; only a pending plan can be applied.")
    layers = sorted(plan.base_versions)
    current: dict[str, int] = dict(
        conn.execute(
            sa.text(
                "SELECT layer, version FROM layer_versions WHERE layer = ANY(:l) "
                "ORDER BY layer FOR UPDATE"
            ),
            {"l": layers},
        ).all()
    )
    if {k: int(current.get(k, 0)) for k in layers} != plan.base_versions:
        raise StalePlan(
            f"Plan {plan_id} was computed against data that has changed since "
            f"({', '.join(layers)}); upload the file again to get a fresh plan."
        )
    return plan


def decide(conn: Connection, plan_id: int, *, status: str, decided_by: str) -> None:
    """Record the decision on a plan (applied or rejected)."""
    conn.execute(
        sa.text(
            "UPDATE change_plans SET status = :s, decided_by = :who, decided_at = now() "
            "WHERE id = :id"
        ),
        {"s": status, "who": decided_by, "id": plan_id},
    )


def reject_plan(conn: Connection, plan_id: int, *, kind: str, decided_by: str) -> Plan:
    """Reject a pending (or stale) plan; applied or rejected plans cannot be rejected."""
    plan = get_plan(conn, plan_id, kind=kind)
    if plan.status not in ("pending", "stale"):
        raise StalePlan(f"Plan {plan_id} is {plan.status}; it cannot be rejected.")
    decide(conn, plan_id, status="rejected", decided_by=decided_by)
    return get_plan(conn, plan_id)
