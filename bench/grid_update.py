"""Grid-update suite: dry run and apply replacing every grid of the ``city`` demo.

The replacement file is derived from the current grids: in every community the first two grids
(by code) are merged and the third is split in two, the rest stay as they are, so the file is
valid, touches every community and moves real cases. Historical cases are generated as points
inside the grids (``--cases``, default 2,000,000, the benchmark scale of the cases work).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry import box, mapping

from bench.report import Section, machine, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.grids import store
from geogrid.grids.update import apply_grid_update, plan_grid_update
from geogrid.grids.upload import read_grid_upload

TARGET_S = 60.0
SEED = 1  # its own database: this suite rewrites the grids

CASES_SQL = """
INSERT INTO cases (district_code, case_id, source, case_type, major_class, sub_class, geom,
    grid_code, community_code, street_code, current_grid_code, current_community_code,
    current_street_code, registered_at, due_at)
SELECT g.district_code, 'B' || lpad((row_number() OVER ())::text, 8, '0'), 'district_supervisor',
       'event', '06', '06010', p.geom, g.code, g.community_code, g.street_code, g.code,
       g.community_code, g.street_code, now() - interval '30 days', now()
FROM grids g
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(g.geom, :per_grid, 7)) p
WHERE g.valid_to IS NULL
"""


def _generate_cases(engine: sa.Engine, total: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE cases"))
        grids = conn.execute(sa.text("SELECT count(*) FROM grids WHERE valid_to IS NULL")).scalar()
        per_grid = max(1, round(total / max(1, int(grids or 1))))
        conn.execute(sa.text(CASES_SQL), {"per_grid": per_grid})
        n = int(conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) cases"))
    return n, time.perf_counter() - t0


def _halves(geom: Any) -> tuple[Any, Any]:
    minx, miny, maxx, maxy = geom.bounds
    mid = (minx + maxx) / 2
    west = shapely.intersection(geom, box(minx - 1, miny - 1, mid, maxy + 1))
    east = shapely.intersection(geom, box(mid, miny - 1, maxx + 1, maxy + 1))
    return west, east


def _replacement(engine: sa.Engine, path: Path) -> int:
    """Write the replacement GeoJSON (every community: merge two grids, split one)."""
    with engine.connect() as conn:
        comms = conn.execute(
            sa.text("SELECT DISTINCT community_code FROM grids WHERE valid_to IS NULL ORDER BY 1")
        ).scalars()
        grids = store.current_grids(conn, list(comms))
    features: list[dict[str, Any]] = []

    def add(code: str, community: str, geom: Any, grid_type: str) -> None:
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(geom),
                "properties": {"code": code, "community_code": community, "grid_type": grid_type},
            }
        )

    for community, group in grids.groupby("community_code", sort=True):
        rows = group.sort_values("code").to_dict("records")
        seq = max(int(r["code"][-3:]) for r in rows)
        if len(rows) >= 3:
            first, second, third, rest = rows[0], rows[1], rows[2], rows[3:]
            seq += 1
            add(
                f"{community}{seq:03d}",
                str(community),
                shapely.union(first["geometry"], second["geometry"]),
                first["grid_type"],
            )
            for half in _halves(third["geometry"]):
                seq += 1
                add(f"{community}{seq:03d}", str(community), half, third["grid_type"])
        else:
            rest = rows
        for r in rest:
            add(r["code"], str(community), r["geometry"], r["grid_type"])
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return len(features)


def run(stack: BenchStack, opts: Options) -> Section:
    """Measure the dry run and the apply of a whole-district grid replacement."""
    db = stack.demo("city", seed=SEED)
    n_cases, gen_s = _generate_cases(db.engine, opts.cases)
    path = opts.out_dir / "grid-replacement.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    n_features = _replacement(db.engine, path)
    wait_for_idle(opts.idle_wait_s)

    t0 = time.perf_counter()
    upload = read_grid_upload(path)
    read_s = time.perf_counter() - t0
    with db.engine.begin() as conn:
        plan = plan_grid_update(conn, upload, created_by="bench")
    dry_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with db.engine.begin() as conn:
        applied = apply_grid_update(conn, plan.id, decided_by="bench")
    apply_s = time.perf_counter() - t1

    changes = {k: v for k, v in plan.summary["changes"].items() if v}
    cases = applied.summary["cases"]
    ok = dry_s <= TARGET_S and apply_s <= TARGET_S
    rows = [
        ["grids before → in file", f"{plan.summary['grids_before']:,} → {n_features:,}", "", ""],
        ["changes", ", ".join(f"{k} {v:,}" for k, v in changes.items()), "", ""],
        ["historical cases", f"{n_cases:,} (generated in {gen_s:.0f} s)", "", ""],
        ["cases listed / reassigned", f"{cases['listed']:,} / {cases['reassigned']:,}", "", ""],
        ["read file (GeoJSON, 4326)", f"{read_s:.1f} s", "", ""],
        [
            "dry run (read, validate, diff, store, 对照表)",
            f"{dry_s:.1f} s",
            f"≤ {TARGET_S:.0f} s",
            "PASS" if dry_s <= TARGET_S else "MISS",
        ],
        [
            "apply (one transaction, cases re-assigned)",
            f"{apply_s:.1f} s",
            f"≤ {TARGET_S:.0f} s",
            "PASS" if apply_s <= TARGET_S else "MISS",
        ],
    ]
    body = "\n\n".join(
        [
            table(["measure", "value", "target", ""], rows),
            "Replacing every grid of the `city` demo (seed 1): in each community two grids merged "
            "and one split, the others resubmitted unchanged. Each figure is one run (a dry run "
            "and an apply change the data, so they are not repeated).",
            machine(db.engine),
            "Reproduce: `make bench ARGS=grid-update` (`--cases N` to change the case count).",
        ]
    )
    return Section("Grid updates (issue: grid-boundary updates)", body, passed=ok)
