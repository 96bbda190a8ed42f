"""A synthetic month of satellite patches (图斑) for a demo district (DOMAIN.md §6).

:func:`plan_satellite` draws the patches and what became of each;
:func:`geogrid.demo.satellite_images.write_images` paints the before and after GeoTIFFs;
:func:`load_demo_satellite` imports the batch as a vendor's delivery, registers the images,
records the handling (photos with EXIF GPS made here) and verifies it, so that the patch map
shows every verdict. Everything is drawn from seeded ``numpy`` generators.

1. **Patches**: rotated rectangles of 15–45 m inside unit grids, clear of the roads and at
   least :data:`MIN_GAP_M` apart (so that a photo of one is never within the 50 m of
   another), each with a change type (dust sources 40 %, buildings 35 %, land use 15 %,
   others 10 %). The batch of a month is delivered on the 3rd and dispatched the same
   morning.
2. **Outcomes** (:data:`OUTCOMES`): the after image shows the patch reversed or unchanged, or
   the patch lies under a cloud (nodata on the after image); handling records mix on-site
   work (with 1–2 JPEG photos taken inside the patch, EXIF GPS and time) and closures by
   documents only; some patches stay unhandled. Each outcome has one expected verdict
   (:func:`expected_verdicts`), and every verdict has an outcome.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy as sa
from PIL import Image
from pyproj import Transformer
from rasterio.transform import Affine, from_origin
from shapely import affinity
from shapely.geometry import Polygon, box, mapping
from sqlalchemy.engine import Connection, Engine

from geogrid.catalogue import Catalogue
from geogrid.demo.district import PROJECTED_CRS, DemoDistrict, Progress
from geogrid.demo.satellite_images import BANDS, write_images
from geogrid.satellite import (
    add_handling,
    import_batch,
    read_patch_upload,
    read_photo,
    register_imagery,
    verify_batch,
)
from geogrid.satellite.photos import Photo
from geogrid.worktime import WorkCalendar

MIN_GAP_M = 60.0
ROAD_CLEARANCE_M = 14.0
#: Patches of the demo month per scale, and the pixel size of its images (a few thousand
#: pixels a side; the bench writes the city's 1,000 patches at 1 m, DOMAIN.md §8).
PATCHES = {"small": 24, "city": 120}
PIXEL_M = {"small": 1.0, "city": 3.0}

CHANGE_SHARES = {"dust_source": 0.40, "building": 0.35, "land_use": 0.15, "other": 0.10}


@dataclass(frozen=True)
class Outcome:
    """What became of a patch: its handling, the after image, photos, expected verdict."""

    name: str
    handling: str | None  # on_site, documents or None (never handled)
    reversed: bool  # the after image shows the change undone
    cloud: bool  # the after image has no data over the patch
    photos: bool  # on-site photos taken inside the patch
    verdict: str
    weight: int


OUTCOMES = (
    Outcome("fixed_on_site", "on_site", True, False, True, "verified", 6),
    Outcome("fixed_on_paper", "documents", True, False, False, "verified", 2),
    Outcome("paper_only", "documents", False, False, False, "not_verified", 4),
    Outcome("claimed_on_site", "on_site", False, False, True, "not_verified", 2),
    Outcome("ignored", None, False, False, False, "not_verified", 2),
    Outcome("cloud_on_site", "on_site", True, True, True, "field_verified", 3),
    Outcome("cloud_paper", "documents", False, True, False, "documents_only", 3),
    Outcome("cloud_no_photo", "on_site", False, True, False, "inconclusive", 2),
)
"""Outcomes in proportion to ``weight``. Handled patches are handled 1–8 days after dispatch,
before the demo's patrol days, so no patrol fix is field evidence of a cloudy patch; a
``paper_only`` dust source is closed 16 days after dispatch, past its due time."""


@dataclass(frozen=True)
class DemoPatch:
    """One patch: its code, change type, polygon (EPSG:4543) and outcome."""

    code: str
    change_type: str
    geom: Polygon
    outcome: Outcome


@dataclass(frozen=True)
class DemoSatellite:
    """A planned batch: patches, the images' grid (EPSG:4543) and the batch's dates."""

    batch_id: str
    patches: list[DemoPatch]
    transform: Affine
    width: int
    height: int
    pixel_m: float
    delivered_at: datetime
    dispatched_at: datetime
    before_on: date
    after_on: date
    seed: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the images in EPSG:4543 metres."""
        west, north = self.transform.c, self.transform.f
        return west, north - self.height * self.pixel_m, west + self.width * self.pixel_m, north


def _counts(total: int) -> list[int]:
    """Patches per outcome: proportional to the weights (largest remainders), ≥ 1 each."""
    weights = np.array([o.weight for o in OUTCOMES], dtype=float)
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts))[: total - counts.sum()]:
        counts[i] += 1
    if total >= len(OUTCOMES):
        while (counts == 0).any():
            counts[np.argmax(counts)] -= 1
            counts[np.argmin(counts)] += 1
    return [int(c) for c in counts]


def _extent(
    district: DemoDistrict, pixel_m: float, size: tuple[int, int] | None
) -> tuple[Affine, int, int]:
    west, south, east, north = district.district.to_crs(PROJECTED_CRS).total_bounds
    margin = 4 * pixel_m
    x0 = math.floor((west - margin) / pixel_m) * pixel_m
    y1 = math.ceil((north + margin) / pixel_m) * pixel_m
    if size is None:
        width = math.ceil((east + margin - x0) / pixel_m)
        height = math.ceil((y1 - south + margin) / pixel_m)
    else:
        width, height = size
    return from_origin(x0, y1, pixel_m, pixel_m), width, height


def _place(
    rng: np.random.Generator, interior: Polygon, frame: Polygon, taken: shapely.STRtree | None
) -> Polygon | None:
    """A rotated rectangle of 15–45 m inside ``interior`` and ``frame``, or None."""
    if interior.is_empty:
        return None
    minx, miny, maxx, maxy = interior.bounds
    for _ in range(8):
        w, h = rng.uniform(15, 45, size=2)
        cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        shape = affinity.rotate(
            box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), rng.uniform(-25, 25)
        )
        if not (interior.contains(shape) and frame.contains(shape)):
            continue
        if taken is not None and len(taken.query(shape, predicate="dwithin", distance=MIN_GAP_M)):
            continue
        return shape
    return None


def plan_satellite(
    district: DemoDistrict,
    *,
    month: date,
    patches: int,
    seed: int = 0,
    pixel_m: float = 1.0,
    size: tuple[int, int] | None = None,
    tz: str = "Asia/Shanghai",
) -> DemoSatellite:
    """Draw a batch of ``patches`` patches of ``month`` over ``district``.

    Parameters
    ----------
    month
        Any day of the batch's month; its id is ``YYYY-MM``. Delivered on the 3rd at 08:30,
        dispatched at 10:00; the before image is of 5 days earlier, the after image of 3 days
        before the month's end.
    pixel_m
        Pixel size of the images in metres.
    size
        (width, height) of the images in pixels from the district's north-west corner;
        default the whole district.

    Returns
    -------
    DemoSatellite
        Fewer patches than asked when the district (or the image) has no room for them.
    """
    rng = np.random.default_rng((seed, 6))
    zone = ZoneInfo(tz)
    first = month.replace(day=1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    transform, width, height = _extent(district, pixel_m, size)
    x0, y1 = transform.c, transform.f
    frame = box(x0, y1 - height * pixel_m, x0 + width * pixel_m, y1).buffer(-2 * pixel_m)
    grids = district.grids.to_crs(PROJECTED_CRS)
    order = rng.permutation(len(grids))
    outcomes = [o for o, n in zip(OUTCOMES, _counts(patches), strict=True) for _ in range(n)]
    kinds = rng.choice(list(CHANGE_SHARES), size=len(outcomes), p=list(CHANGE_SHARES.values()))
    placed: list[Polygon] = []
    tree: shapely.STRtree | None = None
    for i in order:
        if len(placed) == len(outcomes):
            break
        interior = grids.geometry.iloc[i].buffer(-ROAD_CLEARANCE_M)
        shape = _place(rng, interior, frame, tree)
        if shape is not None:
            placed.append(shape)
            tree = shapely.STRtree(placed)
    mix = rng.permutation(len(placed))
    demo = [
        DemoPatch(f"WX{first:%y%m}{k + 1:04d}", str(kinds[k]), placed[j], outcomes[k])
        for k, j in enumerate(mix)
    ]
    delivered = datetime.combine(first.replace(day=3), time(8, 30), zone)
    return DemoSatellite(
        batch_id=f"{first:%Y-%m}",
        patches=demo,
        transform=transform,
        width=width,
        height=height,
        pixel_m=pixel_m,
        delivered_at=delivered,
        dispatched_at=delivered.replace(hour=10, minute=0),
        before_on=first - timedelta(days=2),
        after_on=last - timedelta(days=3),
        seed=seed,
    )


def write_patch_file(sat: DemoSatellite, out_dir: Path) -> Path:
    """The vendor's delivery: a GeoJSON of the patches (EPSG:4326) with 图斑编号 and 变化类型."""
    to_wgs84 = Transformer.from_crs(PROJECTED_CRS, "EPSG:4326", always_xy=True)
    features = []
    for patch in sat.patches:
        geom = shapely.transform(
            patch.geom, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
        )
        props = {
            "patch_id": patch.code,
            "change_type": patch.change_type,
            "before_date": (sat.before_on - timedelta(days=30)).isoformat(),
            "after_date": sat.before_on.isoformat(),
            "area_m2": round(patch.geom.area, 1),
        }
        features.append({"type": "Feature", "properties": props, "geometry": mapping(geom)})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"patches-{sat.batch_id}.geojson"
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _rational(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 4)


def photo_jpeg(lon: float, lat: float, taken: datetime, *, colour: tuple[int, int, int]) -> bytes:
    """A small JPEG as a phone writes it: camera, DateTimeOriginal with offset, GPS (WGS84)."""
    image = Image.new("RGB", (320, 240), colour)
    exif = Image.Exif()
    exif[0x010F] = "GeogridDemo"
    exif[0x0110] = "Phone 1"
    details = exif.get_ifd(0x8769)
    details[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    offset = taken.strftime("%z")
    details[0x9011] = f"{offset[:3]}:{offset[3:]}"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), _rational(abs(lat))
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), _rational(abs(lon))
    gps[18] = "WGS-84"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=80)
    return buffer.getvalue()


def _photos(patch: DemoPatch, taken: datetime, rng: np.random.Generator, tz: str) -> list[Photo]:
    to_wgs84 = Transformer.from_crs(PROJECTED_CRS, "EPSG:4326", always_xy=True)
    inner = patch.geom.buffer(-2.0)
    minx, miny, maxx, maxy = inner.bounds
    photos = []
    for n in range(int(rng.integers(1, 3))):
        while True:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if inner.contains(shapely.Point(x, y)):
                break
        lon, lat = to_wgs84.transform(x, y)
        content = photo_jpeg(
            lon, lat, taken + timedelta(minutes=7 * n), colour=(70, 120 + 10 * n, 60)
        )
        photos.append(read_photo(content, file_name=f"{patch.code}-现场{n + 1}.jpg", tz=tz))
    return photos


def store_demo_batch(
    conn: Connection,
    sat: DemoSatellite,
    *,
    district_code: str,
    images: dict[str, Path],
    delivery: Path,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str = "Asia/Shanghai",
) -> dict[str, int]:
    """Replace the district's batches with ``sat``: import, images, handling (no verification).

    The district's earlier batches and their cases are deleted first (as
    :func:`geogrid.demo.load.load_demo_cases` replaces the cases); then the delivery is
    imported, the images registered and the handling recorded through the same functions as
    the API's, in the caller's transaction.

    Returns
    -------
    dict
        ``patches`` imported, ``handling`` records and ``photos``.
    """
    rng = np.random.default_rng((sat.seed, 10))
    conn.execute(
        sa.text(
            "DELETE FROM cases c USING patches p WHERE p.district_code = :d "
            "AND c.district_code = p.district_code AND c.case_id = p.case_id"
        ),
        {"d": district_code},
    )
    conn.execute(
        sa.text("DELETE FROM patch_batches WHERE district_code = :d"), {"d": district_code}
    )
    import_batch(
        conn,
        read_patch_upload(delivery, catalogue=catalogue, tz=tz),
        batch_id=sat.batch_id,
        catalogue=catalogue,
        calendar=calendar,
        delivered_at=sat.delivered_at,
        dispatched_at=sat.dispatched_at,
        vendor="省测绘地理信息局（演示）",
        tz=tz,
    )
    for role, on in (("before", sat.before_on), ("after", sat.after_on)):
        register_imagery(
            conn, sat.batch_id, role=role, path=images[role], bands=BANDS, acquired_on=on
        )
    ids: dict[str, int] = dict(
        conn.execute(
            sa.text(
                "SELECT patch_code, id FROM patches WHERE district_code = :d AND batch_id = :b"
            ),
            {"d": district_code, "b": sat.batch_id},
        ).all()
    )
    records = photos = 0
    for patch in sat.patches:
        outcome = patch.outcome
        if outcome.handling is None:
            continue
        late = outcome.name == "paper_only" and patch.change_type == "dust_source"
        days = 16 if late else int(rng.integers(1, 9))
        handled = sat.dispatched_at + timedelta(days=days, hours=float(rng.uniform(-1.0, 6.0)))
        shots = _photos(patch, handled - timedelta(minutes=45), rng, tz) if outcome.photos else []
        on_site = outcome.handling == "on_site"
        dust = patch.change_type == "dust_source"
        add_handling(
            conn,
            int(ids[patch.code]),
            handling_type=outcome.handling,
            handler="区住建局 李建华" if dust else "区城管执法局 王志强",
            handled_at=handled,
            note="现场处置完毕" if on_site else "上传整改材料，申请结案",
            covered_area_m2=round(patch.geom.area * 0.95, 1) if on_site and dust else None,
            photos=shots,
            tz=tz,
        )
        records += 1
        photos += len(shots)
    return {"patches": len(sat.patches), "handling": records, "photos": photos}


def load_demo_satellite(
    engine: Engine,
    district: DemoDistrict,
    *,
    month: date,
    out_dir: Path,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    patches: int = PATCHES["small"],
    seed: int = 0,
    pixel_m: float = 1.0,
    tz: str = "Asia/Shanghai",
    progress: Progress | None = None,
) -> dict[str, int]:
    """Replace the district's patches with a demo batch of ``month``, handled and verified.

    The images and the delivery file are written under ``out_dir/<batch>/``; then
    :func:`store_demo_batch` and :func:`geogrid.satellite.verify_batch`, in one transaction.

    Returns
    -------
    dict
        ``patches`` imported, ``handling`` records, ``photos``, and one count per verdict.
    """
    report = progress or (lambda stage, fraction: None)
    report("satellite: planning", 0.0)
    sat = plan_satellite(district, month=month, patches=patches, seed=seed, pixel_m=pixel_m, tz=tz)
    folder = out_dir / sat.batch_id
    images = write_images(sat, district, folder, progress=lambda s, f: report(s, 0.05 + 0.6 * f))
    delivery = write_patch_file(sat, folder)
    with engine.begin() as conn:
        report("satellite: importing", 0.7)
        counts = store_demo_batch(
            conn,
            sat,
            district_code=district.spec.district_code,
            images=images,
            delivery=delivery,
            catalogue=catalogue,
            calendar=calendar,
            tz=tz,
        )
        report("satellite: verifying", 0.9)
        verdicts = verify_batch(conn, sat.batch_id)["verdicts"]
    report("satellite: done", 1.0)
    return counts | verdicts


def expected_verdicts(sat: DemoSatellite) -> dict[str, str]:
    """The verdict each patch of a planned batch should get, by patch code."""
    return {p.code: p.outcome.verdict for p in sat.patches}
