"""Test fixtures: one real throw-away PostGIS cluster per test session, a fresh database per test.

With ``GEOGRID_TEST_DATABASE_URL`` set (a superuser URL of any PostGIS server), that server is
used instead of a throw-away cluster. A database test is never skipped: if no PostGIS can be
started, the session fails.
"""

from __future__ import annotations

import itertools
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geogrid.db.cluster import Cluster
from geogrid.db.engine import ensure_database, make_engine, migrate
from tests.credentials import register_admin_key

TEMPLATE = "geogrid_test_template"
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Superuser URL (database ``postgres``) of the PostGIS server the tests use."""
    given = os.environ.get("GEOGRID_TEST_DATABASE_URL")
    if given:
        yield str(make_url(given).set(database="postgres"))
        return
    base = Path(tempfile.mkdtemp(prefix="geogrid-test-pg-"))
    base.chmod(0o755)
    cluster = Cluster(base / "pg", _free_port(), fsync=False)
    cluster.up()
    try:
        yield cluster.url("postgres")
    finally:
        cluster.destroy()


def _admin(pg_server: str) -> Engine:
    return sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template_url(pg_server: str) -> Iterator[str]:
    """A migrated database every test database is cloned from, with the tests' admin key."""
    url = str(make_url(pg_server).set(database=TEMPLATE))
    admin = _admin(pg_server)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEMPLATE}"'))
    ensure_database(url)
    eng = make_engine(url)
    migrate(eng)
    register_admin_key(eng)
    eng.dispose()
    yield url
    admin.dispose()


def clone_database(pg_server: str, template: str) -> str:
    """Create a new database from ``template`` and return its URL."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    admin = _admin(pg_server)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return str(make_url(pg_server).set(database=name))


def drop_database(pg_server: str, url: str) -> None:
    name = make_url(url).database
    admin = _admin(pg_server)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(pg_server: str, template_url: str) -> Iterator[str]:
    """URL of a fresh, migrated, empty database for one test."""
    url = clone_database(pg_server, make_url(template_url).database or TEMPLATE)
    yield url
    drop_database(pg_server, url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def territory_engine(engine: Engine) -> Engine:
    """A fresh database holding the hand-made territory of ``tests/territory.py``."""
    from tests.territory import load_territory

    load_territory(engine)
    return engine
