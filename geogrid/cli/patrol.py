"""``geogrid supervisors`` and ``geogrid tracks``: register supervisors, ingest their fixes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from geogrid.cli.common import transaction
from geogrid.patrol.fixes import import_tracks
from geogrid.patrol.supervisors import read_supervisors, register_supervisors
from geogrid.settings import Settings

supervisors = typer.Typer(
    help="Supervisors (监督员) and their assigned grids.", no_args_is_help=True
)
tracks = typer.Typer(help="GPS tracks of supervisors.", no_args_is_help=True)
out = Console()


@supervisors.command("import")
def import_supervisors(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX."),
) -> None:
    """Register (or update) the supervisors of FILE and their assigned grids."""
    specs = read_supervisors(file)
    with transaction() as conn:
        n = register_supervisors(conn, specs, shown=file.name)
    out.print(f"[green]Registered {n} supervisor(s)[/] from {file.name}.")


@tracks.command("import")
def import_track_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, GPX or GeoJSON."),
    crs: str = typer.Option("wgs84", help="wgs84 (also CGCS2000) or gcj02."),
) -> None:
    """Ingest the fixes of FILE; fixes already stored are left as they are."""
    with out.status("Ingesting fixes…"), transaction() as conn:
        result = import_tracks(conn, file, crs=crs, tz=Settings().timezone)
    out.print(
        f"[green]{result.received:,} fix(es)[/] from {file.name}: {result.inserted:,} new, "
        f"{result.duplicates:,} already stored, {result.flagged:,} flagged."
    )
