"""Image chips of a patch: its window in each registered image side by side, polygon drawn.

Order left to right: reference (when registered), before, after. Each chip shows the patch's
pixel window padded by a quarter of its size on every side, read decimated to at most
:data:`CHIP` pixels (a bounded read, like the verification), as true colour (red, green, blue)
with one 2–98 % stretch shared by all chips, so that brightness differences between the images
stay visible. Pixels without data are dark grey; the polygon is drawn in yellow.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from PIL import Image, ImageDraw
from rasterio.enums import Resampling
from rasterio.io import DatasetReader
from rasterio.windows import Window
from shapely.geometry import shape as as_geometry
from sqlalchemy.engine import Connection

from geogrid.errors import NotFound
from geogrid.satellite.batches import district_code
from geogrid.satellite.imagery import Imagery, batch_imagery, opened, pixel_window

CHIP = 256
GAP = 6
ORDER = ("reference", "before", "after")
NODATA_RGB = (40, 40, 40)
OUTLINE = (255, 221, 0)


def _chip(
    src: DatasetReader, image: Imagery, geom: Any
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]] | None:
    """Reflectance (3, h, w), validity (h, w) and the polygon's rings in chip pixels."""
    found = pixel_window(src, geom)
    if found is None:
        return None
    window, shape = found
    pad = max(4, math.ceil(max(window.width, window.height) / 4))
    padded = Window(
        window.col_off - pad, window.row_off - pad, window.width + 2 * pad, window.height + 2 * pad
    )
    side = max(padded.width, padded.height)
    zoom = CHIP / side
    out_h, out_w = max(1, round(padded.height * zoom)), max(1, round(padded.width * zoom))
    indexes = [image.bands["red"], image.bands["green"], image.bands["blue"]]
    data = src.read(
        indexes,
        window=padded,
        out_shape=(3, out_h, out_w),
        boundless=True,
        masked=True,
        resampling=Resampling.nearest,
    )
    valid = ~np.ma.getmaskarray(data).any(axis=0) & np.isfinite(data.filled(0)).all(axis=0)
    inverse = ~src.window_transform(padded)
    rings = []
    for polygon in shapely.get_parts(as_geometry(shape)):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.array(ring.coords)
            cols, rows = inverse @ (xy[:, 0], xy[:, 1])
            rings.append(np.column_stack([np.asarray(cols) * zoom, np.asarray(rows) * zoom]))
    if not valid.any():
        return None
    return data.filled(0).astype(np.float64) / image.scale, valid, rings


def _stretch(chips: list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]]) -> list[Image.Image]:
    values = np.concatenate([rgb[:, ok] for rgb, ok, _ in chips], axis=1)
    low = np.percentile(values, 2, axis=1)[:, None, None]
    high = np.percentile(values, 98, axis=1)[:, None, None]
    span = np.where(high > low, high - low, 1.0)
    out = []
    for rgb, ok, rings in chips:
        scaled = np.clip((rgb - low) / span * 255, 0, 255).astype(np.uint8)
        pixels = np.moveaxis(scaled, 0, -1).copy()
        pixels[~ok] = NODATA_RGB
        picture = Image.fromarray(pixels, "RGB")
        draw = ImageDraw.Draw(picture)
        for ring in rings:
            draw.line([tuple(p) for p in ring.tolist()], fill=OUTLINE, width=2)
        out.append(picture)
    return out


def render_chips(conn: Connection, patch_id: int) -> bytes:
    """The chips of a patch as one PNG image.

    Raises
    ------
    NotFound
        When the patch does not exist, or no registered image of its batch covers it.
    """
    row = conn.execute(
        sa.text(
            "SELECT batch_id, ST_AsBinary(geom) AS wkb FROM patches WHERE district_code = :d "
            "AND id = :id"
        ),
        {"d": district_code(conn), "id": patch_id},
    ).first()
    if row is None:
        raise NotFound(f"There is no patch {patch_id}.")
    geom = shapely.from_wkb(bytes(row.wkb))
    images = batch_imagery(conn, str(row.batch_id))
    chips = []
    with opened(images) as datasets:
        for role in ORDER:
            if role in datasets:
                chip = _chip(datasets[role], images[role], geom)
                if chip is not None:
                    chips.append(chip)
    if not chips:
        raise NotFound(f"No registered image of batch {row.batch_id} covers patch {patch_id}.")
    pictures = _stretch(chips)
    width = sum(p.width for p in pictures) + GAP * (len(pictures) - 1)
    height = max(p.height for p in pictures)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    x = 0
    for picture in pictures:
        sheet.paste(picture, (x, 0))
        x += picture.width + GAP
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    return buffer.getvalue()
