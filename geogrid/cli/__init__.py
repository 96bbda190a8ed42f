"""The ``geogrid`` command: a thin typer layer over the core functions.

Errors that geogrid raises on purpose are printed as one sentence, never as a stack trace.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from geogrid.cli import (
    assess,
    cases,
    components,
    db,
    demo,
    dispatch,
    grids,
    indicators,
    patrol,
    sanitation,
    satellite,
    serve,
    users,
)
from geogrid.errors import GeogridError

app = typer.Typer(
    help="geogrid: grid-based city management (网格化城市管理) for a district command centre.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(demo.app, name="demo")
app.add_typer(grids.app, name="grids")
app.add_typer(cases.app, name="cases")
app.add_typer(components.app, name="components")
app.add_typer(dispatch.app, name="responsibility")
app.add_typer(patrol.supervisors, name="supervisors")
app.add_typer(patrol.tracks, name="tracks")
app.command("coverage")(patrol.coverage)
app.add_typer(satellite.app, name="patches")
app.add_typer(sanitation.app, name="sanitation")
app.command("indicators")(indicators.indicators)
app.add_typer(indicators.reports, name="reports")
app.command("serve")(serve.serve)
app.command("assess")(assess.assess)
app.add_typer(users.users, name="users")
app.add_typer(users.keys, name="keys")

err = Console(stderr=True)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except GeogridError as exc:
        err.print(f"[bold red]Error:[/] {exc.message}")
        for p in exc.problems[:50]:
            err.print(f"  - {p.where}: {p.message}")
        sys.exit(1)
