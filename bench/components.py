"""Components suite: a 500,000-component census planned and applied, tiles, statistics.

On the ``city`` demo territory: the demo inventory (~500,000 components along the roads) is
written to a GeoPackage, read and planned (the dry run: every component is new), applied;
then a second delivery with a few percent of changes (moves, owner and status changes,
removals, additions) is planned against it. Vector tiles of the layer are drawn by PostGIS
(cache off) at z14 over the district; statistics are counted per street.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import sqlalchemy as sa

from bench.report import Section, machine, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.catalogue import Catalogue, load_catalogue
from geogrid.changes.plans import Plan
from geogrid.components.stats import component_statistics
from geogrid.components.update import apply_component_update, plan_component_update
from geogrid.components.upload import read_component_upload
from geogrid.demo import build_components, build_district
from geogrid.layers import load_layers
from geogrid.tiles import get_tile, tile_of

SEED = 3  # its own database: this suite writes the inventory
COUNT = 500_000
TARGETS = {"plan": 60.0, "tile": 0.030, "stats": 1.0}
TILE_RUNS = 3


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def _changed(
    frame: gpd.GeoDataFrame, outline: object, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """A second delivery: 1 % moved 5 m, 2 % new owner, 1 % damaged, 0.5 % gone, 0.5 % new.

    Moved and new components stay inside the district (``outline``, EPSG:4326).
    """
    out = frame.copy()
    n = len(out)
    pick = rng.permutation(n)
    moved, owner = pick[: n // 100], pick[n // 100 : n * 3 // 100]
    status, gone = pick[n * 3 // 100 : n // 25], pick[n // 25 : n // 25 + n // 200]
    points = (out.geometry.geom_type == "Point").to_numpy()
    shifted = out.geometry.iloc[moved].translate(xoff=0.00005)
    ok = points[moved] & shifted.covered_by(outline).to_numpy()
    out.loc[out.index[moved[ok]], "geometry"] = shifted[ok].to_numpy()
    out.loc[out.index[owner], "owner"] = "新权属单位"
    out.loc[out.index[status], "status"] = "damaged"
    new = out.iloc[pick[-(n // 200) :]].copy()
    new["code"] = None
    new["geometry"] = new.geometry.translate(yoff=0.00002)
    new = new[new.geometry.covered_by(outline)]
    kept = out.drop(out.index[gone])
    return gpd.GeoDataFrame(
        gpd.pd.concat([kept, new], ignore_index=True), geometry="geometry", crs=frame.crs
    )


def _plan(engine: sa.Engine, path: Path, catalogue: Catalogue) -> tuple[float, Plan]:
    t0 = time.perf_counter()
    upload = read_component_upload(path)
    with engine.begin() as conn:
        plan = plan_component_update(conn, upload, catalogue=catalogue, created_by="bench")
    return time.perf_counter() - t0, plan


def run(stack: BenchStack, opts: Options) -> Section:
    """Measure the census plan and apply, a delta plan, z14 tiles and street statistics."""
    db = stack.demo("city", seed=SEED)
    district = build_district("city", seed=SEED)
    catalogue = load_catalogue()
    frame = build_components(district, count=COUNT, seed=SEED)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    census = opts.out_dir / "components-census.gpkg"
    pyogrio.write_dataframe(frame, census, layer="components")
    delta = opts.out_dir / "components-delta.gpkg"
    outline = district.district.geometry.iloc[0]
    changed = _changed(frame, outline, np.random.default_rng(SEED))
    pyogrio.write_dataframe(changed, delta, layer="components")
    wait_for_idle(opts.idle_wait_s)

    plan_s, plan = _plan(db.engine, census, catalogue)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        apply_component_update(conn, plan.id, decided_by="bench")
    apply_s = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) components"))
    wait_for_idle(opts.idle_wait_s)
    delta_s, delta_plan = _plan(db.engine, delta, catalogue)
    changes = {k: v for k, v in delta_plan.summary["changes"].items() if v}

    coll = load_layers().get("components")
    minx, miny, maxx, maxy = district.district.total_bounds
    centre = tile_of((minx + maxx) / 2, (miny + maxy) / 2, 14)
    tiles = [(centre[0] + dx, centre[1] + dy) for dx in range(-3, 4) for dy in range(-3, 4)]
    times, sizes = [], []
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _ in range(TILE_RUNS):
            for x, y in tiles:
                t0 = time.perf_counter()
                tile = get_tile(conn, coll, 14, x, y, cache=None)
                times.append(time.perf_counter() - t0)
                sizes.append(len(tile.data))
        stats_times = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows = component_statistics(conn, level="street", by="class")
            stats_times.append(time.perf_counter() - t0)
    tile_p50 = statistics.median(times)
    kib = statistics.median(sizes) / 1024
    stats_s = statistics.median(stats_times)
    ok = plan_s <= TARGETS["plan"] and tile_p50 <= TARGETS["tile"] and stats_s <= TARGETS["stats"]
    rows_md = [
        ["components in the census file (GeoPackage)", f"{len(frame):,}", "", ""],
        [
            "census dry run: read, validate, code, stage, compare (all new)",
            f"{plan_s:.1f} s",
            f"≤ {TARGETS['plan']:.0f} s",
            _verdict(plan_s, TARGETS["plan"]),
        ],
        ["apply the census (one transaction, located in grids)", f"{apply_s:.1f} s", "", ""],
        [
            "second delivery dry run: " + ", ".join(f"{k} {v:,}" for k, v in changes.items()),
            f"{delta_s:.1f} s",
            f"≤ {TARGETS['plan']:.0f} s",
            _verdict(delta_s, TARGETS["plan"]),
        ],
        [
            f"z14 component tile drawn by PostGIS (cache off), p50 of {len(times)} "
            f"({len(tiles)} tiles × {TILE_RUNS}), median size {kib:.0f} KiB",
            f"{tile_p50 * 1000:.1f} ms",
            f"≤ {TARGETS['tile'] * 1000:.0f} ms",
            _verdict(tile_p50, TARGETS["tile"]),
        ],
        [
            f"statistics per street and class ({len(rows):,} rows), median of 5",
            f"{stats_s:.2f} s",
            f"≤ {TARGETS['stats']:.0f} s",
            _verdict(stats_s, TARGETS["stats"]),
        ],
    ]
    body = "\n\n".join(
        [
            table(["measure", "value", "target", ""], rows_md),
            f"The `city` demo territory (seed {SEED}) and its demo inventory. The dry runs and "
            "the apply are one run each (they write plans and versions).",
            machine(db.engine),
            "Reproduce: `make bench ARGS=components`.",
        ]
    )
    return Section("Components (issue: component inventory)", body, passed=ok)
