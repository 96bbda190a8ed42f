"""``geogrid indicators`` and ``geogrid reports``: indicator tables and the monthly report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geogrid.catalogue import load_catalogue
from geogrid.cli.grids import transaction
from geogrid.indicators import IndicatorQuery, Period, compute_indicators, monthly_report
from geogrid.indicators.html import render_monthly_report
from geogrid.indicators.params import parse_day
from geogrid.indicators.report import (
    indicator_csv,
    indicator_rows,
    indicator_xlsx,
    write_report_xlsx,
)
from geogrid.settings import Settings
from geogrid.territory.store import district_names

out = Console()
reports = typer.Typer(help="Monthly report tables (月度统计).", no_args_is_help=True)


def indicators(
    level: str = typer.Option(
        "street", help="grid, community, street, district, department, source, platform, sub_class"
    ),
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
    cutoff: str | None = typer.Option(
        None, help="Cut-off time (ISO); default the end of the period."
    ),
    platform: str | None = typer.Option(None, help="city or district."),
    source: str | None = typer.Option(None, help="Only cases of this source."),
    boundaries: str = typer.Option("registered", help="registered or current grid boundaries."),
    denominator: str | None = typer.Option(None, help="registered or due (应结案数)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write .csv or .xlsx instead of printing."
    ),
) -> None:
    """Indicators of the cases registered in a period, per level (DOMAIN.md §4)."""
    settings = Settings()
    query = IndicatorQuery.parse(
        level=level,
        start=start,
        end=end,
        cutoff=cutoff,
        platform=platform,
        source=source,
        boundaries=boundaries,
        denominator=denominator,
        tz=settings.timezone,
        accumulation_start=settings.accumulation_start,
        repeat_distance_m=settings.repeat_distance_m,
        default_denominator=settings.rate_denominator,
    )
    with out.status("Computing indicators…"), transaction() as conn:
        table = compute_indicators(conn, query)
    if output is not None and output.suffix.lower() == ".xlsx":
        indicator_xlsx(table, output)
    elif output is not None:
        output.write_text("".join(indicator_csv(table)), encoding="utf-8")
    else:
        headers, rows = indicator_rows(table)
        view = Table(*headers, title=f"{level} · {start} – {end}")
        for row in rows:
            view.add_row(*("—" if v is None else str(v) for v in row))
        out.print(view)
        return
    out.print(f"Wrote {len(table.rows):,} row(s) to {output}")


@reports.command("monthly")
def monthly(
    month: str = typer.Option(..., help="YYYY-MM"),
    output: Path = typer.Option(..., "--output", "-o", help="An .xlsx or .html file."),
) -> None:
    """The monthly department, source and top-10 subclass tables, as XLSX or HTML."""
    settings = Settings()
    query = IndicatorQuery(
        level="department",
        period=Period.month(month, tz=settings.timezone),
        denominator=settings.rate_denominator,
        accumulation_start=parse_day(settings.accumulation_start, "accumulation_start"),
        repeat_distance_m=settings.repeat_distance_m,
    )
    with out.status("Computing the month's tables…"), transaction() as conn:
        names = "、".join(district_names(conn).values())
        report = monthly_report(
            conn, query, load_catalogue(settings.catalogue_file), month=month, district_name=names
        )
    if output.suffix.lower() == ".html":
        output.write_text(render_monthly_report(report), encoding="utf-8")
    else:
        write_report_xlsx(report, output)
    out.print(f"Wrote {output}")
