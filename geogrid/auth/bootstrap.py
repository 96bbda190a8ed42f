"""The first account: an ``admin`` created when the database has no user yet."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from geogrid.auth.audit import audit
from geogrid.auth.passwords import generate_password
from geogrid.auth.principal import Role
from geogrid.auth.users import count_users, create_user

ADMIN = "admin"


@dataclass(frozen=True)
class FirstAdmin:
    """The admin account just created, and its password when it was generated (to show once)."""

    username: str
    generated_password: str | None


def ensure_admin(
    conn: Connection, *, password: str | None = None, actor: str = "bootstrap"
) -> FirstAdmin | None:
    """Create the user ``admin`` when there is no user at all; None when there was one.

    ``password`` (``GEOGRID_ADMIN_PASSWORD``) sets its password; without it a random one is
    generated and returned so that the caller can print it once. An existing installation is
    never changed: the password of an existing admin is not reset.
    """
    if count_users(conn) > 0:
        return None
    generated = None if password else generate_password()
    create_user(conn, username=ADMIN, role=Role.admin, password=password or generated or "")
    audit(
        conn,
        action="user",
        outcome="ok",
        actor=actor,
        entity="users",
        entity_id=ADMIN,
        summary={"role": "admin", "password": "generated" if generated else "given"},
        message="Created the first admin account.",
    )
    return FirstAdmin(ADMIN, generated)
