"""Patrol suite: bulk ingest of supervisors' GPS fixes at city scale (DOMAIN.md §5).

City scale is 100 supervisors with a fix every ~10 s over a 10-hour shift: 360,000 fixes a day,
~11 million a month. A day is built as the text cells of an uploaded table (random walks from
:func:`synthetic_day`: a few percent inaccurate, network-located and far-off fixes), then
parsed (:func:`geogrid.patrol.fixes.parse_fixes`) and stored in one transaction
(:func:`geogrid.patrol.fixes.store_fixes`), each timed. Measured in order, on one database:

1. a new day, into an empty database;
2. the same day sent again (every fix already stored: the idempotent path);
3. a new day into a monthly partition already holding :data:`MONTH_DAYS` days.

Then two reads of the month-like partition check what its indexes serve: one supervisor's day
(primary key) and one grid's day (BRIN on time and position, migration 0008).

One function per measurement; :func:`run` calls them and writes the section.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.report import Section, machine, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.db.engine import ensure_database, make_engine, migrate
from geogrid.patrol.fixes import IngestResult, parse_fixes, store_fixes

DATABASE = "geogrid_bench_patrol"  # its own empty database: this suite writes fixes
DISTRICT = "530114"
SUPERVISORS = 100
FIXES_PER_SUPERVISOR = 3_600  # one every 10 s over 10 hours
FIRST = date(2026, 9, 1)
MONTH_DAYS = 20
CENTRE = (102.85, 24.98)  # the demo district's centre (lon, lat)
AREA_M = 600.0  # a supervisor's walk stays within this of its start (east and north)
TARGET = 100_000  # fixes/s, parse + store (issue: patrol)
QUERY_RUNS = 7


@dataclass(frozen=True)
class Ingest:
    """One timed ingest: what was stored and how long parsing and storing took."""

    label: str
    result: IngestResult
    parse_s: float
    store_s: float

    @property
    def total_s(self) -> float:
        return self.parse_s + self.store_s

    @property
    def rate(self) -> float:
        return self.result.received / self.total_s


def supervisor_ids(count: int = SUPERVISORS) -> list[str]:
    return [f"S{k:03d}" for k in range(count)]


def synthetic_day(
    day: date,
    *,
    supervisors: int = SUPERVISORS,
    per_supervisor: int = FIXES_PER_SUPERVISOR,
    seed: int = 0,
) -> pd.DataFrame:
    """One day of fixes as the text cells of an uploaded table (local time, WGS84).

    Each supervisor walks at ~1.3 m/s with a drifting heading, within :data:`AREA_M` of a
    random start within 4 km of :data:`CENTRE` (the area of ~100 assigned grids), reporting at
    distinct random seconds of the 08:00–18:00 shift; about 4 % of fixes report an accuracy
    worse than 50 m, 2 % come from the network and 0.2 % are 800 m off (speed spikes).
    """
    rng = np.random.default_rng([seed, day.toordinal()])
    shift_s = 10 * 3600
    seconds = np.concatenate(
        [np.sort(rng.choice(shift_s, per_supervisor, replace=False)) for _ in range(supervisors)]
    )
    who = np.repeat(np.arange(supervisors), per_supervisor)
    first = np.arange(supervisors) * per_supervisor
    step_s = np.diff(seconds, prepend=0).astype(float)
    step_s[first] = 0.0
    heading = np.cumsum(rng.normal(0, 0.3, len(who)))
    speed = np.clip(rng.normal(1.3, 0.3, len(who)), 0, None)
    east, north = speed * step_s * np.sin(heading), speed * step_s * np.cos(heading)
    start = rng.uniform(-4000, 4000, (supervisors, 2))

    def walk(steps: np.ndarray, origin: np.ndarray) -> np.ndarray:
        done = np.cumsum(steps)  # steps[first] are 0: each walk starts at its origin
        away = np.mod(done - np.repeat(done[first], per_supervisor) + AREA_M, 4 * AREA_M)
        folded = np.where(away < 2 * AREA_M, away - AREA_M, 3 * AREA_M - away)
        return folded + np.repeat(origin, per_supervisor)  # kept within ±AREA_M, as reflected

    x, y = walk(east, start[:, 0]), walk(north, start[:, 1])
    x[rng.random(len(who)) < 0.002] += 800.0
    metres_per_degree = 111_320.0
    lat = CENTRE[1] + y / metres_per_degree
    lon = CENTRE[0] + x / (metres_per_degree * np.cos(np.radians(CENTRE[1])))
    accuracy = np.round(rng.lognormal(np.log(12), 0.8, len(who)), 1)
    stamps = pd.Timestamp(datetime(day.year, day.month, day.day, 8)) + pd.to_timedelta(
        seconds, unit="s"
    )
    return pd.DataFrame(
        {
            "supervisor_id": np.array(supervisor_ids(supervisors), dtype=object)[who],
            "timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object),
            "lon": np.char.mod("%.7f", lon).astype(object),
            "lat": np.char.mod("%.7f", lat).astype(object),
            "accuracy_m": accuracy.astype(str).astype(object),
            "speed": np.round(speed, 1).astype(str).astype(object),
            "heading": np.round(np.degrees(heading) % 360).astype(str).astype(object),
            "source": np.where(rng.random(len(who)) < 0.02, "network", "gps").astype(object),
        }
    )


def _database(stack: BenchStack) -> Engine:
    """A fresh migrated database on the bench cluster (no territory: fixes need none)."""
    url = stack.cluster.url(DATABASE)
    ensure_database(url)
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE fixes"))
    return engine


def _ingest(engine: Engine, frame: pd.DataFrame, label: str) -> Ingest:
    t0 = time.perf_counter()
    fixes = parse_fixes(frame, supervisors=set(supervisor_ids()), devices={})
    t1 = time.perf_counter()
    with engine.begin() as conn:
        result = store_fixes(conn, fixes, district_code=DISTRICT)
    return Ingest(label, result, t1 - t0, time.perf_counter() - t1)


def measure_new_day(engine: Engine, opts: Options) -> Ingest:
    """A day into an empty database (its monthly partition is created on the way)."""
    frame = synthetic_day(FIRST)
    wait_for_idle(opts.idle_wait_s)
    return _ingest(engine, frame, "new day, empty database")


def _layer_version(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT version FROM layer_versions WHERE layer = 'fixes'")
        return int(conn.execute(query).scalar_one())


def measure_resent_day(engine: Engine, opts: Options) -> Ingest:
    """The first day again: every fix is already stored, nothing may be written.

    Any insert or update of ``fixes`` bumps its layer version (a statement trigger).
    """
    frame = synthetic_day(FIRST)
    version = _layer_version(engine)
    wait_for_idle(opts.idle_wait_s)
    ingest = _ingest(engine, frame, "the same day sent again")
    written = "nothing written" if _layer_version(engine) == version else "TABLE WRITTEN"
    return replace(ingest, label=f"{ingest.label} ({written})")


def measure_month_day(engine: Engine, opts: Options) -> tuple[Ingest, list[Ingest]]:
    """Fill the month up to :data:`MONTH_DAYS` days, then time one more day.

    Returns the timed day and the days stored before it (timed as well, for the record).
    """
    filling = [
        _ingest(engine, synthetic_day(FIRST + timedelta(days=k)), f"day {k + 1}")
        for k in range(1, MONTH_DAYS)
    ]
    frame = synthetic_day(FIRST + timedelta(days=MONTH_DAYS))
    wait_for_idle(opts.idle_wait_s)
    label = f"new day into a partition holding {MONTH_DAYS} days"
    return _ingest(engine, frame, label), filling


def _median_ms(engine: Engine, query: str, params: dict[str, object]) -> tuple[float, int]:
    times, count = [], 0
    with engine.connect() as conn:
        for _ in range(QUERY_RUNS):
            t0 = time.perf_counter()
            count = int(conn.execute(sa.text(query), params).scalar_one())
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, count


def measure_reads(engine: Engine) -> list[list[str]]:
    """One supervisor's day and one 100 m grid's day, read from the month-like partition.

    Read after a VACUUM, which autovacuum runs on a partition every 100,000 fixes inserted
    (migration 0008): it summarises the BRIN ranges the ingest appended.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) fixes"))
    day = FIRST + timedelta(days=MONTH_DAYS // 2)
    t0 = pd.Timestamp(day, tz="Asia/Shanghai").tz_convert("UTC").to_pydatetime()
    bounds = {"t0": t0, "t1": t0 + timedelta(days=1)}
    with engine.begin() as conn:
        lon, lat = conn.execute(
            sa.text(
                "SELECT ST_X(geom), ST_Y(geom) FROM fixes WHERE district_code = :d "
                "AND supervisor_id = 'S050' AND fixed_at >= :t0 + interval '5 hours' LIMIT 1"
            ),
            {"d": DISTRICT, **bounds},
        ).one()
    cases: list[tuple[str, str, dict[str, object]]] = [
        (
            "one supervisor, one day (primary key)",
            "SELECT count(*) FROM fixes WHERE district_code = :d AND supervisor_id = 'S050' "
            "AND fixed_at >= :t0 AND fixed_at < :t1",
            {"d": DISTRICT, **bounds},
        ),
        (
            "one grid (100 m square on a walk), one day (BRIN on time and position)",
            "SELECT count(*) FROM fixes WHERE fixed_at >= :t0 AND fixed_at < :t1 "
            "AND geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 0.0005)",
            {"lon": lon, "lat": lat, **bounds},
        ),
        (
            f"the same grid over the {MONTH_DAYS + 1} days stored (BRIN on position)",
            "SELECT count(*) FROM fixes "
            "WHERE geom && ST_Expand(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 0.0005)",
            {"lon": lon, "lat": lat},
        ),
    ]
    rows = []
    for label, query, params in cases:
        ms, count = _median_ms(engine, query, params)
        rows.append([label, f"{count:,}", f"{ms:.1f} ms"])
    return rows


def _storage(engine: Engine) -> str:
    """Sizes of the month-like partition and of its indexes."""
    with engine.connect() as conn:
        sizes = conn.execute(
            sa.text(
                "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
                "WHERE oid = CAST(:part AS regclass) OR oid IN "
                "(SELECT indexrelid FROM pg_index WHERE indrelid = CAST(:part AS regclass)) "
                "ORDER BY relname"
            ),
            {"part": f"fixes_{FIRST:%Y_%m}"},
        ).all()
    return ", ".join(f"`{name}` {size}" for name, size in sizes)


def _verdict(rate: float) -> str:
    return "PASS" if rate >= TARGET else "MISS"


def _row(ingest: Ingest) -> list[str]:
    return [
        ingest.label,
        f"{ingest.result.received:,}",
        f"{ingest.result.inserted:,}",
        f"{ingest.parse_s:.2f}",
        f"{ingest.store_s:.2f}",
        f"{ingest.total_s:.2f}",
        f"{ingest.rate:,.0f}",
        f"≥ {TARGET:,}/s",
        _verdict(ingest.rate),
    ]


def run(stack: BenchStack, opts: Options) -> Section:
    """Measure the three ingests and the two reads; return the suite's section."""
    engine = _database(stack)
    try:
        ingests = [measure_new_day(engine, opts), measure_resent_day(engine, opts)]
        month, filling = measure_month_day(engine, opts)
        ingests.append(month)
        reads = measure_reads(engine)
        storage = _storage(engine)
        facts = machine(engine)
    finally:
        engine.dispose()
    fill_rates = [i.rate for i in filling]
    headers = ["ingest", "fixes", "new", "parse s", "store s", "total s", "fixes/s", "target", ""]
    flagged = ingests[0].result.flagged
    body = "\n\n".join(
        [
            table(headers, [_row(i) for i in ingests]),
            f"Each day: {SUPERVISORS} supervisors × {FIXES_PER_SUPERVISOR:,} fixes "
            f"(synthetic random walks, `bench/patrol.py`), given as text cells and parsed, then "
            f"stored in one transaction; {flagged:,} of the first day's fixes were flagged "
            f"(inaccurate, network, speed). Filling the month (days 2–{MONTH_DAYS}, one "
            f"transaction each) ran at {min(fill_rates):,.0f}–{max(fill_rates):,.0f} fixes/s "
            f"(median {statistics.median(fill_rates):,.0f}).",
            table(["read of the month-like partition", "fixes", f"median of {QUERY_RUNS}"], reads),
            f"Storage of the month-like partition ({MONTH_DAYS + 1} days): {storage}.",
            facts,
            "Reproduce: `make bench ARGS=patrol`.",
        ]
    )
    return Section("Patrol (issue: patrol)", body, passed=all(i.rate >= TARGET for i in ingests))
