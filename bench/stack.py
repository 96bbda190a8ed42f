"""The throw-away PostGIS cluster and the demo database the suites measure against.

The cluster lives in a temporary directory (mode 755, so that the unprivileged server user can
reach it when the bench runs as root), listens on a free loopback port and runs with fsync off.
It never touches the project's own cluster (``var/pg``, port 5439).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geogrid.db.cluster import Cluster
from geogrid.db.engine import ensure_database, make_engine, migrate
from geogrid.demo import build_district, load_demo

PROJECT_PORT = 5439
DATABASE = "geogrid_bench"


def free_port() -> int:
    """A TCP port free on loopback right now (never the project cluster's port)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != PROJECT_PORT:
            return port


@dataclass(frozen=True)
class DemoDatabase:
    """A migrated database holding one demo district."""

    url: str  # SQLAlchemy URL (psycopg2)
    engine: Engine
    scale: str
    seed: int
    counts: dict[str, int]
    load_seconds: float

    @property
    def libpq_url(self) -> str:
        """The same database as a plain ``postgresql://`` URL (asyncpg, libpq clients)."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(False)


class BenchStack:
    """Owns the cluster and databases of one bench run; :meth:`close` removes them all."""

    def __init__(self) -> None:
        self._exit = ExitStack()
        self._cluster: Cluster | None = None
        self._databases: dict[tuple[str, int], DemoDatabase] = {}

    @property
    def cluster(self) -> Cluster:
        """The throw-away cluster, started on first use."""
        if self._cluster is None:
            base = Path(tempfile.mkdtemp(prefix="geogrid-bench-"))
            base.chmod(0o755)
            cluster = Cluster(base / "pg", free_port(), fsync=False)
            self._exit.callback(_destroy, cluster, base)
            cluster.up()
            self._cluster = cluster
        return self._cluster

    def demo(self, scale: str = "city", seed: int = 0) -> DemoDatabase:
        """A database with the demo district ``scale`` (seed ``seed``), built on first use."""
        key = (scale, seed)
        if key not in self._databases:
            self._databases[key] = self._load(scale, seed)
        return self._databases[key]

    def _load(self, scale: str, seed: int) -> DemoDatabase:
        name = DATABASE if (scale, seed) == ("city", 0) else f"{DATABASE}_{scale}_{seed}"
        url = self.cluster.url(name)
        t0 = time.perf_counter()
        ensure_database(url)
        engine = make_engine(url)
        self._exit.callback(engine.dispose)
        migrate(engine)
        counts = load_demo(engine, build_district(scale, seed=seed))
        # Set hint bits and the visibility map now, so that no measured request pays for them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM (ANALYZE)"))
        return DemoDatabase(url, engine, scale, seed, counts, time.perf_counter() - t0)

    def own_pids(self) -> list[int]:
        """PIDs of the stack's long-lived processes (the postmaster, when the cluster runs)."""
        if self._cluster is None:
            return []
        pid = self._cluster.status().pid
        return [] if pid is None else [pid]

    def close(self) -> None:
        self._exit.close()


def _destroy(cluster: Cluster, base: Path) -> None:
    try:
        cluster.destroy()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    """A :class:`BenchStack` that is torn down however the block ends (error, Ctrl-C)."""
    stack = BenchStack()
    try:
        yield stack
    finally:
        stack.close()
