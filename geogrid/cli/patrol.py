"""``geogrid supervisors``, ``geogrid tracks`` and ``geogrid coverage``: register supervisors,
ingest their fixes, and report coverage, online rate, off-post and response times."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geogrid.cli.common import transaction
from geogrid.dates import parse_day
from geogrid.errors import InvalidParameter
from geogrid.patrol.coverage import CoverageRule
from geogrid.patrol.fixes import import_tracks
from geogrid.patrol.response import response_csv, response_times, response_xlsx, tasks_from_cases
from geogrid.patrol.summary import LABELS, coverage_csv, coverage_table, coverage_xlsx
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


class Level(StrEnum):
    supervisor = "supervisor"
    community = "community"
    street = "street"
    district = "district"


def _day(text: str, name: str) -> date:
    day = parse_day(text, name)
    if day is None:
        raise InvalidParameter(f"Option '{name}' needs a day, YYYY-MM-DD.")
    return day


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def coverage(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
    level: Level = typer.Option(Level.supervisor, help="supervisor, community, street, district."),
    supervisor: str | None = typer.Option(None, help="One supervisor only."),
    buffer_m: float = typer.Option(20.0, help="Distance (m) from a grid that counts as in it."),
    max_gap_s: int = typer.Option(120, help="Longest gap (s) between fixes of one segment."),
    min_dwell_s: int = typer.Option(30, help="Seconds near a grid that make it patrolled."),
    roads: bool = typer.Option(
        False, "--roads", help="Also the share of road length near the track (slower)."
    ),
    responses: bool = typer.Option(
        False, "--responses", help="Report the response times of verification tasks instead."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write .csv or .xlsx instead of printing."
    ),
) -> None:
    """Patrol coverage (巡查覆盖率), online rate and off-post time of a period (DOMAIN.md §5)."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        raise InvalidParameter("Option '--to' is before '--from'.")
    tz = Settings().timezone
    if responses:
        with out.status("Computing response times…"), transaction() as conn:
            tasks = tasks_from_cases(conn, first, last, supervisor=supervisor, tz=tz)
            answer = response_times(conn, tasks, tz=tz)
        if output is not None and output.suffix.lower() == ".xlsx":
            response_xlsx(answer, output)
        elif output is not None:
            output.write_text("".join(response_csv(answer)), encoding="utf-8")
        t = answer.totals
        out.print(
            f"{t['tasks']:,} task(s), {t['reached']:,} reached, {t['within_target']:,} within "
            f"20 minutes ({_rate(t['within_target_rate'])}); median "
            f"{t['median_response_s'] if t['median_response_s'] is not None else '—'} s."
        )
        return
    rule = CoverageRule(buffer_m=buffer_m, max_gap_s=max_gap_s, min_dwell_s=min_dwell_s)
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as bar:
        job = bar.add_task("patrol", total=1.0)
        with transaction() as conn:
            table = coverage_table(
                conn,
                first,
                last,
                level=level.value,
                supervisor=supervisor,
                rule=rule,
                tz=tz,
                roads=roads,
                progress=lambda stage, f: bar.update(job, description=stage, completed=f),
            )
    if output is not None and output.suffix.lower() == ".xlsx":
        coverage_xlsx(table, output)
    elif output is not None:
        output.write_text("".join(coverage_csv(table)), encoding="utf-8")
    else:
        shown = Table(title=f"巡查覆盖 {first} ~ {last}")
        for column in ("code", "name", "assigned_grids", "patrolled_grids", "coverage_rate"):
            shown.add_column(LABELS[column])
        for column in ("online_rate", "off_post_minutes"):
            shown.add_column(LABELS[column])
        for row in [*table.rows, table.totals]:
            shown.add_row(
                row["code"],
                row["name"],
                f"{row['assigned_grids']:,}",
                f"{row['patrolled_grids']:,}",
                _rate(row["coverage_rate"]),
                _rate(row["online_rate"]),
                f"{row['off_post_minutes']:,.1f}",
            )
        out.print(shown)
        return
    out.print(f"Wrote {len(table.rows):,} row(s) to {output}")
