"""The append-only audit trail: every write, login, refused request and account change.

:func:`audit` adds one row in the caller's transaction; :func:`list_audit` reads them back,
newest first. The table refuses UPDATE, DELETE and TRUNCATE (migration 0013).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.auth.principal import Principal

Action = Literal["read", "write", "login", "logout", "user", "key"]
Outcome = Literal["ok", "failed", "refused"]

FILTERS = ("actor", "action", "outcome", "method", "entity", "entity_id", "plan_id", "client")
"""Columns :func:`list_audit` filters on by equality."""


def audit(
    conn: Connection,
    *,
    action: Action,
    outcome: Outcome,
    principal: Principal | None = None,
    actor: str | None = None,
    client: str | None = None,
    method: str | None = None,
    path: str | None = None,
    status: int | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    plan_id: str | None = None,
    summary: Mapping[str, Any] | None = None,
    message: str | None = None,
) -> int:
    """Append one row to the audit trail and return its id.

    Parameters
    ----------
    action, outcome
        What was attempted (read, write, login, logout, user, key) and how it ended (ok,
        failed, refused).
    principal, actor
        Who: the principal, or a plain actor name (a username tried at a login, ``cli:<os
        user>`` for commands). Both None: anonymous.
    client
        Where from: the client's address.
    method, path, status
        The HTTP request and the status it was answered with, when there was one.
    entity, entity_id, plan_id
        The thing written (``cases``, ``grid-updates`` …), its id, and the change plan.
    summary
        Before/after figures of the change (JSON-serialisable).
    message
        A sentence: why a request was refused, what a command did.
    """
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (actor, role, client, action, outcome, status, method, "
                "path, entity, entity_id, plan_id, summary, message) VALUES (:actor, :role, "
                ":client, :action, :outcome, :status, :method, :path, :entity, :entity_id, "
                ":plan_id, CAST(:summary AS jsonb), :message) RETURNING id"
            ),
            {
                "actor": principal.actor if principal else actor,
                "role": str(principal.role) if principal else None,
                "client": client,
                "action": action,
                "outcome": outcome,
                "status": status,
                "method": method,
                "path": path,
                "entity": entity,
                "entity_id": entity_id,
                "plan_id": plan_id,
                "summary": json.dumps(dict(summary or {}), ensure_ascii=False, default=str),
                "message": message,
            },
        ).scalar_one()
    )


def failed_logins(conn: Connection, *, username: str, client: str | None, window_s: int) -> int:
    """Failed or refused logins within the last ``window_s`` seconds of ``username``, or from
    ``client`` counted at a quarter (an address may serve several people), whichever is more.

    The count is read from the audit trail, so it holds across processes and restarts."""
    by_user, by_client = conn.execute(
        sa.text(
            "SELECT count(*) FILTER (WHERE actor = :username), "
            "count(*) FILTER (WHERE client = :client) FROM audit_log "
            "WHERE action = 'login' AND outcome IN ('failed', 'refused') "
            "AND at > now() - make_interval(secs => :window)"
        ),
        {"username": username, "client": client, "window": window_s},
    ).one()
    return max(int(by_user), int(by_client) // 4)


def list_audit(
    conn: Connection,
    *,
    filters: Mapping[str, str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, matching every filter (columns of :data:`FILTERS`, equality)
    and with ``since <= at < until``."""
    where = ["true"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for name, value in (filters or {}).items():
        if name not in FILTERS:
            raise ValueError(f"not an audit filter: {name}")
        where.append(f"{name} = :{name}")
        params[name] = value
    if since is not None:
        where.append("at >= :since")
        params["since"] = since
    if until is not None:
        where.append("at < :until")
        params["until"] = until
    rows = conn.execute(
        sa.text(
            "SELECT id, at, actor, role, client, action, outcome, status, method, path, entity, "
            f"entity_id, plan_id, summary, message FROM audit_log WHERE {' AND '.join(where)} "
            "ORDER BY at DESC, id DESC LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    return [{**row, "at": row["at"].isoformat()} for row in rows]


def entity_of(route: str, path_params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(entity, id) a request wrote, from its route template and path parameters.

    The entity is the route's first segment (``/grid-updates/{plan_id}/apply`` →
    ``grid-updates``); the id the first path parameter's value.
    """
    first = route.strip("/").split("/", 1)[0]
    entity = first if first and not first.startswith("{") else None
    values = [str(v) for v in path_params.values()]
    return entity, values[0] if values else None
