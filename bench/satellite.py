"""Satellite suite: verifying 1,000 patches over a 10,000 × 10,000 pixel before/after pair.

DOMAIN.md §8 (1,000 satellite patches a month at city scale) and issue 7's scale target: the
verification of a batch takes ≤ 30 s and its memory is bounded by the windows it reads, not
by the images' size.

1. The ``city`` demo territory (its own seed: this suite writes patches and cases).
2. :func:`geogrid.demo.satellite.plan_satellite`: 1,000 patches with the demo's outcomes;
   :func:`geogrid.demo.satellite_images.write_images` paints the pair at 1 m, 4 bands uint16,
   as Cloud Optimized GeoTIFFs (512 tiles, deflate, overviews) in ``bench/out/satellite/``,
   strip by strip. The files are kept and reused while the plan is the same (a JSON beside
   them says which); delete them to write them again.
3. The batch is imported, the images registered and the handling recorded (photos with EXIF)
   through the demo's loader, then vacuumed.
4. :func:`geogrid.satellite.verify_batch` runs in a fresh process (spawned, so that nothing
   read before counts) on an idle machine: its wall time, its resident memory before, its peak
   during the verification (``VmHWM`` of ``/proc/self/status`` after resetting it through
   ``/proc/self/clear_refs``, so that the interpreter's start does not count) and its resident
   memory after each chunk of 200 patches, against the size of one image in memory
   (width × height × 4 bands × 2 bytes).
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import time
from datetime import date
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import sqlalchemy as sa
from rasterio.features import geometry_window

from bench.report import Section, machine, memory_gib, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.catalogue import load_catalogue
from geogrid.demo import build_district
from geogrid.demo.satellite import (
    DemoSatellite,
    expected_verdicts,
    plan_satellite,
    store_demo_batch,
    write_patch_file,
)
from geogrid.demo.satellite_images import write_images
from geogrid.worktime import WorkCalendar

SEED = 7  # its own database: this suite writes patches and cases
PATCHES = 1_000
SIZE = (10_000, 10_000)
PIXEL_M = 1.0
MONTH = date(2026, 10, 1)
TARGETS = {"seconds": 30.0, "growth_mib": 128.0, "drift_mib": 16.0}
"""Verification ≤ 30 s; its memory grows by at most 128 MiB (the 32 MiB block cache, the
windows and their buffers), whatever the images' size, and stays flat while the patches are
read (at most 16 MiB more after the last chunk than after the first)."""
MIB = 2**20


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _status(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` in bytes (0 if absent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    """Reset this process's peak resident memory (Linux ≥ 4.0: ``clear_refs`` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss() -> int:
    """Peak resident memory of this process since the last reset, in bytes."""
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _verify_in_child(
    url: str, batch_id: str, cache_bytes: int | None, queue: Queue[dict[str, Any]]
) -> None:
    """Verify the batch in this fresh process and report time and memory.

    ``cache_bytes`` replaces geogrid's bound on GDAL's block cache (for the comparison row).
    """
    from geogrid.db.engine import make_engine
    from geogrid.satellite import imagery, verify_batch

    if cache_bytes is not None:
        imagery.BLOCK_CACHE_BYTES = cache_bytes

    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM patches")).scalar_one()
    started_peak = _peak_rss()  # imports, including the spawned interpreter's own start
    reset = _reset_peak()
    before = _status("VmRSS")
    samples: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    with engine.begin() as conn:
        result = verify_batch(
            conn, batch_id, progress=lambda stage, f: samples.append((f, _status("VmRSS")))
        )
    seconds = time.perf_counter() - t0
    peak = _peak_rss()
    engine.dispose()
    queue.put(
        {
            "seconds": seconds,
            "rss_before": before,
            "started_peak": started_peak,
            "reset": reset,
            "peak": peak,
            "samples": samples,
            "result": result,
        }
    )


def _verify(url: str, batch_id: str, cache_bytes: int | None = None) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue: Queue[dict[str, Any]] = ctx.Queue()
    child = ctx.Process(target=_verify_in_child, args=(url, batch_id, cache_bytes, queue))
    child.start()
    out = queue.get(timeout=900)
    child.join(60)
    return out


def _images(sat: DemoSatellite, district: Any, folder: Path) -> tuple[dict[str, Path], float]:
    """The pair, written unless the files of the same plan exist; (paths, seconds written)."""
    key = {"seed": SEED, "patches": PATCHES, "size": list(SIZE), "pixel_m": PIXEL_M, "v": 2}
    stamp = folder / "images.json"
    paths = {role: folder / f"{role}.tif" for role in ("before", "after")}
    same = stamp.exists() and json.loads(stamp.read_text()) == key
    if same and all(p.exists() for p in paths.values()):
        return paths, 0.0
    t0 = time.perf_counter()
    paths = write_images(sat, district, folder, cog=True)
    seconds = time.perf_counter() - t0
    stamp.write_text(json.dumps(key))
    return paths, seconds


def _windows(sat: DemoSatellite, path: Path) -> tuple[int, int]:
    """(largest patch window, all patch windows) in pixels of the image."""
    with rasterio.open(path) as src:
        sizes = [
            int(w.width * w.height)
            for w in (geometry_window(src, [p.geom.__geo_interface__]) for p in sat.patches)
        ]
    return max(sizes), sum(sizes)


def run(stack: BenchStack, opts: Options) -> Section:
    """Write the pair, load the batch, verify it in a fresh process; time and memory."""
    db = stack.demo("city", seed=SEED)
    district = build_district("city", seed=SEED)
    sat = plan_satellite(
        district, month=MONTH, patches=PATCHES, seed=SEED, pixel_m=PIXEL_M, size=SIZE
    )
    folder = opts.out_dir / "satellite"
    folder.mkdir(parents=True, exist_ok=True)
    images, write_s = _images(sat, district, folder)
    delivery = write_patch_file(sat, folder)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        stored = store_demo_batch(
            conn,
            sat,
            district_code=district.spec.district_code,
            images=images,
            delivery=delivery,
            catalogue=load_catalogue(),
            calendar=WorkCalendar.load(),
        )
    load_s = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) patches, patch_handling, patch_photos, cases"))

    with rasterio.open(images["before"]) as src:
        width, height, bands = src.width, src.height, src.count
        itemsize = np.dtype(src.dtypes[0]).itemsize
        overviews = src.overviews(1)
    image_bytes = width * height * bands * itemsize
    largest, total = _windows(sat, images["before"])
    files = {role: path.stat().st_size for role, path in images.items()}

    busy = wait_for_idle(opts.idle_wait_s)
    measured = _verify(db.url, sat.batch_id)
    gdal_default = int((memory_gib() or 0) * 0.05 * 1024) * MIB  # GDAL's default: 5 % of RAM
    unbounded = _verify(db.url, sat.batch_id, gdal_default) if gdal_default else None
    seconds = measured["seconds"]
    growth = max(measured["peak"] - measured["rss_before"], 0)
    got = measured["result"]["verdicts"]
    expected: dict[str, int] = {}
    for verdict in expected_verdicts(sat).values():
        expected[verdict] = expected.get(verdict, 0) + 1
    ok_time = seconds <= TARGETS["seconds"]
    chunks = [rss for _, rss in measured["samples"][:-1]]
    drift = (max(chunks) - chunks[0]) if chunks else 0
    ok_memory = growth <= TARGETS["growth_mib"] * MIB and drift <= TARGETS["drift_mib"] * MIB
    samples = ", ".join(
        f"{round(f * len(sat.patches)):,}: {rss / MIB:.0f}" for f, rss in measured["samples"][:-1]
    )
    rows = [
        [
            f"image pair: {width:,} × {height:,} px × {bands} bands uint16 at {PIXEL_M:g} m, "
            f"COG 512 × 512 deflate, overviews {overviews}; files "
            f"{files['before'] / MIB:,.0f} + {files['after'] / MIB:,.0f} MiB"
            + (f" (written in {write_s:.0f} s)" if write_s else " (reused from bench/out)"),
            f"{image_bytes / MIB:,.0f} MiB each in memory",
            "",
            "",
        ],
        [
            f"patches: {len(sat.patches):,} ({stored['handling']:,} handling records, "
            f"{stored['photos']:,} photos; imported and handled in {load_s:.0f} s); windows "
            f"read: largest {largest:,} px, all {total:,} px "
            f"({total / (width * height):.2%} of an image)",
            f"{len(sat.patches):,}",
            f"{PATCHES:,}",
            "",
        ],
        [
            "verification of the batch (field evidence in PostGIS, both images window by "
            "window, verdicts stored), a fresh process",
            f"{seconds:.1f} s ({seconds / len(sat.patches) * 1000:.1f} ms a patch)",
            f"≤ {TARGETS['seconds']:.0f} s",
            _verdict(ok_time),
        ],
        [
            f"resident memory of the verifying process: {measured['rss_before'] / MIB:,.0f} "
            f"MiB before (imports and a connection; {measured['started_peak'] / MIB:,.0f} MiB "
            f"at most while starting), peak {measured['peak'] / MIB:,.0f} MiB during the "
            "verification"
            + ("" if measured["reset"] else " (peak since the start: no clear_refs)")
            + f"; after each chunk (patches: MiB) {samples}",
            f"+{growth / MIB:,.0f} MiB at the peak ({growth / image_bytes:.1%} of an image); "
            f"+{drift / MIB:,.0f} MiB from the first chunk to the last",
            f"≤ +{TARGETS['growth_mib']:.0f} MiB, ≤ +{TARGETS['drift_mib']:.0f} MiB",
            _verdict(ok_memory),
        ],
        *(
            [
                [
                    "for comparison, the same verification with GDAL's default block cache "
                    f"({gdal_default / MIB:,.0f} MiB, 5 % of RAM) instead of geogrid's bound",
                    f"{unbounded['seconds']:.1f} s, +"
                    f"{max(unbounded['peak'] - unbounded['rss_before'], 0) / MIB:,.0f} MiB",
                    "",
                    "",
                ]
            ]
            if unbounded
            else []
        ),
        [
            "verdicts (expected from the plan: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(expected.items()))
            + ")",
            ", ".join(f"{k} {v:,}" for k, v in sorted(got.items())),
            "as planned",
            _verdict(got == expected),
        ],
    ]
    body = "\n\n".join(
        [
            table(["measure", "value", "target", ""], rows),
            f"The `city` demo territory (seed {SEED}); the pair covers its "
            f"{width * PIXEL_M / 1000:g} × {height * PIXEL_M / 1000:g} km north-west part. "
            "Memory is the verifying process's resident set (`/proc/self/status`: VmRSS "
            "before and after each chunk, VmHWM for the peak, reset just before the "
            "verification); GDAL's block "
            "cache is held to 32 MiB while a batch is read "
            "(`geogrid.satellite.imagery.BLOCK_CACHE_BYTES`; GDAL's default is 5 % of RAM). "
            "The image files were just written or read, so they are in the page cache: the "
            "time is that of warm files on local disk. Other runnable tasks on the machine "
            f"when the verification started: {busy:.1f}.",
            machine(db.engine),
            "Reproduce: `make bench ARGS=satellite`.",
        ]
    )
    passed = ok_time and ok_memory and got == expected
    return Section("Satellite patches (issue: satellite patches)", body, passed=passed)
