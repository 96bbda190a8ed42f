"""Suite ``stress``: a mixed load on loopback, then the same load across a database restart.

On the ``city`` demo district (its own database, seed :data:`SEED`: the suite writes fixes),
:data:`CLIENTS` supervisors are registered, each with an API key of role ``supervisor``
scoped to itself; the API runs with public reads off (every request authenticated against the
database, as in production) in :data:`WORKERS` uvicorn workers. :data:`CLIENTS` asyncio
clients then loop over a mix (``bench/mixed.py``): 60 % grid tiles (z12–z16, random addresses
covering the district), 30 % items pages (random bbox, limit 10–100), 10 % uploads of 20–100
fixes of the client's own supervisor.

1. ``load``: :data:`LOAD_S` seconds. Target: no failed request, and the fixes stored are
   exactly the fixes acknowledged.
2. ``restart``: :data:`RESTART_S` seconds; after :data:`RESTART_AT_S` s the cluster is stopped
   (fast shutdown), kept down :data:`DOWN_S` s and started again, the API left running.
   Targets: every failed request is a 503 (never a 500, never no answer); the last failure
   ends within :data:`TARGET_RECOVERY_S` s of the database being back; no acknowledged fix is
   lost (phones send a batch again until it is acknowledged, so stored = acknowledged again).

The load generator is Python on the same two cores as the server and PostgreSQL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine

from bench.cpu import ForeignCpu, TreeCpu
from bench.mixed import (
    ITEMS,
    KINDS,
    TILE,
    UPLOAD,
    Run,
    Workload,
    first_fix_time,
    fix_report,
    items_paths,
    mixed_load,
    register_phones,
    restart,
    stored_fixes,
    tile_paths,
)
from bench.mvt import covering_tiles, district_bounds
from bench.report import Section, machine, table, wait_for_idle
from bench.servers import geogrid_server
from bench.stack import BenchStack
from bench.suite import Options

TITLE = "Load and database restart (issue: hardening)"
SEED = 3  # the suite's own demo database (it writes fixes and keys)
CLIENTS = 50
LOAD_S = 60.0
RESTART_S = 40.0
RESTART_AT_S = 15.0
DOWN_S = 3.0
WORKERS = 2
ZOOMS = (12, 13, 14, 15, 16)
ITEMS_PAGES = 500
TARGET_RECOVERY_S = 10.0


@dataclass(frozen=True)
class Phase:
    """One measured run and the fixes it left in the database."""

    name: str
    run: Run
    fixes: dict[str, int]
    cores: dict[str, float]  # mean CPUs used during the run, by process tree


def _cores(
    server_pid: int, postgres: list[int], measured: Callable[[], Phase]
) -> tuple[Phase, dict[str, float]]:
    """Run ``measured`` and the mean CPUs the server, PostgreSQL, this process (the load
    generator) and every other process on the machine used meanwhile."""
    foreign = ForeignCpu(postgres)
    trees = TreeCpu({"server": [server_pid], "postgres": postgres, "bench": [os.getpid()]})
    t0 = time.monotonic()
    phase = measured()
    used = trees.seconds()
    wall = time.monotonic() - t0
    # The bench's tree holds the server too; what is left is the load generator.
    return phase, {
        "server": used["server"] / wall,
        "PostgreSQL": used["postgres"] / wall,
        "load generator": (used["bench"] - used["server"]) / wall,
        "other processes": foreign.cpus(),
    }


def _phase(
    name: str,
    url: str,
    engine: Engine,
    work: Workload,
    duration_s: float,
    *,
    restart_at_s: float | None = None,
    restart_db: Callable[[], tuple[float, float, float]] | None = None,
) -> Phase:
    print(f"==> {name}: {len(work.phones)} clients for {duration_s:.0f} s", flush=True)
    run = mixed_load(
        url, work, duration_s=duration_s, restart_at_s=restart_at_s, restart_db=restart_db
    )
    stored = stored_fixes(engine, [p.supervisor_id for p in work.phones], since=work.first_fix)
    phase = Phase(name, run, fix_report(run, stored), {})
    print(f"    {run.requests:,} requests, {run.errors:,} failed, fixes {phase.fixes}", flush=True)
    return phase


def measure(
    stack: BenchStack,
    opts: Options,
    *,
    clients: int = CLIENTS,
    load_s: float = LOAD_S,
    restart_s: float = RESTART_S,
    restart_at_s: float = RESTART_AT_S,
    down_s: float = DOWN_S,
) -> tuple[Phase, Phase]:
    """Both phases on the suite's database (sizes as arguments, for shorter trial runs)."""
    db = stack.demo("city", seed=SEED)
    phones = register_phones(db.engine, clients)
    tiles = [t for z in ZOOMS for t in covering_tiles(db.engine, z, seed=SEED)]
    bounds = district_bounds(db.engine)

    def workload(days_ago: int) -> Workload:
        return Workload(
            phones=phones,
            tile_paths=tile_paths("grids", tiles),
            items_paths=items_paths("grids", bounds, count=ITEMS_PAGES, span=(0.02, 0.1)),
            first_fix=first_fix_time(days_ago),
            seed=SEED + days_ago,
        )

    out_dir = opts.out_dir / "stress"
    with geogrid_server(
        db.url,
        tile_cache_size=4096,
        work_dir=out_dir,
        name="geogrid-stress",
        public_read=False,
        workers=WORKERS,
    ) as server:
        wait_for_idle(opts.idle_wait_s)
        load, cores = _cores(
            server.pid,
            stack.own_pids(),
            lambda: _phase("load", server.url, db.engine, workload(30), load_s),
        )
        load = replace(load, cores=cores)
        wait_for_idle(opts.idle_wait_s)
        fault = _phase(
            "restart",
            server.url,
            db.engine,
            workload(20),
            restart_s,
            restart_at_s=restart_at_s,
            restart_db=restart(stack.cluster, down_s=down_s),
        )
    return load, fault


def _latency_rows(phase: Phase) -> list[list[str]]:
    rows = []
    names = {TILE: "tile", ITEMS: "items page", UPLOAD: "upload", "all": "all"}
    for s in [phase.run.stats(k) for k in KINDS] + [phase.run.stats()]:
        rows.append(
            [
                f"{phase.name}: {names[s.kind]}",
                f"{s.requests:,}",
                f"{s.requests / phase.run.duration_s:,.1f}",
                f"{s.errors:,}",
                f"{s.p50:.1f}",
                f"{s.p95:.1f}",
                f"{s.p99:.1f}",
                f"{s.max:.0f}",
            ]
        )
    return rows


def _fix_row(phase: Phase) -> list[str]:
    f = phase.fixes
    return [
        phase.name,
        f"{f['sent']:,}",
        f"{f['acknowledged']:,}",
        f"{f['inserted']:,}",
        f"{f['stored']:,}",
        f"{f['lost']:,}",
        f"{f['stored_unacknowledged']:,}",
        f"{f['dropped']:,}",
    ]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _targets(load: Phase, fault: Phase) -> list[tuple[str, str, bool]]:
    lf, ff = load.fixes, fault.fixes
    statuses = fault.run.statuses
    others = {s: n for s, n in statuses.items() if not (200 <= s < 300 or s == 503)}
    rec = fault.run.recovery()
    assert rec is not None
    return [
        ("load: no failed request", f"{load.run.errors:,} failed", load.run.errors == 0),
        (
            "load: fixes stored = acknowledged = sent",
            f"{lf['stored']:,} / {lf['acknowledged']:,} / {lf['sent']:,}",
            lf["stored"] == lf["acknowledged"] == lf["sent"] and lf["lost"] == 0,
        ),
        (
            "restart: failures are 503 only (no 500, no unanswered request)",
            f"{statuses.get(503, 0):,} × 503"
            + "".join(f", {n:,} × {s or 'no answer'}" for s, n in sorted(others.items())),
            not others,
        ),
        (
            f"restart: last failure ≤ {TARGET_RECOVERY_S:.0f} s after the database is back",
            f"{rec.errors_until_s:.2f} s (first 2xx after {rec.first_ok_s:.2f} s)",
            rec.errors_until_s <= TARGET_RECOVERY_S,
        ),
        (
            "restart: no acknowledged fix lost",
            f"{ff['lost']:,} lost of {ff['acknowledged']:,} acknowledged",
            ff["lost"] == 0,
        ),
    ]


def run(stack: BenchStack, opts: Options) -> Section:
    """Measure the load and the restart; return the suite's section."""
    load, fault = measure(stack, opts)
    facts = machine(stack.demo("city", seed=SEED).engine)
    outage = fault.run.outage
    rec = fault.run.recovery()
    assert outage is not None and rec is not None
    targets = _targets(load, fault)
    headers = ["phase: kind", "requests", "req/s", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    fix_headers = [
        "phase",
        "fixes sent",
        "acknowledged",
        "inserted (per acks)",
        "stored",
        "lost",
        "stored unacknowledged",
        "given up",
    ]
    body = "\n\n".join(
        [
            table(headers, _latency_rows(load) + _latency_rows(fault)),
            table(fix_headers, [_fix_row(load), _fix_row(fault)]),
            f"**Restart** {RESTART_AT_S:.0f} s into the second phase: the fast shutdown took "
            f"{outage.stopped - outage.asked:.2f} s, the cluster stayed down {DOWN_S:.0f} s and "
            f"took {outage.back - outage.stopped - DOWN_S:.2f} s to start. "
            f"{rec.failed:,} requests failed from the stop on; after the database was back the "
            f"first request succeeded after {rec.first_ok_s:.2f} s and the last failure ended "
            f"after {rec.errors_until_s:.2f} s, with the API process never restarted.",
            f"**CPU during the load phase** (mean cores of {os.cpu_count()}): "
            + ", ".join(f"{name} {cores:.2f}" for name, cores in load.cores.items())
            + ".",
            table(
                ["Target (issue)", "Measured", "Result"],
                [[t, m, _verdict(ok)] for t, m, ok in targets],
            ),
            f"The `city` demo district (seed {SEED}), {CLIENTS} clients, each a supervisor with "
            f"its own API key (public reads off); {WORKERS} uvicorn workers, tile cache on "
            f"(4,096 tiles per worker). Each client loops without pause: 60 % grid tiles "
            f"(z{ZOOMS[0]}–z{ZOOMS[-1]}), 30 % items pages (random bbox, limit 10–100), 10 % "
            "uploads of 20–100 fixes of its own supervisor (`bench/mixed.py`); after a failed "
            "request it pauses 0.25 s, and it sends a batch again until it is acknowledged. "
            "Latencies include failed requests. The load generator (Python, asyncio) shares the "
            "two cores with the server and PostgreSQL.",
            facts,
            "Reproduce: `make bench ARGS=stress`.",
        ]
    )
    return Section(TITLE, body, passed=all(ok for _, _, ok in targets))
