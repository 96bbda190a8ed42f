"""``geogrid demo``: build and load the synthetic demo district."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from enum import StrEnum

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from geogrid.db.engine import database_url, make_engine
from geogrid.settings import Settings

app = typer.Typer(help="The synthetic demo district (呈贡区, Kunming).", no_args_is_help=True)
out = Console()


class Scale(StrEnum):
    small = "small"
    city = "city"


def last_complete_month_end(today: date | None = None) -> date:
    """The last day of the month before ``today``'s: the demo's cases end there."""
    first = (today or date.today()).replace(day=1)
    return first - timedelta(days=1)


def _load(url: str, scale: str, seed: int, *, cases: bool = True) -> dict[str, int]:
    from geogrid.catalogue import load_catalogue
    from geogrid.demo import (
        CASES,
        COMPONENTS,
        PATROL_DAYS,
        SUPERVISORS,
        build_cases,
        build_components,
        build_district,
        build_patrol,
        load_demo,
        load_demo_cases,
        load_demo_components,
        load_demo_patrol,
        load_demo_satellite,
    )
    from geogrid.demo.sanitation import SANITATION_DAYS, build_sanitation, load_demo_sanitation
    from geogrid.demo.satellite import PATCHES as SATELLITE_PATCHES
    from geogrid.demo.satellite import PIXEL_M as SATELLITE_PIXEL_M
    from geogrid.worktime import WorkCalendar

    settings = Settings()

    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=out,
    ) as bar:
        task = bar.add_task("demo", total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, description=stage, completed=min(max(fraction, 0.0), 1.0))

        share, end = (0.3, 0.4) if cases else (0.6, 1.0)  # build, territory, then the rest
        build_progress: Callable[[str, float], None] = lambda s, f: progress(s, share * f)  # noqa: E731
        district = build_district(scale, seed=seed, progress=build_progress)
        engine = make_engine(url)
        try:
            counts = load_demo(
                engine, district, progress=lambda s, f: progress(s, share + (end - share) * f)
            )
            if cases:
                catalogue = load_catalogue(settings.catalogue_file)
                progress("generating components", 0.4)
                parts = build_components(district, count=COMPONENTS[scale], seed=seed)
                counts["components"] = load_demo_components(
                    engine,
                    parts,
                    catalogue=catalogue,
                    progress=lambda s, f: progress(s, 0.4 + 0.1 * f),
                )
                progress("generating cases", 0.5)
                last = last_complete_month_end()
                frame = build_cases(district, count=CASES[scale], end=last, seed=seed)
                counts["cases"] = load_demo_cases(
                    engine,
                    frame,
                    district_code=district.spec.district_code,
                    catalogue=catalogue,
                    calendar=WorkCalendar.load(settings.calendar_file, tz=settings.timezone),
                    tz=settings.timezone,
                    progress=lambda s, f: progress(s, 0.55 + 0.3 * f),
                )
                patrol = build_patrol(
                    district,
                    supervisors=SUPERVISORS[scale],
                    first=last - timedelta(days=PATROL_DAYS[scale] - 1),
                    last=last,
                    seed=seed,
                    tz=settings.timezone,
                    progress=lambda s, f: progress("generating tracks", 0.85 + 0.05 * f),
                )
                counts.update(
                    load_demo_patrol(
                        engine,
                        patrol,
                        district_code=district.spec.district_code,
                        progress=lambda s, f: progress(s, 0.9 + 0.05 * f),
                    )
                )
                sanitation = build_sanitation(
                    district,
                    first=last - timedelta(days=SANITATION_DAYS[scale] - 1),
                    last=last,
                    seed=seed,
                    tz=settings.timezone,
                    progress=lambda s, f: progress("generating vehicle tracks", 0.95),
                )
                counts.update(
                    load_demo_sanitation(
                        engine,
                        sanitation,
                        district_code=district.spec.district_code,
                        catalogue=catalogue,
                        tz=settings.timezone,
                        progress=lambda s, f: progress(s, 0.95),
                    )
                )
                satellite = load_demo_satellite(
                    engine,
                    district,
                    month=last,
                    out_dir=settings.data_dir / "demo" / "imagery",
                    catalogue=catalogue,
                    calendar=WorkCalendar.load(settings.calendar_file, tz=settings.timezone),
                    patches=SATELLITE_PATCHES[scale],
                    seed=seed,
                    pixel_m=SATELLITE_PIXEL_M[scale],
                    tz=settings.timezone,
                    progress=lambda s, f: progress(s, 0.95 + 0.05 * f),
                )
                counts["patches"] = satellite["patches"]
        finally:
            engine.dispose()
        progress("done", 1.0)
    return counts


def load_if_empty(url: str) -> None:
    """Load the small demo when the database holds no grid (first `make run`)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM grids")).scalar_one()
    finally:
        engine.dispose()
    if n == 0:
        out.print("The database is empty: loading the small demo district.")
        counts = _load(url, "small", 0)
        out.print(", ".join(f"{k}: {v}" for k, v in counts.items()))


@app.command()
def load(
    scale: Scale = typer.Option(Scale.small, help="small (~500 grids) or city (~10,000)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same district."),
    cases: bool = typer.Option(
        True,
        help="Also components (small ~20,000, city ~500,000), 12 months of cases up to "
        "last month (small ~20,000, city ~2,000,000), patrol tracks of its last 7 days "
        "(small 6 supervisors, city 100 with ~1.2 million fixes) and last month's satellite "
        "patches with their imagery, handled and verified (small 24, city 120). --no-cases "
        "skips components, cases, patrol tracks and patches.",
    ),
) -> None:
    """Build the demo district and load it (replaces an earlier demo of the same district)."""
    settings = Settings()
    url = database_url(settings.database_url, settings.pg_dir, settings.pg_port)
    counts = _load(url, scale.value, seed, cases=cases)
    out.print("Loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
