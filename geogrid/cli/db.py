"""``geogrid db``: the embedded PostGIS cluster and the schema."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from geogrid.auth import ensure_admin
from geogrid.cli.users import os_user
from geogrid.db.cluster import Cluster
from geogrid.db.engine import database_url, ensure_database, make_engine, migrate, schema_revision
from geogrid.errors import DatabaseUnavailable
from geogrid.settings import Settings

app = typer.Typer(help="Start, stop and inspect the database.", no_args_is_help=True)
out = Console()


def cluster_of(settings: Settings) -> Cluster:
    return Cluster(settings.pg_dir, settings.pg_port, pg_bin=settings.pg_bin)


def bring_up(settings: Settings) -> str:
    """Start the embedded cluster (unless a URL is configured), create the database, migrate."""
    if settings.database_url:
        out.print("GEOGRID_DATABASE_URL is set: using that server, no local cluster.")
    else:
        cluster = cluster_of(settings)
        started = cluster.up()
        out.print(
            f"PostgreSQL {'started' if started else 'already running'} on 127.0.0.1:"
            f"{cluster.port} (data in {cluster.data_dir})."
        )
    url = database_url(settings.database_url, settings.pg_dir, settings.pg_port)
    if ensure_database(url):
        out.print("Created database and the postgis extension.")
    engine = make_engine(url)
    try:
        migrate(engine)
        out.print(f"Schema at revision {schema_revision(engine)}.")
        _first_admin(engine, settings)
    finally:
        engine.dispose()
    return url


def _first_admin(engine: Engine, settings: Settings) -> None:
    """Create the ``admin`` account when there is no user yet; print its password once."""
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    with engine.begin() as conn:
        created = ensure_admin(conn, password=given, actor=os_user())
    if created is None:
        return
    if created.generated_password is None:
        out.print(f"Created the user '{created.username}' with GEOGRID_ADMIN_PASSWORD.")
        return
    out.print(
        f"Created the user '{created.username}' (role admin). Its password, shown only this "
        f"once: [bold]{created.generated_password}[/]\n"
        f"Log in at /login or POST /auth/token; change it with "
        f"`geogrid users reset-password {created.username}`."
    )


@app.command()
def up() -> None:
    """Create (first time) and start the embedded PostGIS, create the database, migrate."""
    bring_up(Settings())


@app.command()
def down() -> None:
    """Stop the embedded PostGIS cleanly."""
    settings = Settings()
    if settings.database_url:
        out.print("GEOGRID_DATABASE_URL is set: there is no local cluster to stop.")
        return
    stopped = cluster_of(settings).down()
    out.print("PostgreSQL stopped." if stopped else "PostgreSQL was not running.")


@app.command()
def status() -> None:
    """Whether the database runs, where, and at which schema revision."""
    settings = Settings()
    if not settings.database_url:
        st = cluster_of(settings).status()
        state = "running" if st.running else ("stopped" if st.initialised else "not created")
        out.print(f"Embedded cluster: {state} (port {st.port}, pid {st.pid}, {st.data_dir})")
        if not st.running:
            raise typer.Exit(code=3)
    url = database_url(settings.database_url, settings.pg_dir, settings.pg_port)
    engine = make_engine(url)
    try:
        out.print(f"Schema revision: {schema_revision(engine)}")
    except Exception as exc:  # any connection failure is reported as one sentence
        raise DatabaseUnavailable(f"Cannot reach the database: {exc.__class__.__name__}.") from exc
    finally:
        engine.dispose()


@app.command()
def url() -> None:
    """Print the database URL geogrid uses."""
    settings = Settings()
    print(database_url(settings.database_url, settings.pg_dir, settings.pg_port))


@app.command("migrate")
def migrate_cmd() -> None:
    """Bring the schema to the newest revision."""
    settings = Settings()
    engine = make_engine(database_url(settings.database_url, settings.pg_dir, settings.pg_port))
    try:
        migrate(engine)
        out.print(f"Schema at revision {schema_revision(engine)}.")
    finally:
        engine.dispose()
