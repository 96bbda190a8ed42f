"""The API under a mixed load on loopback, and across a database restart (issue: hardening).

A short version of the ``stress`` bench suite (``bench/stress.py``, same load generator
``bench/mixed.py``): :data:`CLIENTS` supervisors' clients, each with its own API key, loop over
tiles, items pages and uploads of fixes against the API served by uvicorn in its own process.

This module starts a cluster of its own (also when ``GEOGRID_TEST_DATABASE_URL`` is set): the
restart must not cut the connections that the session's fixtures hold to the shared one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bench.mixed import (
    ITEMS,
    TILE,
    UPLOAD,
    Phone,
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
from bench.mvt import covering_tiles
from bench.stack import free_port
from geogrid.db.cluster import Cluster
from geogrid.db.engine import ensure_database, make_engine, migrate
from tests.api.conftest import serve
from tests.territory import grid_bbox_wgs84, load_territory

CLIENTS = 20
LOAD_S = 8.0
RESTART_S = 12.0
RESTART_AT_S = 3.0
DOWN_S = 2.0
RECOVERY_S = 10.0  # the API answers 2xx again within this of the database being back
LONGEST_S = 15.0  # no request may take longer, the outage included


@dataclass(frozen=True)
class Served:
    """The API on its own cluster, with the phones of the load."""

    url: str
    engine: Engine
    cluster: Cluster
    phones: tuple[Phone, ...]

    def workload(self, days_ago: int) -> Workload:
        """The mix, with fixes from 08:00 ``days_ago`` days ago (one start per test)."""
        tiles = [t for z in (15, 16, 17) for t in covering_tiles(self.engine, z)]
        bounds = grid_bbox_wgs84(self.engine)
        return Workload(
            phones=self.phones,
            tile_paths=tile_paths("grids", tiles),
            items_paths=items_paths("grids", bounds, count=50, span=(0.2, 0.6), limits=(1, 6)),
            first_fix=first_fix_time(days_ago),
            seed=days_ago,
        )

    def stored(self, work: Workload) -> set[tuple[str, int]]:
        return stored_fixes(
            self.engine, [p.supervisor_id for p in self.phones], since=work.first_fix
        )


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    base = Path(tempfile.mkdtemp(prefix="geogrid-test-load-"))
    base.chmod(0o755)
    cluster = Cluster(base / "pg", free_port(), fsync=False)
    try:
        cluster.up()
        url = cluster.url("geogrid_load")
        ensure_database(url)
        engine = make_engine(url)
        try:
            migrate(engine)
            load_territory(engine)
            phones = register_phones(engine, CLIENTS)
            with serve(engine, GEOGRID_PUBLIC_READ="0") as api:
                yield Served(api, engine, cluster, phones)
        finally:
            engine.dispose()
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_mixed_load_fails_nothing_and_stores_every_fix(served: Served) -> None:
    work = served.workload(30)
    run = mixed_load(served.url, work, duration_s=LOAD_S)
    assert run.errors == 0, run.statuses
    assert all(run.stats(kind).requests > 0 for kind in (TILE, ITEMS, UPLOAD))
    stored = served.stored(work)
    assert stored == run.acknowledged, fix_report(run, stored)
    assert len(stored) == run.sent == run.inserted  # every fix in, each stored once


def test_database_restart_under_load(served: Served) -> None:
    """While the database is down requests get the JSON 503 (never a 500, never a hang); once
    it is back the same API process answers again within seconds; no acknowledged fix is lost
    (phones send an unacknowledged batch again, so in the end every fix is stored)."""
    work = served.workload(20)
    answers: list[httpx.Response] = []

    def probe() -> None:
        headers = {"X-API-Key": served.phones[0].api_key}
        answers.append(httpx.get(f"{served.url}/collections/grids/items", headers=headers))

    run = mixed_load(
        served.url,
        work,
        duration_s=RESTART_S,
        restart_at_s=RESTART_AT_S,
        restart_db=restart(served.cluster, down_s=DOWN_S, while_down=probe),
    )
    assert answers[0].status_code == 503
    assert answers[0].json()["code"] == "database_unavailable"
    statuses = run.statuses
    assert set(statuses) <= {200, 204, 503}, statuses  # no 500, no request left unanswered
    assert statuses[503] > 0 and run.slowest_ms < LONGEST_S * 1000
    recovery = run.recovery()
    assert recovery is not None
    assert recovery.first_ok_s < RECOVERY_S and recovery.errors_until_s < RECOVERY_S, recovery
    ok_after = [s for s in run.samples if s.ok and run.outage and s.start > run.outage.back]
    assert {s.kind for s in ok_after} == {TILE, ITEMS, UPLOAD}
    stored = served.stored(work)
    report = fix_report(run, stored)
    assert report["lost"] == 0 and report["dropped"] == 0, report
    assert stored == run.acknowledged and len(stored) == run.sent, report
