"""``geogrid sanitation``: companies, vehicles and crews, cleaning areas and road segments,
sweeping coverage and the companies' self-handled share (issue 10)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geogrid.cli.common import transaction
from geogrid.dates import check_period, parse_day
from geogrid.errors import InvalidParameter
from geogrid.indicators.params import IndicatorQuery
from geogrid.sanitation import (
    SweepRule,
    import_areas,
    import_segments,
    list_companies,
    read_companies,
    read_trackers,
    register_companies,
    register_trackers,
    segments_from_roads,
    sweep_csv,
    sweep_table,
    sweep_xlsx,
)
from geogrid.sanitation.indicators import self_handling
from geogrid.sanitation.rules import ROAD_CLASSES
from geogrid.sanitation.segments import MAX_LENGTH_M
from geogrid.settings import Settings

app = typer.Typer(
    help="Sanitation (环卫): companies, vehicles and crews, areas, segments, sweeping coverage.",
    no_args_is_help=True,
)
out = Console()
MAX_DAYS = 93


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


@app.command("companies")
def companies(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX."),
) -> None:
    """Register (or update) the companies of FILE (id, name, contract_from, contract_to)."""
    specs = read_companies(file)
    with transaction() as conn:
        n = register_companies(conn, specs, shown=file.name)
    out.print(f"[green]Registered {n} compan{'y' if n == 1 else 'ies'}[/] from {file.name}.")


@app.command("trackers")
def trackers(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX."),
) -> None:
    """Register (or update) the vehicles and crews of FILE (id, company, kind, name, device_id)."""
    specs = read_trackers(file)
    with transaction() as conn:
        n = register_trackers(conn, specs, shown=file.name)
    out.print(f"[green]Registered {n} vehicle(s) and crew(s)[/] from {file.name}.")


@app.command("areas")
def areas(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Polygons."),
    crs: str | None = typer.Option(None, help="CRS of a file without one, or gcj02."),
) -> None:
    """Store the cleaning areas of FILE (id, name, company, sweeps_main/secondary/alley)."""
    with transaction() as conn:
        result = import_areas(conn, file, crs=crs)
    out.print(
        f"[green]{result['areas']} area(s)[/] from {file.name}: {result['added']} new, "
        f"{result['replaced']} replaced."
    )


@app.command("segments")
def segments(
    file: Path | None = typer.Argument(
        None, exists=True, dir_okay=False, help="Road lines (name, road_class, area, sweeps)."
    ),
    from_roads: bool = typer.Option(
        False, "--from-roads", help="Cut the district's road network instead of a file."
    ),
    crs: str | None = typer.Option(None, help="CRS of a file without one, or gcj02."),
    split: bool = typer.Option(True, help="Cut the lines between crossings."),
    max_length_m: float = typer.Option(MAX_LENGTH_M, help="Longest segment (m)."),
) -> None:
    """Store road segments (FILE, or --from-roads); each area's segments are replaced."""
    if (file is None) == (not from_roads):
        raise InvalidParameter("Give a line FILE or --from-roads (one of them).")
    with transaction() as conn:
        if file is None:
            result = segments_from_roads(conn, max_length_m=max_length_m)
        else:
            result = import_segments(conn, file, crs=crs, split=split, max_length_m=max_length_m)
    out.print(
        f"[green]{result['segments']:,} segment(s)[/] in {result['areas']} area(s); "
        f"{result['removed']:,} earlier segment(s) replaced."
    )


@app.command("list")
def list_all() -> None:
    """The companies: contract, areas, segments, road kilometres, vehicles and crews."""
    with transaction() as conn:
        rows = list_companies(conn)
    shown = Table(title="环卫公司")
    for header in ("编号", "名称", "合同期", "责任区", "路段", "道路（公里）", "车辆与班组"):
        shown.add_column(header)
    for r in rows:
        fleet = "、".join(f"{k} {n}" for k, n in sorted(r["trackers"].items()))
        shown.add_row(
            r["id"],
            r["name"],
            f"{r['contract_from']} ~ {r['contract_to'] or ''}",
            str(r["areas"]),
            str(r["segments"]),
            f"{r['road_km']:,.2f}",
            fleet,
        )
    out.print(shown)


@app.command("coverage")
def coverage(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
    company: str | None = typer.Option(None, help="One company (id or name)."),
    lateral_m: float = typer.Option(10.0, help="Track within this many metres sweeps."),
    max_speed_kmh: float = typer.Option(15.0, help="Faster is travelling, not sweeping."),
    min_share: float = typer.Option(0.9, help="Share of a segment's length of one sweep."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write .csv (every segment-day) or .xlsx."
    ),
) -> None:
    """Sweeping coverage per company, area and road class, and the segments missed."""
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if first is None or last is None:
        raise InvalidParameter("Options '--from' and '--to' need days, YYYY-MM-DD.")
    check_period(first, last, MAX_DAYS)
    rule = SweepRule(lateral_m=lateral_m, max_speed_kmh=max_speed_kmh, min_share=min_share)
    with out.status("Measuring the sweeping…"), transaction() as conn:
        table = sweep_table(conn, first, last, company=company, rule=rule, tz=Settings().timezone)
    if output is not None:
        if output.suffix.lower() == ".xlsx":
            sweep_xlsx(table, output)
        else:
            output.write_text("".join(sweep_csv(table)), encoding="utf-8")
        out.print(f"Wrote {len(table.days):,} segment-day(s) to {output}")
        return
    shown = Table(title=f"道路清扫覆盖 {first} ~ {last}")
    for header in ("环卫公司", "道路等级", "路段·日", "清扫覆盖率", "作业完成率", "达标", "未达标"):
        shown.add_column(header)
    for r in table.summary("road_classes"):
        shown.add_row(
            r["company"],
            ROAD_CLASSES.get(r["road_class"], r["road_class"]),
            f"{r['segment_days']:,}",
            _pct(r["swept_share"]),
            _pct(r["fulfilment"]),
            f"{r['done']:,}",
            f"{r['missed'] + r['short']:,}",
        )
    t = table.totals
    shown.add_row(
        "合计",
        "",
        f"{t['segment_days']:,}",
        _pct(t["swept_share"]),
        _pct(t["fulfilment"]),
        f"{t['done']:,}",
        f"{t['missed'] + t['short']:,}",
    )
    out.print(shown)
    missed = table.missed(limit=20)
    if missed:
        out.print(f"未达标的路段（前 {len(missed)} 个）:")
        for m in missed:
            out.print(
                f"  {m['day']} {m['segment_id']} {m['road_name'] or ''} "
                f"{_pct(m['swept_share'])} {m['sweeps']}/{m['required']}"
            )


@app.command("self-handling")
def self_handled(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD."),
) -> None:
    """Self-handled sanitation cases per company, their share and tier points (DOMAIN §7)."""
    settings = Settings()
    query = IndicatorQuery.parse(
        level="company", start=start, end=end, **settings.indicator_options()
    )
    with transaction() as conn:
        result = self_handling(conn, query)
    shown = Table(title=f"环卫自处置 {start} ~ {end}")
    for header in ("环卫公司", "环卫类立案数", "自处置数", "自处置占比", "档次得分"):
        shown.add_column(header)
    for r in [*result.rows, {"company": "合计", **result.totals}]:
        shown.add_row(
            r["company"] or "（未指定）",
            f"{r['registered']:,}",
            f"{r['self_handled']:,}",
            _pct(r["share"]),
            "—" if r["points"] is None else str(r["points"]),
        )
    out.print(shown)
