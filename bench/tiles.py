"""Suite ``tiles``: grid map layers of issue "foundation", geogrid against tipg.

On the ``city`` demo district (seed 0, about 10,000 unit grids), for geogrid with its tile
cache disabled ("cold": every tile drawn by PostGIS), geogrid with it on ("warm": every tile
was requested once before the timed run) and tipg serving the same grids from the same
database (``bench/tipg.py``):

1. serial latency of z12, z14 and z16 grid tiles (one client, the district's tiles cycled);
2. throughput and latency of z14 tiles at 8 concurrent connections for 15 s (wrk);
3. serial latency of 1,000-feature GeoJSON items pages;
4. the size of the z8 tile that holds the whole district.

Targets (issue): z14 grid tile serial p50 <= 6 ms, and >= 2x tipg's throughput at 8 connections.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from bench import tipg
from bench.cpu import ForeignCpu, TreeCpu
from bench.diagnose import Breakdown, Plan, core_tiles, explain_tile
from bench.load import (
    HEADERS,
    Latency,
    Throughput,
    asyncio_load,
    fetch,
    gzip_size,
    serial,
    serial_encodings,
    wrk,
    wrk_available,
)
from bench.mvt import TileAddress, centre_tile, count_features, covering_tiles
from bench.report import Section, machine, table, wait_for_idle
from bench.servers import Server, geogrid_server
from bench.stack import BenchStack
from bench.suite import Options

TITLE = "Map layers (issue: foundation)"
ZOOMS = (12, 14, 16)
LOAD_ZOOM = 14
OVERVIEW_ZOOM = 8
ITEMS_LIMIT = 1000
ITEMS_PAGES = 10
WARM_CACHE_SIZE = 4096  # geogrid's default; holds every tile of the run
TARGET_P50_MS = 6.0
TARGET_RATIO = 2.0
GZIP = HEADERS["Accept-Encoding"]
BUSY = 0.1  # CPUs used by other processes (bench.cpu) above which a run is flagged

PathOf = Callable[[int, int, int], str]
ItemsPathOf = Callable[[int, int], str]
LoadRunner = Callable[[str, Sequence[str], str], Throughput]


def geogrid_tile_path(z: int, x: int, y: int) -> str:
    return f"/collections/grids/tiles/WebMercatorQuad/{z}/{x}/{y}"


def geogrid_items_path(limit: int, offset: int) -> str:
    return f"/collections/grids/items?limit={limit}&offset={offset}"


@dataclass(frozen=True)
class LoadCpu:
    """CPU seconds spent during the concurrent run, by process tree."""

    server: float
    postgres: float
    load_generator: float

    def per_request_ms(self, requests: int) -> tuple[float, float, float]:
        k = 1000.0 / max(requests, 1)
        return self.server * k, self.postgres * k, self.load_generator * k


@dataclass
class ServerRun:
    """What was measured on one server."""

    label: str
    busy: float = 0.0  # CPUs used by other processes during the measurement (bench.cpu)
    serial: dict[int, Latency] = field(default_factory=dict)
    load: Throughput | None = None
    load_cpu: LoadCpu | None = None
    items: Latency | None = None
    floor: Latency | None = None  # a route without database work: the HTTP stack alone
    identity: Latency | None = None  # z14 tiles without compression (Accept-Encoding: identity)
    samples: dict[TileAddress, bytes] = field(default_factory=dict)  # raw tiles, for checks
    gzip_sizes: dict[TileAddress, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Results:
    cold: ServerRun
    warm: ServerRun
    peer: ServerRun
    breakdown: Breakdown
    breakdown_busy: float
    plan: Plan
    counts: list[str]
    tiles: dict[int, list[TileAddress]]
    view: tipg.View
    overview: TileAddress
    machine: str


@dataclass(frozen=True)
class Target:
    """A server under test: how to start it and where its resources are."""

    label: str
    start: Callable[[], AbstractContextManager[Server]]
    tile_path: PathOf
    items_path: ItemsPathOf | None
    floor_path: str | None


def run(stack: BenchStack, opts: Options) -> Section:
    """Run the suite and return its RESULTS.md section."""
    db = stack.demo("city", seed=0)
    print(f"==> demo 'city' loaded in {db.load_seconds:.0f} s: {db.counts}", flush=True)
    tipg.ensure_installed()
    view = tipg.create_view(db.engine)
    grids = view.grids
    tiles = {z: covering_tiles(db.engine, z) for z in ZOOMS}
    checked = [centre_tile(db.engine, LOAD_ZOOM), centre_tile(db.engine, OVERVIEW_ZOOM)]
    load = _load_runner(opts)
    out = opts.out_dir / "tiles"

    def geogrid(label: str, cache_size: int, items: bool) -> Target:
        return Target(
            label,
            lambda: geogrid_server(
                db.url, tile_cache_size=cache_size, work_dir=out, name=label.replace(" ", "-")
            ),
            geogrid_tile_path,
            geogrid_items_path if items else None,
            "/conformance" if items else None,
        )

    # tipg first, so that the feature counts are checked before most of the time is spent.
    peer_target = Target(
        "tipg",
        lambda: tipg.tipg_server(db.libpq_url, work_dir=out),
        view.tile_path,
        tipg.items_path,
        None,
    )
    targets = [
        peer_target,
        geogrid("geogrid cold", 0, items=True),
        geogrid("geogrid warm", WARM_CACHE_SIZE, items=False),
    ]
    runs: dict[str, ServerRun] = {}
    counts: list[str] = []
    idle_deadline = time.monotonic() + opts.idle_wait_s
    for target in targets:
        print(f"==> {target.label}", flush=True)
        wait_for_idle(max(idle_deadline - time.monotonic(), 0.0))
        meter = ForeignCpu(stack.own_pids())
        with target.start() as server:
            res = ServerRun(target.label)
            _fetch_samples(res, target, server.url, checked)
            if target.label == "geogrid cold":
                counts = _check_counts(res, runs["tipg"], checked, grids)
            _measure(res, target, server, stack.own_pids(), tiles, load, opts)
        res.busy = meter.cpus()
        runs[target.label] = res

    print("==> diagnosis: the z14 tile without HTTP", flush=True)
    wait_for_idle(max(idle_deadline - time.monotonic(), 0.0))
    meter = ForeignCpu(stack.own_pids())
    breakdown = core_tiles(db.engine, tiles[LOAD_ZOOM], requests=opts.requests)
    results = Results(
        cold=runs["geogrid cold"],
        warm=runs["geogrid warm"],
        peer=runs["tipg"],
        breakdown=breakdown,
        breakdown_busy=meter.cpus(),
        plan=explain_tile(db.engine, checked[0], save=out / "explain-z14.txt"),
        counts=counts,
        tiles=tiles,
        view=view,
        overview=checked[1],
        machine=machine(db.engine),
    )
    passed = all(ok for _, _, ok in _verdicts(results))
    return Section(TITLE, _body(results, opts), passed)


def _fetch_samples(
    res: ServerRun, target: Target, base: str, checked: Sequence[TileAddress]
) -> None:
    for t in checked:
        res.samples[t] = fetch(base, target.tile_path(*t)).content
        res.gzip_sizes[t] = gzip_size(base, target.tile_path(*t))


def _measure(
    res: ServerRun,
    target: Target,
    server: Server,
    postgres: list[int],
    tiles: dict[int, list[TileAddress]],
    load: LoadRunner,
    opts: Options,
) -> None:
    base = server.url
    for z in ZOOMS:
        print(f"    {target.label}: z{z} serial", flush=True)
        paths = [target.tile_path(*t) for t in tiles[z]]
        if z == LOAD_ZOOM and target.floor_path is not None:
            # Also without compression, interleaved, to tell what gzip costs.
            both = serial_encodings(
                base, paths, requests=opts.requests, encodings=(GZIP, "identity")
            )
            res.serial[z], res.identity = both[GZIP], both["identity"]
        else:
            res.serial[z] = serial(base, paths, requests=opts.requests)
    print(f"    {target.label}: z{LOAD_ZOOM} at {opts.connections} connections", flush=True)
    cpu = TreeCpu({"server": [server.pid], "postgres": postgres, "bench": [os.getpid()]})
    res.load = load(base, [target.tile_path(*t) for t in tiles[LOAD_ZOOM]], target.label)
    used = cpu.seconds()
    # The bench's tree holds the server too; what is left is the load generator.
    res.load_cpu = LoadCpu(used["server"], used["postgres"], used["bench"] - used["server"])
    if target.items_path is not None:
        print(f"    {target.label}: items pages", flush=True)
        pages = [target.items_path(ITEMS_LIMIT, k * ITEMS_LIMIT) for k in range(ITEMS_PAGES)]
        _check_items(base, pages[0])
        res.items = serial(base, pages, requests=opts.items_requests)
    if target.floor_path is not None:
        res.floor = serial(base, [target.floor_path], requests=opts.requests)


def _load_runner(opts: Options) -> LoadRunner:
    if wrk_available():

        def with_wrk(base: str, paths: Sequence[str], name: str) -> Throughput:
            return wrk(
                base,
                paths,
                connections=opts.connections,
                threads=opts.threads,
                duration_s=opts.duration_s,
                work_dir=opts.out_dir / "tiles",
                name=name.replace(" ", "-"),
            )

        return with_wrk
    print("!! wrk is missing and could not be installed: using the Python load generator")

    def with_asyncio(base: str, paths: Sequence[str], name: str) -> Throughput:
        return asyncio_load(base, paths, connections=opts.connections, duration_s=opts.duration_s)

    return with_asyncio


def _check_items(base: str, path: str) -> None:
    doc = fetch(base, path).json()
    got = len(doc["features"])
    if got != ITEMS_LIMIT:
        raise AssertionError(f"GET {path} returned {got} features, not {ITEMS_LIMIT}")


def _check_counts(
    geogrid: ServerRun, peer: ServerRun, checked: Sequence[TileAddress], grids: int
) -> list[str]:
    """Assert both servers serve the same features; return one line per checked tile.

    geogrid selects a tile's features with its 64-px buffer (``geom && envelope + margin``),
    tipg with ``ST_Intersects`` on the tile itself; both clip to the same 64-px buffer. So
    tipg's count must equal geogrid's features that reach into the tile proper, and the
    z8 tile, which holds the whole district, must carry every current grid in both.
    """
    lines = []
    for t in checked:
        g, p = count_features(geogrid.samples[t]), count_features(peer.samples[t])
        z, x, y = t
        line = (
            f"tile {z}/{x}/{y}: geogrid {g.total} features ({g.inside} in the tile, "
            f"{g.buffer_only} only in its 64-px buffer), tipg {p.total} ({p.inside} in the tile)"
        )
        print("    " + line, flush=True)
        if g.inside != p.total or p.inside != p.total:
            raise AssertionError(f"feature counts differ: {line}")
        if z == OVERVIEW_ZOOM and not g.total == p.total == grids:
            raise AssertionError(f"the z8 tile should hold all {grids} grids: {line}")
        lines.append(line)
    return lines


def _lat(lat: Latency | None) -> str:
    return "—" if lat is None else f"{lat.p50:.1f} / {lat.p95:.1f}"


def _times(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "—"


def _verdicts(r: Results) -> list[tuple[str, str, bool]]:
    out = []
    for run in (r.cold, r.warm):
        p50 = run.serial[LOAD_ZOOM].p50
        out.append(
            (
                f"z{LOAD_ZOOM} grid tile serial p50 ≤ {TARGET_P50_MS:g} ms — {run.label}",
                f"{p50:.1f} ms",
                p50 <= TARGET_P50_MS,
            )
        )
    for run in (r.cold, r.warm):
        assert run.load is not None and r.peer.load is not None
        ratio = run.load.rps / r.peer.load.rps
        out.append(
            (
                f"≥ {TARGET_RATIO:g}× tipg's throughput at {run.load.connections} connections"
                f" — {run.label}",
                f"{ratio:.2f}× ({run.load.rps:.0f} vs {r.peer.load.rps:.0f} req/s)",
                ratio >= TARGET_RATIO,
            )
        )
    return out


def _main_table(r: Results, opts: Options) -> str:
    cold, warm, peer = r.cold, r.warm, r.peer
    assert cold.load and warm.load and peer.load and cold.items and peer.items
    rows = []
    for z in ZOOMS:
        c, w, p = cold.serial[z], warm.serial[z], peer.serial[z]
        rows.append(
            [
                f"z{z} tile, serial, p50 / p95 ms ({len(r.tiles[z])} tiles, {c.n} requests)",
                _lat(c),
                _lat(w),
                _lat(p),
                f"{_times(p.p50, c.p50)} · {_times(p.p50, w.p50)}",
            ]
        )
    loads = (cold.load, warm.load, peer.load)
    rows.append(
        [
            f"z{LOAD_ZOOM} tiles, {opts.connections} connections, {opts.duration_s:g} s: req/s",
            *(f"{t.rps:.0f}" for t in loads),
            f"{_times(cold.load.rps, peer.load.rps)} · {_times(warm.load.rps, peer.load.rps)}",
        ]
    )
    rows.append(
        [
            f"z{LOAD_ZOOM} tiles, {opts.connections} connections: p50 / p95 ms",
            *(f"{t.p50_ms:.1f} / {t.p95_ms:.1f}" for t in loads),
            f"{_times(peer.load.p50_ms, cold.load.p50_ms)} · "
            f"{_times(peer.load.p50_ms, warm.load.p50_ms)}",
        ]
    )
    cpus = []
    for x in (cold, warm, peer):
        assert x.load is not None and x.load_cpu is not None
        srv, pg, gen = x.load_cpu.per_request_ms(x.load.requests)
        cpus.append((srv, pg, gen))
    rows.append(
        [
            f"z{LOAD_ZOOM} tiles, {opts.connections} connections: CPU ms per request, "
            "server / PostgreSQL / load generator",
            *(f"{a:.1f} / {b:.1f} / {c:.1f}" for a, b, c in cpus),
            f"{_times(sum(cpus[2][:2]), sum(cpus[0][:2]))} · "
            f"{_times(sum(cpus[2][:2]), sum(cpus[1][:2]))}",
        ]
    )
    rows.append(
        [
            f"items page of {ITEMS_LIMIT:,} features (GeoJSON), serial, p50 / p95 ms "
            f"({ITEMS_PAGES} pages, {cold.items.n} requests)",
            _lat(cold.items),
            "(same as cold)",
            _lat(peer.items),
            _times(peer.items.p50, cold.items.p50),
        ]
    )
    ov = r.overview
    rows.append(
        [
            f"z{OVERVIEW_ZOOM} tile {_addr(ov)} (whole district): bytes raw / gzip",
            f"{len(cold.samples[ov]):,} / {cold.gzip_sizes[ov]:,}",
            "(same tile)",
            f"{len(peer.samples[ov]):,} / {peer.gzip_sizes[ov]:,}",
            "—",
        ]
    )
    headers = [
        "Measure",
        "geogrid cold¹",
        "geogrid warm²",
        f"tipg {tipg.VERSION}",
        "vs tipg³ (cold · warm)",
    ]
    return table(headers, rows)


def _breakdown_table(r: Results) -> str:
    b = r.breakdown
    assert r.cold.floor is not None
    rows = [
        ["tile query alone (psycopg2, one open connection)", _lat(b.sql)],
        ["+ `layer_versions` lookup: core `get_tile`, one open connection", _lat(b.core)],
        [
            "+ pool checkout with pre-ping, autocommit: `get_tile` as the API reads",
            _lat(b.per_request),
        ],
        ["+ FastAPI, uvicorn: geogrid cold over HTTP, not compressed", _lat(r.cold.identity)],
        ["+ gzip: geogrid cold over HTTP, `Accept-Encoding: gzip`", _lat(r.cold.serial[LOAD_ZOOM])],
        ["geogrid warm over HTTP (tile cache hit)", _lat(r.warm.serial[LOAD_ZOOM])],
        ["geogrid `GET /conformance` (no database: the HTTP stack alone)", _lat(r.cold.floor)],
    ]
    return table([f"A z{LOAD_ZOOM} grid tile, layer by layer", "p50 / p95 ms"], rows)


def _body(r: Results, opts: Options) -> str:
    cold, warm, peer = r.cold, r.warm, r.peer
    assert cold.load and warm.load and peer.load
    targets = table(
        ["Target (issue)", "Measured", "Result"],
        [[name, value, "PASS" if ok else "MISS"] for name, value, ok in _verdicts(r)],
    )
    tool = cold.load.tool
    runs = (cold, warm, peer)
    notes = [
        "¹ tile cache off (`GEOGRID_TILE_CACHE_SIZE=0`): every tile is drawn by PostGIS. "
        f"² tile cache on ({WARM_CACHE_SIZE:,}): each tile was requested once before timing, so "
        "the timed requests are cache hits (one `layer_versions` lookup each); this is what "
        "repeat views of unchanged data cost, not a first view. "
        "³ how many times faster geogrid is: tipg p50 ÷ geogrid p50 for latencies, geogrid "
        "req/s ÷ tipg req/s for throughput.",
        f"Data: demo district `city`, seed 0, {r.view.grids:,} current grids. tipg serves the "
        f"view `{tipg.VIEW}` (the same current grids and joins; tiles ask for geogrid's 7 tile "
        "properties"
        + (
            f" and are cut from the stored `{tipg.MERCATOR}` (`geom-column=`) as geogrid's are"
            if r.view.mercator
            else ""
        )
        + ") with `TIPG_TILE_BUFFER=64` and `TIPG_MAX_FEATURES_PER_TILE=20000` like "
        "geogrid. Feature counts checked by decoding a tile of each: "
        + "; ".join(r.counts)
        + ". (geogrid selects with its buffer, tipg only features touching the tile proper.)",
        "Method: serial runs are one httpx client on one kept-alive loopback connection; every "
        "URL of the case is requested once untimed, then the list is cycled (seeded shuffle). "
        f"Concurrent runs: {tool} with {opts.connections} connections"
        + (f", {opts.threads} threads" if tool == "wrk" else "")
        + f", {opts.duration_s:g} s, cycling through the z{LOAD_ZOOM} tiles; errors: "
        + ", ".join(f"{x.label} {x.load.errors if x.load else '?'}" for x in runs)
        + ". All requests send `Accept-Encoding: gzip`. Each server runs one uvicorn worker "
        "(plain asyncio and h11 in both venvs); load generator, server and PostgreSQL share "
        "the machine's CPUs. CPUs used by other processes on the machine during each server's "
        "measurement (`bench/cpu.py`): "
        + ", ".join(f"{x.label} {x.busy:.2f}" for x in runs)
        + f", layer-by-layer diagnosis {r.breakdown_busy:.2f}.",
        f"`EXPLAIN ANALYZE` of the tile query for {_addr(r.plan.tile)} (the district centre, "
        f"fastest of 5): {r.plan.execution_ms:.1f} ms execution, {r.plan.planning_ms:.1f} ms "
        "planning; the plan is in `bench/out/tiles/explain-z14.txt`.",
    ]
    busiest = max(*(x.busy for x in runs), r.breakdown_busy)
    warning = (
        [
            f"⚠ **Measured on a busy machine**: other processes used up to {busiest:.1f} CPUs "
            "while a server was measured, so latencies are inflated and ratios unreliable. "
            "Re-run on an idle machine."
        ]
        if busiest >= BUSY
        else []
    )
    return "\n\n".join(
        [
            *warning,
            _main_table(r, opts),
            "**Targets**",
            targets,
            "**Where a cold tile's time goes** (the same z14 tiles, serial; the first three "
            "rows are measured interleaved with each other, and so are the next two)",
            _breakdown_table(r),
            *notes,
            r.machine,
            "Reproduce: `make bench` (all suites) or `make bench ARGS=tiles`; logs, wrk "
            "scripts and the query plan land in `bench/out/` (git-ignored).",
        ]
    )


def _addr(t: TileAddress) -> str:
    return "/".join(map(str, t))
