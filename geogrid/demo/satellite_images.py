"""Synthetic before and after images of a demo batch of patches (DOMAIN.md §6).

4 bands (red, green, blue, NIR; reflectance × 10,000 as uint16, nodata 0) in EPSG:4543,
``pixel_m`` metres a pixel, tiled 512 × 512, deflate with a horizontal predictor, overviews
×2 … ×32 (averaged), optionally as a Cloud Optimized GeoTIFF. Written in strips of
:data:`STRIP` rows, so memory depends on the image's width only, never on its size (the bench
writes 10,000 × 10,000 pixels this way). Land cover per grid from its type (built-up or parks
in the city, fields or woods in the rural outskirts, roofs and yards in the industrial zone),
roads drawn at their width, a little per-pixel noise that differs between the two images, and
the patches (:mod:`geogrid.demo.satellite`): on the *before* image bare soil, a blue steel
roof, compacted earth or a debris heap; on the *after* image the same, or, for a patch whose
outcome reversed it, a dust net or grass over the soil and grass where something was
demolished; a patch whose outcome is cloudy lies under a cloud of nodata that never reaches
another patch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import shapely
from rasterio import shutil as rio_shutil
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.transform import Affine
from shapely import affinity
from shapely.geometry import Polygon, box

from geogrid.demo.district import PROJECTED_CRS, DemoDistrict, Progress

if TYPE_CHECKING:
    from geogrid.demo.satellite import DemoSatellite

STRIP = 512
BLOCK = 512
OVERVIEWS = (2, 4, 8, 16, 32)
BANDS = {"red": 1, "green": 2, "blue": 3, "nir": 4}
NODATA = 0
NOISE_DN = 25
CLEAR_M = 15.0
"""Clouds keep this far from the patches meant to be seen."""

#: Reflectance × 10,000 of red, green, blue, NIR.
COVER = {
    "built": (2200, 2100, 2000, 2600),
    "park": (500, 900, 400, 4000),
    "field": (900, 1300, 700, 3500),
    "wood": (400, 700, 350, 4300),
    "roof": (3000, 3000, 2900, 3100),
    "yard": (2600, 2400, 2200, 2700),
    "road": (1500, 1500, 1500, 1700),
    "soil": (3000, 2500, 2000, 3200),
    "steel_roof": (2500, 3500, 5500, 3000),
    "earth": (3500, 3000, 2500, 3300),
    "debris": (4200, 3600, 3000, 3400),
    "net": (800, 1800, 1200, 1500),
    "grass": (500, 900, 400, 4000),
}
#: Land cover of a grid by its type, with the share of each cover.
GRID_COVER: dict[str, tuple[tuple[str, float], ...]] = {
    "city": (("built", 0.7), ("park", 0.3)),
    "rural": (("field", 0.8), ("wood", 0.2)),
    "industrial": (("roof", 0.85), ("yard", 0.15)),
}
ROAD_WIDTH_M = {"main": 20.0, "secondary": 12.0, "alley": 6.0}
CHANGE_COVER = {
    "dust_source": "soil",
    "building": "steel_roof",
    "land_use": "earth",
    "other": "debris",
}


def _grid_covers(district: DemoDistrict, seed: int) -> list[tuple[Polygon, str]]:
    rng = np.random.default_rng((seed, 7))
    grids = district.grids.to_crs(PROJECTED_CRS)
    out = []
    for geom, kind in zip(grids.geometry, grids["grid_type"], strict=True):
        choices = GRID_COVER.get(str(kind), GRID_COVER["city"])
        pick = rng.choice(len(choices), p=[share for _, share in choices])
        out.append((geom, choices[int(pick)][0]))
    return out


def _road_shapes(district: DemoDistrict) -> list[tuple[Polygon, str]]:
    roads = district.roads.to_crs(PROJECTED_CRS)
    return [
        (line.buffer(ROAD_WIDTH_M.get(str(kind), 6.0) / 2, cap_style="flat"), "road")
        for line, kind in zip(roads.geometry, roads["road_class"], strict=True)
    ]


def _patch_shapes(sat: DemoSatellite, role: str) -> tuple[list[tuple[Polygon, str]], list[Polygon]]:
    """(patch polygons with their cover, cloud polygons) on the ``role`` image."""
    shapes: list[tuple[Polygon, str]] = []
    clouds: list[Polygon] = []
    rng = np.random.default_rng((sat.seed, 8))
    clear = [p.geom.buffer(CLEAR_M) for p in sat.patches if not p.outcome.cloud]
    clear_tree = shapely.STRtree(clear)
    for k, patch in enumerate(sat.patches):
        cover = CHANGE_COVER[patch.change_type]
        if role == "after" and patch.outcome.reversed:
            cover = ("net" if k % 2 else "grass") if patch.change_type == "dust_source" else "grass"
        shapes.append((patch.geom, cover))
        if role == "after" and patch.outcome.cloud:
            centre = patch.geom.centroid
            radius = math.sqrt(patch.geom.area) + float(rng.uniform(30, 70))
            blob = affinity.scale(centre.buffer(radius), float(rng.uniform(1.0, 1.6)), 1.0)
            blob = affinity.rotate(blob, float(rng.uniform(0, 180)))
            near = clear_tree.query(blob, predicate="intersects")
            if len(near):  # a cloud never hides a patch meant to be seen
                blob = blob.difference(shapely.union_all([clear[i] for i in near]))
            clouds.append(blob.union(patch.geom.buffer(2 * sat.pixel_m)))
    return shapes, clouds


class _Painter:
    """Land cover, roads, patches and clouds of one image, painted strip by strip."""

    def __init__(self, sat: DemoSatellite, district: DemoDistrict, role: str) -> None:
        self.sat = sat
        self.names = list(COVER)
        layers = [_grid_covers(district, sat.seed), _road_shapes(district)]
        patches, clouds = _patch_shapes(sat, role)
        layers.append(patches)
        self.layers = [(shapely.STRtree([g for g, _ in layer]), layer) for layer in layers]
        self.clouds = shapely.STRtree(clouds) if clouds else None
        self.cloud_shapes = clouds
        self.palette = np.array([COVER[n] for n in self.names], dtype=np.int32).T  # (4, n)
        noise = np.random.default_rng((sat.seed, 9, role == "after"))
        self.noise = noise.integers(-NOISE_DN, NOISE_DN + 1, (4, STRIP, sat.width), np.int16)

    def strip(self, row: int, rows: int) -> np.ndarray:
        """The (4, rows, width) uint16 pixels of the rows ``row`` … ``row + rows − 1``."""
        sat = self.sat
        transform = sat.transform * Affine.translation(0, row)
        west, north = transform.c, transform.f
        window = box(west, north - rows * sat.pixel_m, west + sat.width * sat.pixel_m, north)
        cover = np.full((rows, sat.width), self.names.index("field"), dtype=np.uint8)
        for tree, layer in self.layers:
            hits = tree.query(window, predicate="intersects")
            if len(hits):
                shapes = [(layer[i][0], self.names.index(layer[i][1])) for i in sorted(hits)]
                rasterize(shapes, out=cover, transform=transform)
        data = self.palette[:, cover] + np.roll(self.noise[:, :rows], row // 7 * 37, axis=2)
        pixels = np.clip(data, 1, 10_000).astype(np.uint16)
        if self.clouds is not None:
            hits = self.clouds.query(window, predicate="intersects")
            if len(hits):
                mask = rasterize(
                    [(self.cloud_shapes[i], 1) for i in hits],
                    out_shape=(rows, sat.width),
                    transform=transform,
                    dtype="uint8",
                )
                pixels[:, mask == 1] = NODATA
        return pixels


def _strips(height: int) -> Iterator[tuple[int, int]]:
    for row in range(0, height, STRIP):
        yield row, min(STRIP, height - row)


def write_images(
    sat: DemoSatellite,
    district: DemoDistrict,
    out_dir: Path,
    *,
    cog: bool = False,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Write ``before.tif`` and ``after.tif`` of the batch under ``out_dir``.

    Parameters
    ----------
    cog
        Write Cloud Optimized GeoTIFFs (GDAL's COG driver, from a tiled GeoTIFF written
        first); else tiled GeoTIFFs with internal overviews.

    Returns
    -------
    dict
        The path of each role's file.
    """
    report = progress or (lambda stage, fraction: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": sat.width,
        "height": sat.height,
        "count": 4,
        "dtype": "uint16",
        "crs": PROJECTED_CRS,
        "transform": sat.transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "predictor": 2,
        "interleave": "pixel",
    }
    paths = {}
    for k, role in enumerate(("before", "after")):
        target = out_dir / f"{role}.tif"
        written = target.with_suffix(".tiled.tif") if cog else target
        painter = _Painter(sat, district, role)
        with rasterio.Env(GDAL_CACHEMAX=256 << 20):
            with rasterio.open(written, "w", **profile) as dst:
                for row, rows in _strips(sat.height):
                    report(f"imagery: {role}", (k + row / sat.height) / 2)
                    dst.write(painter.strip(row, rows), window=((row, row + rows), (0, sat.width)))
                for band, name in enumerate(BANDS, start=1):
                    dst.set_band_description(band, name)
                dst.build_overviews(list(OVERVIEWS), Resampling.average)
                dst.update_tags(ns="rio_overview", resampling="average")
            if cog:
                rio_shutil.copy(
                    written,
                    target,
                    driver="COG",
                    COMPRESS="DEFLATE",
                    PREDICTOR="YES",
                    BLOCKSIZE=BLOCK,
                    OVERVIEWS="FORCE_USE_EXISTING",
                    NUM_THREADS="ALL_CPUS",
                )
                written.unlink()
        paths[role] = target
    report("imagery: done", 1.0)
    return paths
