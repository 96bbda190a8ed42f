"""Cases suite: indicators, Gi* hotspots and a 200,000-case import at ``city`` scale.

The ``city`` demo district (10,174 grids) gets 2,000,000 demo cases over the 12 months up to
October 2026 through the import path (validation, location, upsert). Then, on that database:
one month's indicators by street and by grid (median of several runs, first run apart),
Gi* for that month (the first call builds the contiguity weights, later calls reuse them),
and an import of 200,000 new cases from a CSV file (read, validate, locate, upsert).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa

from bench.report import Section, machine, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.demo import build_cases, build_district, load_demo_cases
from geogrid.hotspots import WeightsCache, find_hotspots, parse_hotspot_request
from geogrid.indicators import IndicatorQuery, compute_indicators
from geogrid.worktime import WorkCalendar

SEED = 2  # its own database: this suite adds cases
END = date(2026, 10, 31)
MONTH = ("2026-10-01", "2026-10-31")
IMPORT_ROWS = 200_000
RUNS = 7
TARGETS = {"indicators": 1.0, "hotspots": 3.0, "import": 60.0}


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """First run's seconds, median of the following ``runs`` runs, the last result."""
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), result


def _verdict(seconds: float, target: float) -> str:
    return "PASS" if seconds <= target else "MISS"


def run(stack: BenchStack, opts: Options) -> Section:
    """Measure indicators, hotspots and an import against the issue's targets."""
    db = stack.demo("city", seed=SEED)
    catalogue, calendar = load_catalogue(), WorkCalendar.load()
    district = build_district("city", seed=SEED)
    t0 = time.perf_counter()
    frame = build_cases(district, count=opts.cases, end=END, seed=SEED)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    stored = load_demo_cases(
        db.engine,
        frame,
        district_code=district.spec.district_code,
        catalogue=catalogue,
        calendar=calendar,
    )
    load_s = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) cases"))
        month_cases = conn.execute(
            sa.text(
                "SELECT count(*) FROM cases WHERE registered_at >= '2026-10-01 00:00+08' "
                "AND registered_at < '2026-11-01 00:00+08'"
            )
        ).scalar_one()
    wait_for_idle(opts.idle_wait_s)

    rows: list[list[str]] = [
        ["cases stored (demo, through the import path)", f"{stored:,}", "", ""],
        ["generate / store them", f"{build_s:.0f} s / {load_s:.0f} s", "", ""],
        ["cases registered in 2026-10", f"{month_cases:,}", "", ""],
    ]
    ok = True
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for level in ("street", "grid"):
            query = IndicatorQuery.parse(level=level, start=MONTH[0], end=MONTH[1])
            first, median, result = _timed(lambda q=query: compute_indicators(conn, q), RUNS)
            ok &= median <= TARGETS["indicators"]
            rows.append(
                [
                    f"indicators of one month by {level} ({len(result.rows):,} rows), "
                    f"median of {RUNS} (first run)",
                    f"{median:.2f} s ({first:.2f} s)",
                    f"≤ {TARGETS['indicators']:.0f} s",
                    _verdict(median, TARGETS["indicators"]),
                ]
            )
        request = parse_hotspot_request({"from": MONTH[0], "to": MONTH[1]})
        cache = WeightsCache()
        first, median, result = _timed(lambda: find_hotspots(conn, request, cache=cache), RUNS)
        ok &= median <= TARGETS["hotspots"]
        rows.append(
            [
                f"Gi* of one month, queen weights, {len(result.grids):,} grids, median of {RUNS} "
                "(first run, building the weights)",
                f"{median:.2f} s ({first:.2f} s)",
                f"≤ {TARGETS['hotspots']:.0f} s",
                _verdict(median, TARGETS["hotspots"]),
            ]
        )

    new = build_cases(district, count=IMPORT_ROWS, end=date(2026, 11, 20), months=1, seed=SEED + 1)
    new["case_id"] = "N" + new["case_id"].astype(str)
    path = opts.out_dir / "cases-200k.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    new.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    size_mb = path.stat().st_size / 1e6
    wait_for_idle(opts.idle_wait_s)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        result = import_cases(conn, path, catalogue=catalogue, calendar=calendar)
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        again = import_cases(conn, path, catalogue=catalogue, calendar=calendar)
    reimport_s = time.perf_counter() - t0
    ok &= import_s <= TARGETS["import"]
    rows += [
        [
            f"import {result.inserted:,} new cases from CSV ({size_mb:.0f} MB): read, "
            "validate, locate, upsert",
            f"{import_s:.1f} s",
            f"≤ {TARGETS['import']:.0f} s",
            _verdict(import_s, TARGETS["import"]),
        ],
        [f"re-import the same file ({again.updated:,} updated)", f"{reimport_s:.1f} s", "", ""],
    ]
    body = "\n\n".join(
        [
            table(["measure", "value", "target", ""], rows),
            f"The `city` demo (seed {SEED}) with {stored:,} demo cases over the 12 months up to "
            "2026-10. Indicators and Gi* are timed in the core (one autocommit connection), "
            "after a first run that warms the caches; the first run is shown in brackets. "
            "The import is one run each (it changes the data).",
            machine(db.engine),
            "Reproduce: `make bench ARGS=cases` (`--cases N` to change the case count).",
        ]
    )
    return Section("Cases, indicators and hotspots (issue: cases and indicators)", body, passed=ok)
