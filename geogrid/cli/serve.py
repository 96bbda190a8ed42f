"""``geogrid serve``: start the database if needed, load the demo when empty, serve the API."""

from __future__ import annotations

import os

import typer
import uvicorn
from rich.console import Console

from geogrid.cli.db import bring_up
from geogrid.settings import Settings

out = Console()


def serve(
    host: str = typer.Option(None, help="Address to bind (default GEOGRID_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default GEOGRID_PORT, 8000)."),
    workers: int = typer.Option(1, min=1, help="Server processes."),
    demo_if_empty: bool = typer.Option(
        False, "--demo-if-empty", help="Load the small demo district when there are no grids."
    ),
) -> None:
    """Serve the API and the map pages (starts the embedded PostGIS when it is used)."""
    settings = Settings()
    if host:
        os.environ["GEOGRID_HOST"] = host
    if port:
        os.environ["GEOGRID_PORT"] = str(port)
    settings = Settings()
    url = bring_up(settings)
    _fail_interrupted_jobs(url)
    if demo_if_empty:
        from geogrid.cli.demo import load_if_empty

        load_if_empty(url)
    base = f"http://{settings.host}:{settings.port}"
    out.print(
        f"geogrid on {base}  ·  map: {base}/maps/grids (log in at {base}/login)  ·  "
        f"API: {base}/docs"
    )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def _fail_interrupted_jobs(url: str) -> None:
    """Jobs a previous server left unfinished will never finish: say so on them."""
    from geogrid.db.engine import make_engine
    from geogrid.jobs import fail_interrupted

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            n = fail_interrupted(conn)
    finally:
        engine.dispose()
    if n:
        out.print(f"Marked {n} job(s) interrupted by the last shutdown as failed.")
