"""XYZ raster tiles of a batch's imagery for the patch map (Web Mercator, 256 px, PNG).

Each tile is read with rio-tiler (:class:`rio_tiler.io.Reader`), which warps only the part of
the GeoTIFF under the tile, from the overview that matches the zoom, so a tile costs about the
same at any zoom of a tiled image with overviews. True colour (the red, green and blue band
roles), stretched to 0–255 between the 2nd and 98th percentile of reflectance, per band, of
**all** the batch's images together: the same stretch for before and after, so that switching
layers shows real changes of brightness, not two stretches (as the chips of
:mod:`geogrid.satellite.chips`). The percentiles come from a decimated read of at most
:data:`STRETCH_SAMPLE` pixels a side (the overviews, when the file has them), computed once per
process and set of files. Nodata, masked pixels and the area beyond the image are transparent;
a tile that misses the image altogether is None.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter, NotFound
from geogrid.satellite.imagery import Imagery, batch_imagery
from geogrid.satellite.rules import IMAGE_ROLES

TILE_SIZE = 256
MAX_ZOOM = 24
STRETCH_SAMPLE = 1024
PERCENTILES = (2.0, 98.0)
RGB = ("red", "green", "blue")

#: Web Mercator metres per pixel at zoom 0 on the equator (256-pixel tiles).
_Z0_METRES = 2 * math.pi * 6_378_137 / TILE_SIZE


@dataclass(frozen=True)
class Stretch:
    """Reflectance mapped to 0 (``low``) and 255 (``high``), per band: red, green, blue."""

    low: tuple[float, float, float]
    high: tuple[float, float, float]


@dataclass(frozen=True)
class TileSource:
    """One registered image of a batch ready to cut tiles from, and a tag of its version."""

    batch_id: str
    role: str
    image: Imagery
    stretch: Stretch
    version: str


def _file_key(image: Imagery) -> tuple[str, int, int, tuple[int, ...], float]:
    info = os.stat(image.path)
    return (
        image.path,
        info.st_mtime_ns,
        info.st_size,
        tuple(image.bands[b] for b in RGB),
        image.scale,
    )


@lru_cache(maxsize=64)
def _stretch(keys: tuple[tuple[str, int, int, tuple[int, ...], float], ...]) -> Stretch:
    samples = []
    for path, _, _, indexes, scale in keys:
        with rasterio.open(path) as src:
            zoom = min(1.0, STRETCH_SAMPLE / max(src.width, src.height))
            shape = (3, max(1, round(src.height * zoom)), max(1, round(src.width * zoom)))
            data = src.read(
                list(indexes), out_shape=shape, masked=True, resampling=Resampling.nearest
            )
        valid = ~np.ma.getmaskarray(data).any(axis=0) & np.isfinite(data.filled(0)).all(axis=0)
        samples.append(data.data[:, valid].astype(np.float64) / scale)
    values = np.concatenate(samples, axis=1)
    if values.shape[1] == 0:
        return Stretch((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    low = np.percentile(values, PERCENTILES[0], axis=1)
    high = np.percentile(values, PERCENTILES[1], axis=1)
    flat = high <= low  # a nearly uniform band: its whole range, else 0 to its value
    low = np.where(flat, values.min(axis=1), low)
    high = np.where(flat, values.max(axis=1), high)
    flat = high <= low
    low = np.where(flat, 0.0, low)
    high = np.where(flat, np.maximum(high, 1e-6), high)
    return Stretch(
        (float(low[0]), float(low[1]), float(low[2])),
        (float(high[0]), float(high[1]), float(high[2])),
    )


def batch_stretch(images: Mapping[str, Imagery]) -> Stretch:
    """The 2–98 % stretch of the batch's images together (cached per set of files)."""
    return _stretch(tuple(sorted(_file_key(i) for i in images.values())))


def tile_source(conn: Connection, batch_id: str, role: str) -> TileSource:
    """The ``role`` image of a batch with the batch's stretch.

    Raises
    ------
    InvalidParameter
        For an unknown role.
    NotFound
        When the batch has no image of that role, or its file is gone.
    """
    if role not in IMAGE_ROLES:
        raise InvalidParameter(f"Image role '{role}' is not one of {', '.join(IMAGE_ROLES)}.")
    images = batch_imagery(conn, batch_id)
    if role not in images:
        raise NotFound(f"Batch '{batch_id}' has no {role} image.")
    try:
        keys = {r: _file_key(i) for r, i in images.items()}
    except OSError:
        raise NotFound(
            f"An image file of batch '{batch_id}' is missing; register it again."
        ) from None
    stretch = _stretch(tuple(sorted(keys.values())))
    version = hashlib.sha256(repr((keys[role], stretch)).encode()).hexdigest()[:20]
    return TileSource(batch_id, role, images[role], stretch, version)


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the Web Mercator pyramid (InvalidParameter)."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidParameter(f"Zoom {z} is not between 0 and {MAX_ZOOM}.")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidParameter(f"Tile {z}/{x}/{y} does not exist: x and y run 0–{2**z - 1}.")


def render_tile(source: TileSource, z: int, x: int, y: int) -> bytes | None:
    """The tile as an RGBA PNG of 256 × 256 pixels, or None when it misses the image."""
    check_tile(z, x, y)
    image, stretch = source.image, source.stretch
    indexes = tuple(image.bands[b] for b in RGB)
    try:
        with Reader(image.path) as src:
            tile = src.tile(x, y, z, tilesize=TILE_SIZE, indexes=indexes)
    except TileOutsideBounds:
        return None
    in_range = [
        (lo * image.scale, hi * image.scale)
        for lo, hi in zip(stretch.low, stretch.high, strict=True)
    ]
    return tile.rescale(in_range=in_range).render(img_format="PNG", add_mask=True)


def native_zoom(pixel_m: float, lat: float) -> int:
    """The zoom whose tiles' pixels are at least as fine as ``pixel_m`` metres at ``lat``."""
    ground = _Z0_METRES * math.cos(math.radians(lat))
    return max(0, min(MAX_ZOOM, math.ceil(math.log2(ground / max(pixel_m, 1e-3)))))
