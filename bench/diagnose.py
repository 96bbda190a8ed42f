"""Where a cold grid tile's time goes, measured without HTTP.

Three layers, each timed over the same tiles as the serial HTTP run: the tile query alone
(psycopg2 on one open connection), geogrid's core ``get_tile`` on that connection (adds the
``layer_versions`` lookup), and ``get_tile`` on a connection checked out per tile as the API's
read routes do (adds the pool checkout with its pre-ping; autocommit, so no BEGIN/COMMIT).
What the HTTP latency adds on top is FastAPI, uvicorn and gzip. ``EXPLAIN ANALYZE`` of one
tile shows the plan.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.load import Latency
from bench.mvt import TileAddress
from geogrid.features.collection import Collection
from geogrid.layers import load_layers
from geogrid.tiles import get_tile
from geogrid.tiles.mvt import tile_sql

MAX_FEATURES = 20000  # geogrid's default tile_max_features


def grids_collection() -> Collection:
    return load_layers().get("grids")


def core_tiles(engine: Engine, tiles: Sequence[TileAddress], *, requests: int) -> Breakdown:
    """Time the three layers over ``tiles``, cycling, after one untimed pass.

    The layers are interleaved (each tile goes through all three in turn, in a rotating order),
    so that a slower or faster stretch of the machine weighs on all three alike.
    """
    coll = grids_collection()
    query = sa.text(tile_sql(coll))
    with engine.connect() as conn:

        def sql_only(t: TileAddress) -> None:
            z, x, y = t
            conn.execute(query, {"z": z, "x": x, "y": y, "max_features": MAX_FEATURES}).scalar()

        def core(t: TileAddress) -> None:
            get_tile(conn, coll, *t, cache=None, max_features=MAX_FEATURES)

        def per_request(t: TileAddress) -> None:
            # What api/deps.py's read connection does: a pooled connection, in autocommit.
            with engine.connect() as own:
                auto = own.execution_options(isolation_level="AUTOCOMMIT")
                get_tile(auto, coll, *t, cache=None, max_features=MAX_FEATURES)

        steps: list[Callable[[TileAddress], None]] = [sql_only, core, per_request]
        for t in tiles:
            for step in steps:
                step(t)
        samples: list[list[float]] = [[], [], []]
        for i in range(requests):
            t = tiles[i % len(tiles)]
            for k in (i % 3, (i + 1) % 3, (i + 2) % 3):
                t0 = time.perf_counter()
                steps[k](t)
                samples[k].append((time.perf_counter() - t0) * 1000.0)
        conn.rollback()
    sql, cor, per_request_ = (Latency(tuple(s)) for s in samples)
    return Breakdown(sql, cor, per_request_)


@dataclass(frozen=True)
class Breakdown:
    """Latencies of a cold tile without HTTP, layer by layer (see the module docstring)."""

    sql: Latency  # the tile query alone, one open connection
    core: Latency  # get_tile: + layer_versions lookup
    per_request: Latency  # + pool checkout (pre-ping) and autocommit, as the API reads


@dataclass(frozen=True)
class Plan:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of one tile query (JIT off, as geogrid's engine sets)."""

    tile: TileAddress
    planning_ms: float
    execution_ms: float
    text: str


def explain_tile(engine: Engine, tile: TileAddress, *, runs: int = 5, save: Path | None) -> Plan:
    """EXPLAIN ANALYZE geogrid's grid tile query ``runs`` times; keep the fastest run."""
    sql = "EXPLAIN (ANALYZE, BUFFERS) " + tile_sql(grids_collection())
    z, x, y = tile
    best: Plan | None = None
    with engine.connect() as conn:
        conn.execute(sa.text("SET jit = off"))
        for _ in range(runs):
            lines = conn.execute(
                sa.text(sql), {"z": z, "x": x, "y": y, "max_features": MAX_FEATURES}
            ).scalars()
            text = "\n".join(lines)
            plan = Plan(tile, _ms(text, "Planning Time"), _ms(text, "Execution Time"), text)
            if best is None or plan.execution_ms < best.execution_ms:
                best = plan
        conn.rollback()
    assert best is not None
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(f"-- tile {z}/{x}/{y}\n{best.text}\n")
    return best


def _ms(plan: str, label: str) -> float:
    m = re.search(rf"{label}: ([0-9.]+) ms", plan)
    return float(m.group(1)) if m else float("nan")
