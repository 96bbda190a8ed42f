"""Engines, database creation and migrations.

One engine per process. Every connection turns JIT off (small map queries pay more for JIT
compilation than they gain) and carries a statement timeout so that no query hangs the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine, make_url

from geogrid.db.cluster import Cluster
from geogrid.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def embedded_cluster(pg_dir: Path, port: int, pg_bin: Path | None = None) -> Cluster:
    """The embedded cluster described by the settings."""
    return Cluster(pg_dir, port, pg_bin=pg_bin)


def make_engine(url: str | URL, *, statement_timeout_ms: int = 0, pool_size: int = 10) -> Engine:
    """An engine whose connections run with ``jit=off`` and the given statement timeout."""
    options = f"-c jit=off -c statement_timeout={int(statement_timeout_ms)} -c timezone=UTC"
    return sa.create_engine(
        url,
        connect_args={"options": options, "connect_timeout": 10},
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_pre_ping=True,
    )


@contextmanager
def autocommit_connection(engine: Engine) -> Iterator[Connection]:
    """A pooled connection in autocommit mode, for reads: no BEGIN/COMMIT round trips.

    Returning it to the pool resets its isolation level; when the database went away meanwhile
    that reset fails with a bare driver error, after the work is done. The connection is then
    invalidated (the pool opens a new one next time) and the error is not raised."""
    conn = engine.connect()
    try:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        try:
            conn.close()
        except (sa.exc.DBAPIError, engine.dialect.loaded_dbapi.Error):
            with suppress(Exception):
                conn.invalidate()


def ensure_database(url: str | URL) -> bool:
    """Create the database of ``url`` and the postgis extension when missing.

    Returns True when the database was created.
    """
    target = make_url(url)
    admin = target.set(database="postgres")
    created = False
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).scalar()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
                created = True
    except sa.exc.OperationalError as exc:
        raise DatabaseUnavailable(
            f"Cannot reach PostgreSQL at {target.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).strip().splitlines()[0]}"
        ) from exc
    finally:
        eng.dispose()
    eng = sa.create_engine(target, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        eng.dispose()
    return created


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of geogrid knows."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (never ``create_all``)."""
    command.upgrade(alembic_config(engine), revision)


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        has = conn.execute(sa.text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
        if not has:
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def database_url(database_url: str | None, pg_dir: Path, pg_port: int) -> str:
    """The URL to use: the configured one, or that of the embedded cluster."""
    if database_url:
        return database_url
    return Cluster(pg_dir, pg_port).url()
