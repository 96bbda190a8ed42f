"""``geogrid patches``: import a batch of satellite patches, register imagery, verify, list."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geogrid.catalogue import load_catalogue
from geogrid.cli.common import transaction
from geogrid.satellite import (
    VerifyRules,
    import_batch,
    list_batches,
    parse_band_roles,
    read_patch_upload,
    register_imagery,
    verify_batch,
)
from geogrid.satellite.rules import HANDLING_STATES, VERDICTS
from geogrid.satellite.scoring import ScoreRule, batch_scores
from geogrid.settings import Settings
from geogrid.worktime import WorkCalendar

app = typer.Typer(
    help="Satellite patches (图斑): import batches, register imagery, verify, score.",
    no_args_is_help=True,
)
out = Console()
BAR = (TextColumn("{task.description:<20}"), BarColumn(), TimeElapsedColumn())


def _figures(title: str, figures: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_row("patches (图斑)", f"{figures.get('patches', 0):,}")
    for state, n in figures.get("handling", {}).items():
        table.add_row(f"{state} ({HANDLING_STATES[state]})", f"{n:,}")
    for verdict, n in figures.get("verdicts", {}).items():
        table.add_row(f"{verdict} ({VERDICTS.get(verdict, '未核验')})", f"{n:,}")
    table.add_row("overdue (超期)", f"{figures.get('overdue', 0):,}")
    table.add_row("dust area covered (m²)", f"{figures.get('dust_area_covered_m2', 0):,.1f}")
    out.print(table)


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Patch file."),
    batch: str = typer.Option(..., help="Batch id, e.g. the month of delivery 2022-05."),
    crs: str | None = typer.Option(None, help="CRS of a file without one: EPSG:xxxx or gcj02."),
    vendor: str | None = typer.Option(None, help="Who delivered the patches."),
    delivered_at: datetime | None = typer.Option(None, help="Delivery time (default now)."),
    dispatched_at: datetime | None = typer.Option(
        None, help="Registration and dispatch time (default the delivery time)."
    ),
    note: str | None = typer.Option(None, help="A note on the batch."),
) -> None:
    """Import a batch of patches from FILE; each becomes a case (source satellite)."""
    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_file)
    with Progress(*BAR, console=out) as bar, transaction() as conn:
        task = bar.add_task("reading", total=1.0)
        upload = read_patch_upload(file, catalogue=catalogue, crs=crs, tz=settings.timezone)
        result = import_batch(
            conn,
            upload,
            batch_id=batch,
            catalogue=catalogue,
            calendar=WorkCalendar.load(settings.calendar_file, tz=settings.timezone),
            delivered_at=delivered_at,
            dispatched_at=dispatched_at,
            vendor=vendor,
            note=note,
            tz=settings.timezone,
            progress=lambda stage, f: bar.update(task, description=stage, completed=f),
        )
    _figures(f"Batch {batch}", result["figures"])
    out.print(f"[green]Imported {len(upload):,} patch(es)[/] into batch {batch}.")


@app.command("imagery")
def imagery_cmd(
    batch: str = typer.Argument(..., help="Batch id."),
    role: str = typer.Argument(..., help="reference, before or after."),
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoTIFF."),
    bands: str = typer.Option("red=1,green=2,blue=3,nir=4", help="Band roles."),
    scale: float | None = typer.Option(None, help="Digital number of reflectance 1.0."),
    acquired_on: datetime | None = typer.Option(None, formats=["%Y-%m-%d"], help="Image date."),
) -> None:
    """Register the ROLE GeoTIFF of a batch (the file stays where it is)."""
    day: date | None = acquired_on.date() if acquired_on else None
    with transaction() as conn:
        info = register_imagery(
            conn,
            batch,
            role=role,
            path=path,
            bands=parse_band_roles(bands),
            scale=scale,
            acquired_on=day,
        )
    out.print(
        f"[green]Registered[/] the {role} image of batch {batch}: {info['width']} x "
        f"{info['height']} px, {info['count']} band(s), {info['crs']}, scale {info['scale']:g}."
    )


@app.command("verify")
def verify_cmd(
    batch: str = typer.Option(..., help="Batch id."),
    rules: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="JSON of verification rules and thresholds."
    ),
) -> None:
    """Verify every patch of a batch (field evidence, imagery) and store the verdicts."""
    parsed = VerifyRules.from_dict(json.loads(rules.read_text())) if rules else VerifyRules()
    with Progress(*BAR, console=out) as bar, transaction() as conn:
        task = bar.add_task("verifying", total=1.0)
        result = verify_batch(
            conn,
            batch,
            rules=parsed,
            progress=lambda stage, f: bar.update(task, description=stage, completed=f),
        )
    table = Table(title=f"Batch {batch}: {result['patches']:,} patch(es) verified")
    table.add_column("verdict")
    table.add_column("patches", justify="right")
    for verdict, label in VERDICTS.items():
        table.add_row(f"{verdict} ({label})", f"{result['verdicts'].get(verdict, 0):,}")
    out.print(table)


@app.command("batches")
def batches_cmd() -> None:
    """List the batches with their figures, newest first."""
    with transaction() as conn:
        for batch in list_batches(conn):
            _figures(f"Batch {batch['id']} · {batch['file_name']}", batch["figures"])


SCORE_COLUMNS = (
    ("patches", "图斑"),
    ("due", "应处置"),
    ("on_site", "实地处置"),
    ("documents", "材料结案"),
    ("pending", "未处置"),
    ("verified", "已核实"),
    ("not_verified", "未整改"),
    ("overdue", "超期"),
)


@app.command("scores")
def scores_cmd(
    batch: str | None = typer.Option(None, help="Batch id (default: the newest batch)."),
    street: str | None = typer.Option(None, help="Only this street (9-digit code)."),
    at: datetime | None = typer.Option(None, help="Cut-off of due and overdue (default now)."),
    rules: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="JSON of the deduction rule (points, mode, …)."
    ),
) -> None:
    """Figures and the satellite indicator's score of a batch, per street and district."""
    rule = ScoreRule.from_dict(json.loads(rules.read_text())) if rules else ScoreRule()
    moment = at
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(Settings().timezone))
    with transaction() as conn:
        result = batch_scores(conn, batch, street_code=street, at=moment, rule=rule)
    table = Table(title=f"Batch {', '.join(result['batches'])}: satellite patches and score")
    table.add_column("street (街道)")
    for _, label in SCORE_COLUMNS:
        table.add_column(label, justify="right")
    for column in ("dust covered m²", "documents %", "deduction", "score"):
        table.add_column(column, justify="right")

    def cells(row: dict[str, Any]) -> list[str]:
        share = row["documents_share"]
        return [
            *(f"{row[key]:,}" for key, _ in SCORE_COLUMNS),
            f"{row['dust_area_covered_m2']:,.1f}",
            "—" if share is None else f"{share:.2f}",
            f"{row['deduction']:.2f}",
            f"{row['score']:.2f}",
        ]

    for row in result["streets"]:
        table.add_row(f"{row['street_name']} {row['street_code']}", *cells(row))
    table.add_row("district (全区)", *cells(result["district"]), style="bold")
    out.print(table)
    d = result["district"]
    out.print(
        f"卫星遥感监测体系 {d['score']:.2f} / {d['points']:g} points "
        f"(deduction {d['deduction']:.2f}; rule {rule.mode}, basis {rule.basis})."
    )
