"""``geogrid indicators`` and ``geogrid reports``: indicator tables and the monthly report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geogrid.catalogue import load_catalogue
from geogrid.cli.common import transaction
from geogrid.indicators import IndicatorQuery, compute_indicators, monthly_report
from geogrid.indicators.engine import IndicatorTable
from geogrid.indicators.html import render_monthly_report
from geogrid.indicators.report import (
    MAIN_COLUMNS,
    indicator_csv,
    indicator_xlsx,
    label,
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
        **settings.indicator_options(),
    )
    with out.status("Computing indicators…"), transaction() as conn:
        table = compute_indicators(conn, query)
    if output is not None and output.suffix.lower() == ".xlsx":
        indicator_xlsx(table, output)
    elif output is not None:
        output.write_text("".join(indicator_csv(table)), encoding="utf-8")
    else:
        _print_summary(table)
        return
    out.print(f"Wrote {len(table.rows):,} row(s) to {output}")


@reports.command("monthly")
def monthly(
    month: str = typer.Option(..., help="YYYY-MM"),
    output: Path = typer.Option(..., "--output", "-o", help="An .xlsx or .html file."),
) -> None:
    """The monthly department, source and top-10 subclass tables, as XLSX or HTML."""
    settings = Settings()
    query = IndicatorQuery.monthly(month, **settings.indicator_options())
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


def _print_summary(table: IndicatorTable) -> None:
    key = table.keys[0]
    name = next((c for c in table.columns if c.endswith("_name")), key)
    period = table.query.period
    view = Table(
        label(name), *(label(c) for c in MAIN_COLUMNS), title=f"{period.start} – {period.end}"
    )
    for row in [*table.rows, {name: "合计", **table.totals}]:
        view.add_row(
            str(row.get(name) or row.get(key) or "—"),
            *("—" if row[c] is None else str(row[c]) for c in MAIN_COLUMNS),
        )
    out.print(view)
    out.print("All columns: add -o FILE.csv or -o FILE.xlsx.")
