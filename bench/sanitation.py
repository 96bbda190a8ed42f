"""Sanitation suite: one city day's sweeping coverage of every road segment (issue 10).

On the ``city`` demo territory (~2,060 km of roads cut into ~4,100 segments between crossings
with main and secondary roads: more than the issue's ~2,000, so every point of road is
measured), three demo companies run 51 vehicles (45 sweepers, 6 washers) that report every
5 s over their 10-hour shift (~360,000 fixes), stored through the ingest. Measured:
:func:`geogrid.sanitation.sweeping.sweep_days` for that day — the fixes read from PostGIS
with a binary COPY, projected, turned into track lines at sweeping speed, one STRtree query
per company against points every 5 m along the segments, sweeps counted per point, figures
per segment — and the whole table (:func:`geogrid.sanitation.coverage.sweep_table`,
summaries included) once more. No crews run: the alleys they would sweep come out missed,
which changes nothing in the work measured.
"""

from __future__ import annotations

import statistics
import time
from datetime import date

import numpy as np
import sqlalchemy as sa

from bench.report import Section, machine, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.catalogue import load_catalogue
from geogrid.demo import build_district
from geogrid.demo.sanitation import Fleet, build_sanitation, load_demo_sanitation
from geogrid.sanitation.coverage import sweep_table
from geogrid.sanitation.rules import SweepRule
from geogrid.sanitation.sweeping import sweep_days

SEED = 5  # its own database: this suite writes companies, vehicles and fixes
DAY = date(2026, 9, 1)
FLEET = Fleet(sweepers=15, washers=2, crews=0, trucks=0)  # per company: 51 vehicles
RUNS = 3
TARGET_S = 5.0


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def run(stack: BenchStack, opts: Options) -> Section:
    """Load a city day of vehicle fixes, then time that day's sweeping coverage."""
    db = stack.demo("city", seed=SEED)
    district = build_district("city", seed=SEED)
    t0 = time.perf_counter()
    demo = build_sanitation(district, first=DAY, last=DAY, seed=SEED, fleet=FLEET)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = load_demo_sanitation(
        db.engine, demo, district_code=district.spec.district_code, catalogue=load_catalogue()
    )
    load_s = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) fixes"))
    rule = SweepRule()
    wait_for_idle(opts.idle_wait_s)
    times = []
    with db.engine.connect() as conn:
        t0 = time.perf_counter()
        sweep_days(conn, DAY, DAY, rule=rule)
        first_s = time.perf_counter() - t0
        for _ in range(RUNS):
            t0 = time.perf_counter()
            days = sweep_days(conn, DAY, DAY, rule=rule)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        whole = sweep_table(conn, DAY, DAY, rule=rule)
        table_s = time.perf_counter() - t0
    day_s = statistics.median(times)
    totals = whole.totals
    main = days[days["road_class"] != "alley"]
    kilometres = float(days["length_m"].sum()) / 1000
    points = int(np.ceil(days["length_m"] / rule.step_m).sum())
    ok = day_s <= TARGET_S
    rows = [
        [
            f"vehicle fixes of the day ({len(demo.trackers)} vehicles, a fix every 5 s over "
            f"their 10-hour shift; generated in {build_s:.1f} s, stored through the ingest "
            f"with the companies, areas and rules in {load_s:.1f} s)",
            f"{counts['tracker_fixes']:,}",
            "~360,000",
            "",
        ],
        [
            f"road segments ({kilometres:,.0f} km, {points:,} points every {rule.step_m:g} m)",
            f"{len(days):,}",
            "~2,000",
            "",
        ],
        [
            f"one day's sweeping coverage, median of {RUNS} (first call {first_s:.2f} s): main "
            f"and secondary roads {main['swept_share'].mean():.1f} % swept on average, "
            f"{int((main['status'] == 'done').sum()):,} of {len(main):,} done",
            f"{day_s:.2f} s",
            f"≤ {TARGET_S:g} s",
            _verdict(day_s, TARGET_S),
        ],
        [
            "the same as a table (per company, area, road class, missed list): district "
            f"{totals['swept_share']} % swept, {totals['missed']:,} segments missed",
            f"{table_s:.2f} s",
            "",
            "",
        ],
    ]
    body = "\n\n".join(
        [
            table(["measure", "value", "target", ""], rows),
            f"The `city` demo territory (seed {SEED}) and the demo sanitation companies with "
            f"{FLEET.sweepers} sweepers and {FLEET.washers} washers each and no crews (the "
            "alleys are the crews' work, so they come out missed). The lateral distance is "
            f"{rule.lateral_m:g} m, the sweeping speed at most {rule.max_speed_kmh:g} km/h.",
            machine(db.engine),
            "Reproduce: `make bench ARGS=sanitation`.",
        ]
    )
    return Section("Sanitation sweeping coverage (issue 10)", body, passed=ok)
