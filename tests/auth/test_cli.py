"""``geogrid users``, ``geogrid keys`` and the first admin, as a user runs them: real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.auth import check_login
from tests.credentials import app_settings


def geogrid(
    engine: Engine, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "GEOGRID_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COLUMNS": "200",
        **env,
    }
    exe = Path(sys.executable).parent / "geogrid"
    return subprocess.run(
        [str(exe), *args], input=stdin, capture_output=True, text=True, env=environ, timeout=120
    )


def test_users_add_list_disable_reset(territory_engine: Engine) -> None:
    added = geogrid(
        territory_engine,
        "users",
        "add",
        "op",
        "--role",
        "street_operator",
        "--street",
        "530114001",
        "--name",
        "张三",
        "--password-stdin",
        stdin="op-password\n",
    )
    assert added.returncode == 0, added.stderr
    listed = geogrid(territory_engine, "users", "list")
    assert "op" in listed.stdout and "530114001" in listed.stdout and "active" in listed.stdout
    bad = geogrid(territory_engine, "users", "add", "x", "--role", "street_operator", "--generate")
    assert bad.returncode == 1 and "at least one street" in bad.stderr
    assert "Traceback" not in bad.stderr

    reset = geogrid(territory_engine, "users", "reset-password", "op", "--generate")
    assert reset.returncode == 0, reset.stderr
    password = reset.stdout.split("shown once):")[1].split()[0]
    with territory_engine.connect() as conn:
        assert check_login(conn, "op", password) is not None
        assert check_login(conn, "op", "op-password") is None
    disabled = geogrid(territory_engine, "users", "disable", "op")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    with territory_engine.connect() as conn:
        assert check_login(conn, "op", password) is None
        actors = conn.execute(
            sa.text("SELECT DISTINCT actor FROM audit_log WHERE action = 'user'")
        ).scalars()
        assert all(a.startswith("cli:") for a in actors)
    missing = geogrid(territory_engine, "users", "disable", "ghost")
    assert missing.returncode == 1 and "no user 'ghost'" in missing.stderr


def test_keys_create_use_revoke(territory_engine: Engine) -> None:
    created = geogrid(territory_engine, "keys", "create", "gis-desktop", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("gg_")
    with TestClient(create_app(app_settings(territory_engine))) as client:
        headers = {"X-API-Key": key}
        assert client.get("/collections", headers=headers).status_code == 200
        assert client.post("/supervisors", headers=headers, json={}).status_code == 403
        listed = geogrid(territory_engine, "keys", "list")
        assert "gis-desktop" in listed.stdout and key not in listed.stdout
        revoked = geogrid(territory_engine, "keys", "revoke", "gis-desktop")
        assert revoked.returncode == 0, revoked.stderr
        assert client.get("/collections", headers=headers).status_code == 401


def test_db_up_creates_the_first_admin_once(engine: Engine) -> None:
    first = geogrid(engine, "db", "up")
    assert first.returncode == 0, first.stderr
    assert "Created the user 'admin'" in first.stdout
    password = first.stdout.split("this once:")[1].split()[0]
    with engine.connect() as conn:
        assert check_login(conn, "admin", password) is not None
    again = geogrid(engine, "db", "up", GEOGRID_ADMIN_PASSWORD="ignored-now")
    assert again.returncode == 0 and "admin" not in again.stdout


def test_the_admin_password_can_be_given(engine: Engine) -> None:
    done = geogrid(engine, "db", "up", GEOGRID_ADMIN_PASSWORD="automation-pw")
    assert done.returncode == 0, done.stderr
    assert "GEOGRID_ADMIN_PASSWORD" in done.stdout and "automation-pw" not in done.stdout
    with engine.connect() as conn:
        assert check_login(conn, "admin", "automation-pw") is not None
