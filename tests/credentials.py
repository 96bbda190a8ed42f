"""Credentials of the tests: an admin API key present in every test database, and helpers.

The key is registered in the template database every test database is cloned from
(``tests/conftest.py``), so a client sending :data:`ADMIN` is an admin everywhere.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy.engine import Engine

from geogrid.auth import Role, create_api_key
from geogrid.settings import Settings

ADMIN_KEY = "gg_tests-admin-key-0123456789abcdefghijkl"
ADMIN = {"X-API-Key": ADMIN_KEY}
"""Headers of an admin client."""

SECRET_KEY = "tests-only-signing-key-0123456789abcdef"
"""Token-signing key of the apps the tests build (no key file is written)."""


def register_admin_key(engine: Engine) -> None:
    """Register :data:`ADMIN_KEY` (done once, in the template database)."""
    with engine.begin() as conn:
        create_api_key(conn, name="tests-admin", role=Role.admin, created_by="tests", key=ADMIN_KEY)


def role_key(
    engine: Engine,
    role: Role | str,
    *,
    name: str | None = None,
    streets: Iterable[str] = (),
    supervisor_id: str | None = None,
) -> dict[str, str]:
    """Create an API key of ``role`` (with its scope) and return the headers that send it."""
    role = Role(role)
    with engine.begin() as conn:
        _, key = create_api_key(
            conn,
            name=name or f"tests-{role}-{secrets.token_hex(4)}",
            role=role,
            created_by="tests",
            streets=streets,
            supervisor_id=supervisor_id,
        )
    return {"X-API-Key": key}


def app_settings(engine: Engine, **options: object) -> Settings:
    """Settings of an app the tests build on ``engine`` (with :data:`SECRET_KEY`)."""
    url = engine.url.render_as_string(hide_password=False)
    return Settings(database_url=url, secret_key=SECRET_KEY, **options)
