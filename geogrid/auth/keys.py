"""API keys of machine clients: created once (shown once), kept hashed, revocable.

A key is ``gg_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: a slow hash protects guessable passwords, and a random 256-bit key is not guessable.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.auth.principal import Principal, Role
from geogrid.auth.users import check_name, check_role_scope
from geogrid.errors import NotFound, Unauthorized, ValidationFailed

PREFIX = "gg_"


@dataclass(frozen=True)
class ApiKey:
    """A key as stored (never the key itself)."""

    id: int
    name: str
    prefix: str
    role: Role
    streets: tuple[str, ...]
    supervisor_id: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(
            "api_key", self.name, self.role, frozenset(self.streets), self.supervisor_id
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "role": str(self.role),
            "streets": list(self.streets),
            "supervisor_id": self.supervisor_id,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


_COLUMNS = "id, name, prefix, role, streets, supervisor_id, created_by, created_at, revoked_at"


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row.id,
        row.name,
        row.prefix,
        Role(row.role),
        tuple(row.streets),
        row.supervisor_id,
        row.created_by,
        row.created_at,
        row.revoked_at,
    )


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    conn: Connection,
    *,
    name: str,
    role: Role,
    created_by: str,
    streets: Iterable[str] = (),
    supervisor_id: str | None = None,
    key: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return it as stored and the key itself (to show once, never again).

    ``key`` registers a given key (at least 32 characters) instead of generating one, for a
    client whose key is provisioned elsewhere.
    """
    check_name(name, "key name")
    codes, supervisor = check_role_scope(conn, role, streets, supervisor_id)
    secret = key if key is not None else PREFIX + secrets.token_urlsafe(32)
    if len(secret) < 32:
        raise ValidationFailed("An API key needs at least 32 characters.")
    row = conn.execute(
        sa.text(
            "INSERT INTO api_keys (name, prefix, key_hash, role, streets, supervisor_id, "
            "created_by) VALUES (:n, :p, :h, :r, :s, :sup, :by) "
            f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
        ),
        {
            "n": name,
            "p": secret[:8],
            "h": key_hash(secret),
            "r": str(role),
            "s": codes,
            "sup": supervisor,
            "by": created_by,
        },
    ).first()
    if row is None:
        raise ValidationFailed(f"There is already a key named '{name}' (or the same key).")
    return _key(row), secret


def revoke_api_key(conn: Connection, name: str) -> ApiKey:
    """Revoke the key ``name`` at once (its row stays, for the audit trail)."""
    row = conn.execute(
        sa.text(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE name = :n "
            f"RETURNING {_COLUMNS}"
        ),
        {"n": name},
    ).first()
    if row is None:
        raise NotFound(f"There is no API key named '{name}'.")
    return _key(row)


def list_api_keys(conn: Connection) -> list[ApiKey]:
    rows = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM api_keys ORDER BY name"))
    return [_key(r) for r in rows]


def key_principal(conn: Connection, key: str) -> Principal:
    """The principal of an API key that exists and is not revoked.

    Raises
    ------
    Unauthorized
        Unknown or revoked key.
    """
    row = conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = :h AND revoked_at IS NULL"),
        {"h": key_hash(key)},
    ).first()
    if row is None:
        raise Unauthorized("The API key is not valid or has been revoked.")
    return _key(row).principal
