"""``geogrid cases``: import a CSV/XLSX table of cases (idempotent on case_id)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.cli.common import transaction
from geogrid.settings import Settings
from geogrid.worktime import WorkCalendar

app = typer.Typer(help="Cases (案件): import.", no_args_is_help=True)
out = Console()


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX of cases."),
    crs: str = typer.Option("wgs84", help="wgs84 (also CGCS2000) or gcj02."),
) -> None:
    """Import cases from FILE; a bad row refuses the whole file and lists every bad row."""
    settings = Settings()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out) as bar, transaction() as conn:
        task = bar.add_task("reading", total=1.0)
        result = import_cases(
            conn,
            file,
            catalogue=load_catalogue(settings.catalogue_file),
            calendar=WorkCalendar.load(settings.calendar_file, tz=settings.timezone),
            tz=settings.timezone,
            crs=crs,
            progress=lambda stage, f: bar.update(task, description=stage, completed=f),
        )
    out.print(
        f"[green]Imported {result.total:,} case(s)[/] from {file.name}: "
        f"{result.inserted:,} new, {result.updated:,} updated."
    )
