"""Users who log in: create, list, disable, reset a password, check a login.

Every function works in the caller's transaction; passwords are only ever stored hashed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.auth.passwords import hash_password, needs_rehash, verify_password
from geogrid.auth.principal import Principal, Role
from geogrid.auth.tokens import TokenClaims
from geogrid.errors import NotFound, Problem, Unauthorized, ValidationFailed

NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class User:
    """A user as stored, without the password hash."""

    id: int
    username: str
    role: Role
    streets: tuple[str, ...]
    supervisor_id: str | None
    display_name: str | None
    disabled: bool
    token_version: int
    created_at: datetime

    @property
    def principal(self) -> Principal:
        return Principal(
            "user", self.username, self.role, frozenset(self.streets), self.supervisor_id
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": str(self.role),
            "streets": list(self.streets),
            "supervisor_id": self.supervisor_id,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
        }


_COLUMNS = (
    "id, username, role, streets, supervisor_id, display_name, disabled, token_version, created_at"
)


def _user(row: Any) -> User:
    return User(
        row.id,
        row.username,
        Role(row.role),
        tuple(row.streets),
        row.supervisor_id,
        row.display_name,
        row.disabled,
        row.token_version,
        row.created_at,
    )


def check_name(name: str, what: str) -> None:
    """Refuse a username or key name outside ``[A-Za-z0-9_.@-]{1,64}``."""
    if not NAME.match(name):
        raise ValidationFailed(
            f"A {what} has 1 to 64 letters, digits or the signs _ . @ - (not '{name}').",
            [Problem(what, "bad_name", f"'{name}' is not a valid {what}.")],
        )


TRACKED = {
    Role.supervisor: ("supervisors", "account", ""),
    Role.tracker: ("trackers", "key", " (a supervisor or a sanitation tracker)"),
}
"""Roles bound to one tracker id: the table it must be in, what has the role, a hint."""


def check_role_scope(
    conn: Connection, role: Role, streets: Iterable[str], supervisor_id: str | None
) -> tuple[list[str], str | None]:
    """Validate the scope a role needs: existing streets for street operators, an existing
    supervisor for supervisors, nothing for the others. Returns (streets, supervisor_id)."""
    codes = sorted(set(streets))
    if role is Role.street_operator:
        if not codes:
            raise ValidationFailed("A street operator needs at least one street (--street CODE).")
        known = set(
            conn.execute(
                sa.text("SELECT code FROM streets WHERE valid_to IS NULL AND code = ANY(:c)"),
                {"c": codes},
            ).scalars()
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValidationFailed(
                f"Unknown street code(s): {', '.join(unknown)}.",
                [Problem("streets", "unknown_street", f"No current street {c}.") for c in unknown],
            )
    elif codes:
        raise ValidationFailed(f"Only a street operator has streets, not a {role}.")
    if role in TRACKED:
        table, what, taken = TRACKED[role]
        if not supervisor_id:
            raise ValidationFailed(f"A {role} {what} needs its id (--supervisor).")
        found = conn.execute(
            sa.text(f"SELECT 1 FROM {table} WHERE id = :id"), {"id": supervisor_id}
        ).first()
        if found is None:
            raise ValidationFailed(f"There is no {role} '{supervisor_id}'{taken}.")
    elif supervisor_id:
        raise ValidationFailed(
            f"Only a supervisor account or a tracker key has a tracker id, not a {role}."
        )
    return codes, supervisor_id


def create_user(
    conn: Connection,
    *,
    username: str,
    role: Role,
    password: str,
    streets: Iterable[str] = (),
    supervisor_id: str | None = None,
    display_name: str | None = None,
) -> User:
    """Create a user; the password is checked (length) and stored as an argon2id hash.

    Raises
    ------
    ValidationFailed
        Bad username or password, a username already taken, or a scope the role does not
        fit (unknown streets, unknown supervisor).
    """
    check_name(username, "username")
    if role is Role.tracker:
        raise ValidationFailed(
            "A tracker is a GPS terminal, not a person: create an API key for it "
            "(geogrid keys create --role tracker --supervisor ID)."
        )
    codes, supervisor = check_role_scope(conn, role, streets, supervisor_id)
    row = conn.execute(
        sa.text(
            "INSERT INTO users (username, role, streets, supervisor_id, display_name, "
            "password_hash) VALUES (:u, :r, :s, :sup, :d, :h) "
            f"ON CONFLICT (username) DO NOTHING RETURNING {_COLUMNS}"
        ),
        {
            "u": username,
            "r": str(role),
            "s": codes,
            "sup": supervisor,
            "d": display_name,
            "h": hash_password(password),
        },
    ).first()
    if row is None:
        raise ValidationFailed(f"The username '{username}' is already taken.")
    return _user(row)


def get_user(conn: Connection, username: str) -> User:
    row = conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM users WHERE username = :u"), {"u": username}
    ).first()
    if row is None:
        raise NotFound(f"There is no user '{username}'.")
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM users ORDER BY username"))
    return [_user(r) for r in rows]


def count_users(conn: Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one())


def set_disabled(conn: Connection, username: str, *, disabled: bool = True) -> User:
    """Disable (or enable again) a user; every token issued before stops working."""
    row = conn.execute(
        sa.text(
            "UPDATE users SET disabled = :d, token_version = token_version + 1, "
            f"updated_at = now() WHERE username = :u RETURNING {_COLUMNS}"
        ),
        {"u": username, "d": disabled},
    ).first()
    if row is None:
        raise NotFound(f"There is no user '{username}'.")
    return _user(row)


def reset_password(conn: Connection, username: str, password: str) -> User:
    """Set a new password; every token and login cookie issued before stops working."""
    row = conn.execute(
        sa.text(
            "UPDATE users SET password_hash = :h, token_version = token_version + 1, "
            f"updated_at = now() WHERE username = :u RETURNING {_COLUMNS}"
        ),
        {"u": username, "h": hash_password(password)},
    ).first()
    if row is None:
        raise NotFound(f"There is no user '{username}'.")
    return _user(row)


def check_login(conn: Connection, username: str, password: str) -> User | None:
    """The user if ``password`` is theirs and they are not disabled, else None.

    Takes as long for an unknown username as for a known one; a hash made with weaker
    parameters than today's is replaced on a successful login.
    """
    row = conn.execute(
        sa.text(f"SELECT {_COLUMNS}, password_hash FROM users WHERE username = :u"),
        {"u": username},
    ).first()
    if not verify_password(row.password_hash if row else None, password) or row is None:
        return None
    if row.disabled:
        return None
    if needs_rehash(row.password_hash):
        conn.execute(
            sa.text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": hash_password(password), "id": row.id},
        )
    return _user(row)


def token_principal(conn: Connection, claims: TokenClaims) -> Principal:
    """The principal of a valid token, if its user still exists, is enabled and the token
    was issued at the user's current token version (no password reset or disabling since).

    Raises
    ------
    Unauthorized
        Otherwise.
    """
    row = conn.execute(
        sa.text(f"SELECT {_COLUMNS} FROM users WHERE id = :id"), {"id": claims.user_id}
    ).first()
    if row is None or row.disabled or row.token_version != claims.version:
        raise Unauthorized("The login is no longer valid; log in again.")
    return _user(row).principal
