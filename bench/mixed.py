"""A mixed load of map readers and supervisors' phones, optionally across a database restart.

Each client stands for one supervisor: it sends its own API key (role ``supervisor``, scoped
to its own id) and loops without pause over a mix of three kinds of request:

- ``tile``: a vector tile of the grids at a random address covering the district;
- ``items``: a GeoJSON page of grids in a random bbox, with a random ``limit``;
- ``upload``: a batch of its supervisor's fixes (``POST /tracks``), one fix every
  :data:`STEP_S` seconds of its own clock, so that no (supervisor, time) repeats.

A phone keeps a batch until the server acknowledges it (2xx): after a 503 (or 502/504, or no
answer at all) it waits :data:`PAUSE_S` and sends the same batch again. The ingest is
idempotent on (supervisor, time), so a batch that was stored although its answer was lost is
not stored twice. After any failed request a client pauses :data:`PAUSE_S`, as a map page or a
phone would, instead of hammering the service.

Every request is recorded (kind, status, start and end); the fixes of every acknowledged batch
are recorded as (supervisor, epoch second), to be checked against the database with
:func:`stored_fixes`. :func:`restart` stops and starts the cluster in the middle of a run.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.auth import Role, create_api_key
from geogrid.db.cluster import Cluster
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors

TILE, ITEMS, UPLOAD = "tile", "items", "upload"
KINDS = (TILE, ITEMS, UPLOAD)
STEP_S = 2  # seconds between two fixes of one supervisor
PAUSE_S = 0.25  # a client's pause after a failed request
RETRY = frozenset({0, 502, 503, 504})  # answers after which a batch is sent again
GIVE_UP_S = 30.0  # a batch still unacknowledged this long after the run's end is dropped
WALK_MPS = 1.3
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Phone:
    """One client: its supervisor, API key and where its walk starts (lon, lat, EPSG:4326)."""

    supervisor_id: str
    api_key: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Workload:
    """What the clients request; the upload share is what tiles and items leave."""

    phones: tuple[Phone, ...]
    tile_paths: tuple[str, ...]
    items_paths: tuple[str, ...]
    first_fix: datetime  # time-zone aware: the first fix of every supervisor
    tile_share: float = 0.6
    items_share: float = 0.3
    batch: tuple[int, int] = (20, 100)  # fixes per upload, inclusive
    seed: int = 0


@dataclass(frozen=True)
class Sample:
    """One request: its kind, status (0: no HTTP answer) and times (s since the run began)."""

    kind: str
    status: int
    start: float
    end: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000.0


@dataclass(frozen=True)
class Outage:
    """A restart of the database, in seconds since the run began."""

    asked: float  # the stop was asked
    stopped: float  # the cluster was down
    back: float  # the cluster accepted connections again


@dataclass(frozen=True)
class Recovery:
    """How the service went through an :class:`Outage`."""

    first_ok_s: float  # from the database being back to the first request answered 2xx
    errors_until_s: float  # from the database being back to the end of the last failed request
    failed: int  # failed requests from the stop onwards


@dataclass(frozen=True)
class KindStats:
    """Requests of one kind: how many, how many failed, and latency percentiles (ms)."""

    kind: str
    requests: int
    errors: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass
class Run:
    """Everything a run recorded."""

    duration_s: float
    samples: list[Sample] = field(default_factory=list)
    acknowledged: set[tuple[str, int]] = field(default_factory=set)  # (supervisor, epoch s)
    inserted: int = 0  # sum of "inserted" over acknowledged batches
    sent: int = 0  # fixes in batches, each batch counted once however often it was sent
    dropped: int = 0  # fixes of batches given up unacknowledged
    outage: Outage | None = None

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def statuses(self) -> Counter[int]:
        return Counter(s.status for s in self.samples)

    @property
    def errors(self) -> int:
        return sum(not s.ok for s in self.samples)

    @property
    def slowest_ms(self) -> float:
        return max((s.ms for s in self.samples), default=0.0)

    def stats(self, kind: str | None = None) -> KindStats:
        """Latency of the requests of ``kind`` (all kinds when None), failed ones included."""
        chosen = [s for s in self.samples if kind is None or s.kind == kind]
        ms = np.array([s.ms for s in chosen]) if chosen else np.zeros(1)
        p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99]))
        errors = sum(not s.ok for s in chosen)
        return KindStats(kind or "all", len(chosen), errors, p50, p95, p99, float(ms.max()))

    def recovery(self) -> Recovery | None:
        """How long after the database was back requests failed, None without an outage."""
        if self.outage is None:
            return None
        back = self.outage.back
        after = [s for s in self.samples if s.end >= back]
        first_ok = min((s.end for s in after if s.ok), default=math.inf)
        last_failed = max((s.end for s in after if not s.ok), default=back)
        failed = sum(not s.ok for s in self.samples if s.end >= self.outage.asked)
        return Recovery(first_ok - back, last_failed - back, failed)


@dataclass
class _Walk:
    """A supervisor's position (metres east and north of its start) and clock (epoch s)."""

    clock: int
    east: float = 0.0
    north: float = 0.0
    heading: float = 0.0


def _fix_batch(
    phone: Phone, walk: _Walk, count: int, rng: random.Random, tz: tzinfo | None
) -> tuple[dict[str, object], list[int]]:
    """The body of one upload of ``count`` fixes and their epoch seconds."""
    fixes, stamps = [], []
    cos_lat = math.cos(math.radians(phone.lat))
    for _ in range(count):
        walk.clock += STEP_S
        walk.heading += rng.gauss(0.0, 0.3)
        walk.east = _fold(walk.east + WALK_MPS * STEP_S * math.sin(walk.heading))
        walk.north = _fold(walk.north + WALK_MPS * STEP_S * math.cos(walk.heading))
        when = datetime.fromtimestamp(walk.clock, tz)
        fixes.append(
            {
                "supervisor_id": phone.supervisor_id,
                "timestamp": when.isoformat(),
                "lon": round(phone.lon + walk.east / (METRES_PER_DEGREE * cos_lat), 7),
                "lat": round(phone.lat + walk.north / METRES_PER_DEGREE, 7),
                "accuracy_m": round(rng.uniform(3.0, 20.0), 1),
                "source": "gps",
            }
        )
        stamps.append(walk.clock)
    return {"crs": "wgs84", "fixes": fixes}, stamps


def _fold(metres: float, reach: float = 400.0) -> float:
    """Keep a walk within ``reach`` metres of its start (reflected at the edge)."""
    if metres > reach:
        return 2 * reach - metres
    if metres < -reach:
        return -2 * reach - metres
    return metres


class _Client:
    """One phone's loop; appends to the shared :class:`Run`."""

    def __init__(
        self, http: httpx.AsyncClient, phone: Phone, work: Workload, run: Run, t0: float, k: int
    ) -> None:
        self.http, self.phone, self.work, self.run, self.t0 = http, phone, work, run, t0
        self.headers = {"X-API-Key": phone.api_key}
        self.rng = random.Random(f"{work.seed}-{k}")
        self.walk = _Walk(int(work.first_fix.timestamp()))

    async def _request(
        self, kind: str, method: str, path: str, body: object = None
    ) -> tuple[int, dict[str, Any] | None]:
        """Send one request and record it; its status (0: no answer) and, for an
        acknowledged upload, the ingest's answer."""
        start = time.perf_counter()
        status, answer = 0, None
        try:
            resp = await self.http.request(method, path, headers=self.headers, json=body)
            status = resp.status_code
            if kind == UPLOAD and 200 <= status < 300:
                answer = resp.json()
        except httpx.TransportError:
            pass
        end = time.perf_counter()
        self.run.samples.append(Sample(kind, status, start - self.t0, end - self.t0))
        return status, answer

    async def loop(self, deadline: float) -> None:
        work = self.work
        while time.perf_counter() < deadline:
            u = self.rng.random()
            if u < work.tile_share:
                status, _ = await self._request(TILE, "GET", self.rng.choice(work.tile_paths))
            elif u < work.tile_share + work.items_share:
                status, _ = await self._request(ITEMS, "GET", self.rng.choice(work.items_paths))
            else:
                status = await self._upload(deadline + GIVE_UP_S)
            if not 200 <= status < 300:
                await asyncio.sleep(PAUSE_S)

    async def _upload(self, give_up: float) -> int:
        count = self.rng.randint(*self.work.batch)
        body, stamps = _fix_batch(
            self.phone, self.walk, count, self.rng, self.work.first_fix.tzinfo
        )
        self.run.sent += count
        while True:
            status, answer = await self._request(UPLOAD, "POST", "/tracks", body)
            if 200 <= status < 300:
                sid = self.phone.supervisor_id
                self.run.acknowledged.update((sid, t) for t in stamps)
                self.run.inserted += int((answer or {})["inserted"])
                return status
            if status not in RETRY or time.perf_counter() >= give_up:
                self.run.dropped += count
                return status
            await asyncio.sleep(PAUSE_S)


def mixed_load(
    base_url: str,
    work: Workload,
    *,
    duration_s: float,
    restart_at_s: float | None = None,
    restart_db: Callable[[], tuple[float, float, float]] | None = None,
    timeout_s: float = 30.0,
) -> Run:
    """Run one client per phone of ``work`` against ``base_url`` for ``duration_s`` seconds.

    With ``restart_db`` (see :func:`restart`), it is called in a thread ``restart_at_s``
    seconds into the run; the instants it returns (``time.perf_counter``) become the run's
    :class:`Outage`. A request still unanswered after ``timeout_s`` counts as failed.
    """
    return asyncio.run(_mixed_load(base_url, work, duration_s, restart_at_s, restart_db, timeout_s))


async def _mixed_load(
    base_url: str,
    work: Workload,
    duration_s: float,
    restart_at_s: float | None,
    restart_db: Callable[[], tuple[float, float, float]] | None,
    timeout_s: float,
) -> Run:
    n = len(work.phones)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    headers = {"Accept-Encoding": "gzip"}
    run = Run(duration_s)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=timeout_s
    ) as http:
        t0 = time.perf_counter()
        deadline = t0 + duration_s
        loops = [
            _Client(http, phone, work, run, t0, k).loop(deadline)
            for k, phone in enumerate(work.phones)
        ]

        async def disturb() -> None:
            assert restart_db is not None and restart_at_s is not None
            await asyncio.sleep(restart_at_s)
            asked, stopped, back = await asyncio.to_thread(restart_db)
            run.outage = Outage(asked - t0, stopped - t0, back - t0)

        extra = [disturb()] if restart_db is not None else []
        await asyncio.gather(*loops, *extra)
        run.duration_s = time.perf_counter() - t0
    return run


def restart(
    cluster: Cluster, *, down_s: float, while_down: Callable[[], None] | None = None
) -> Callable[[], tuple[float, float, float]]:
    """A ``restart_db`` for :func:`mixed_load`: stop the cluster (fast shutdown: sessions are
    ended, transactions in flight rolled back), keep it down ``down_s`` seconds (calling
    ``while_down`` first, if given), start it again."""

    def run() -> tuple[float, float, float]:
        asked = time.perf_counter()
        cluster.down()
        stopped = time.perf_counter()
        if while_down is not None:
            while_down()
        time.sleep(max(down_s - (time.perf_counter() - stopped), 0.0))
        cluster.up()
        return asked, stopped, time.perf_counter()

    return run


def register_phones(engine: Engine, count: int, *, grids_each: int = 20) -> tuple[Phone, ...]:
    """Register ``count`` supervisors ``L001``… and an API key of role ``supervisor`` for each.

    Supervisor ``k`` is assigned ``grids_each`` grids from the ``k``-th block of the grids in
    code order (wrapping round when there are fewer grids than that); its walk starts in its
    first grid.
    """
    with engine.begin() as conn:
        grids = conn.execute(
            sa.text(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM grids ORDER BY code"
            )
        ).all()
        step = max(len(grids) // count, 1)
        specs, phones = [], []
        for k in range(count):
            block = [grids[(k * step + i) % len(grids)] for i in range(min(step, grids_each))]
            sid = f"L{k + 1:03d}"
            codes = tuple(str(g[0]) for g in block)
            specs.append(SupervisorSpec(id=sid, name=f"Load {k + 1}", grids=codes))
            phones.append((sid, float(block[0][1]), float(block[0][2])))
        register_supervisors(conn, specs, shown="load-test supervisors")
        out = []
        for sid, lon, lat in phones:
            _, key = create_api_key(
                conn, name=f"load-{sid}", role=Role.supervisor, created_by="load", supervisor_id=sid
            )
            out.append(Phone(sid, key, lon, lat))
    return tuple(out)


def stored_fixes(
    engine: Engine, supervisors: Iterable[str], *, since: datetime
) -> set[tuple[str, int]]:
    """The stored fixes of ``supervisors`` from ``since`` on, as (supervisor, epoch second)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT supervisor_id, CAST(extract(epoch FROM fixed_at) AS bigint) FROM fixes "
                "WHERE supervisor_id = ANY(:ids) AND fixed_at >= :since"
            ),
            {"ids": list(supervisors), "since": since},
        ).all()
    return {(str(s), int(t)) for s, t in rows}


def tile_paths(collection: str, tiles: Iterable[tuple[int, int, int]]) -> tuple[str, ...]:
    """Paths of ``collection``'s WebMercatorQuad tiles at the (z, x, y) addresses ``tiles``."""
    return tuple(
        f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles
    )


def items_paths(
    collection: str,
    bounds: tuple[float, float, float, float],
    *,
    count: int,
    span: tuple[float, float],
    limits: tuple[int, int] = (10, 100),
    seed: int = 0,
) -> tuple[str, ...]:
    """``count`` items pages of ``collection``: a random bbox within ``bounds`` (CRS84) whose
    sides are a random fraction ``span`` of the bounds' and a random limit in ``limits``."""
    rng = random.Random(seed)
    minx, miny, maxx, maxy = bounds
    paths = []
    for _ in range(count):
        f = rng.uniform(*span)
        w, h = (maxx - minx) * f, (maxy - miny) * f
        x, y = rng.uniform(minx, maxx - w), rng.uniform(miny, maxy - h)
        bbox = ",".join(f"{v:.6f}" for v in (x, y, x + w, y + h))
        paths.append(f"/collections/{collection}/items?bbox={bbox}&limit={rng.randint(*limits)}")
    return tuple(paths)


def first_fix_time(days_ago: int, tz: str = "Asia/Shanghai") -> datetime:
    """08:00 local time ``days_ago`` days before today: the first fix of every supervisor."""
    zone = ZoneInfo(tz)
    day = (datetime.now(zone) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, 8, tzinfo=zone)


def fix_report(run: Run, stored: set[tuple[str, int]]) -> dict[str, int]:
    """Fixes sent, acknowledged, stored, lost (acknowledged, not stored) and unacknowledged but
    stored; ``inserted`` is what the acknowledgements said they inserted."""
    return {
        "sent": run.sent,
        "acknowledged": len(run.acknowledged),
        "inserted": run.inserted,
        "stored": len(stored),
        "lost": len(run.acknowledged - stored),
        "stored_unacknowledged": len(stored - run.acknowledged),
        "dropped": run.dropped,
    }
