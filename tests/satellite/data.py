"""Hand-made patches, GeoTIFFs and photos over the hand-made territory (tests/territory.py).

Patches are squares given in metres of EPSG:4543 (the territory's CRS) and aligned with the
2 m pixels of the test images, so that the pixels inside each patch, and their values, are
known exactly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from PIL import Image
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import box, mapping

from tests.territory import X0, Y0

PIXEL = 2.0
#: The test images cover the whole territory: 400 m x 200 m, 200 x 100 pixels.
WIDTH, HEIGHT = 200, 100
_TO_WGS84 = Transformer.from_crs(4543, 4326, always_xy=True)

#: Reflectance x 10,000 (uint16) of red, green, blue, NIR.
SOIL = (3000, 2500, 2000, 3500)
NET = (800, 1800, 1200, 1500)
ROOF = (6000, 6000, 6000, 5000)
GRASS = (500, 1000, 400, 4500)


def square(x: float, y: float, size: float = 40.0) -> tuple[float, float, float, float]:
    """A square in metres from the territory's south-west corner: (x0, y0, x1, y1)."""
    return (x, y, x + size, y + size)


def polygon_4543(sq: Sequence[float]) -> Any:
    return box(X0 + sq[0], Y0 + sq[1], X0 + sq[2], Y0 + sq[3])


def _to_wgs84(xy: np.ndarray) -> np.ndarray:
    return np.column_stack(_TO_WGS84.transform(xy[:, 0], xy[:, 1]))


def polygon_wgs84(sq: Sequence[float]) -> Any:
    return shapely.transform(polygon_4543(sq), _to_wgs84)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS84 position of (x, y) metres from the territory's south-west corner."""
    lon, lat = _TO_WGS84.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def feature(sq: Sequence[float], *, crs: str = "wgs84", **props: Any) -> dict[str, Any]:
    geom = polygon_wgs84(sq) if crs == "wgs84" else polygon_4543(sq)
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def write_geojson(path: Path, features: list[dict[str, Any]], *, epsg: int | None = None) -> Path:
    """A FeatureCollection (RFC 7946, or with a legacy ``crs`` member for ``epsg``)."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if epsg:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def write_image(
    path: Path,
    blocks: Mapping[tuple[float, float, float, float], Sequence[int]],
    *,
    background: Sequence[int] = GRASS,
    nodata: int | None = 0,
    width: int = WIDTH,
) -> Path:
    """A tiled 4-band uint16 GeoTIFF in EPSG:4543 over the territory, 2 m pixels.

    ``blocks`` sets the pixels of squares in metres (see :func:`square`) to fixed values; the
    other pixels hold ``background``. Only the first ``width`` columns exist (a narrower image
    leaves the territory's east outside).
    """
    data = np.empty((4, HEIGHT, width), dtype=np.uint16)
    for band in range(4):
        data[band] = background[band]
    for (x0, y0, x1, y1), values in blocks.items():
        c0, c1 = int(x0 / PIXEL), int(x1 / PIXEL)
        r0, r1 = HEIGHT - int(y1 / PIXEL), HEIGHT - int(y0 / PIXEL)
        for band in range(4):
            data[band, r0:r1, c0:c1] = values[band]
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": HEIGHT,
        "count": 4,
        "dtype": "uint16",
        "crs": "EPSG:4543",
        "transform": from_origin(X0, Y0 + HEIGHT * PIXEL, PIXEL, PIXEL),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 32,
        "blockysize": 32,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def _rational(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    return (float(degrees), float(minutes), round((minutes_full - minutes) * 60, 4))


def jpeg(
    *,
    lon: float | None = None,
    lat: float | None = None,
    taken: datetime | None = None,
    offset: str | None = "+08:00",
    size: tuple[int, int] = (64, 48),
) -> bytes:
    """A real JPEG with EXIF camera, DateTimeOriginal (+ offset) and a GPS IFD when given."""
    image = Image.new("RGB", size, (90, 140, 60))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"
    exif[0x0110] = "Model 1"
    if taken is not None:
        details = exif.get_ifd(0x8769)
        details[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            details[0x9011] = offset
    if lon is not None and lat is not None:
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _rational(abs(lat))
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _rational(abs(lon))
        gps[18] = "WGS-84"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()
