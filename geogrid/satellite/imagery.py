"""Imagery of a batch: GeoTIFFs registered per role, read one patch window at a time.

Roles: ``before`` — the image on which the patch was delivered (the change is visible, before
handling; usually the vendor's later image, 后时相); ``after`` — the first image after handling
(usually next month's); ``reference`` (optional) — an image from before the change (the vendor's
earlier image, 前时相), which lets buildings be judged by how far they went back to it.

Band roles name the 1-based band of ``red``, ``green``, ``blue``, ``nir`` (all required),
``swir`` (optional, enables the true BSI) and ``cloud`` (optional: a band whose non-zero pixels
are clouds). ``scale`` turns digital numbers into reflectance (default 255 for 8-bit, 1 for
floating point, 10,000 otherwise). Nodata values, internal masks and non-finite values are
invalid pixels.

Reading never loads an image: each patch is reprojected to the image's CRS, its pixel window is
found with :func:`rasterio.features.geometry_window` and read in tiles of at most
:data:`TILE` × :data:`TILE` pixels, so memory is bounded by the tile size (and GDAL's block
cache by :data:`BLOCK_CACHE_BYTES`) whatever the image or patch size (tiled, COG-friendly
access; a remote COG works the same through GDAL's ``/vsicurl/``). ``bench/satellite.py``
measures it: 1,000 patches over a 10,000 × 10,000 pair.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import sqlalchemy as sa
from rasterio.enums import Interleaving
from rasterio.errors import RasterioIOError, WindowError
from rasterio.features import geometry_mask, geometry_window
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds, transform_geom
from rasterio.windows import Window
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection

from geogrid.errors import NotFound, Problem, ValidationFailed
from geogrid.satellite.batches import district_code
from geogrid.satellite.metrics import ImageStats
from geogrid.satellite.rules import BAND_ROLES, IMAGE_ROLES, REQUIRED_BANDS

TILE = 1024
BLOCK_CACHE_BYTES = 32 << 20


@dataclass(frozen=True)
class Imagery:
    """One registered image: its file, band roles and reflectance scale."""

    role: str
    path: str
    bands: dict[str, int]
    scale: float


def _refuse(where: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [Problem(where, rule, message)])


def parse_band_roles(text: str) -> dict[str, int]:
    """Band roles from ``red=1,green=2,blue=3,nir=4[,swir=5][,cloud=6]``.

    Raises
    ------
    ValidationFailed
        For an unknown role, a band that is not a positive integer, a role or band given twice,
        or a required role missing.
    """
    roles: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, number = part.partition("=")
        name = name.strip().lower()
        if name not in BAND_ROLES:
            raise _refuse(
                "bands",
                "unknown_band_role",
                f"'{name}' is not a band role: {', '.join(BAND_ROLES)}.",
            )
        if not number.strip().isdigit() or int(number) < 1:
            raise _refuse(
                "bands", "bad_band", f"Band of {name} must be a band number from 1, not '{number}'."
            )
        if name in roles:
            raise _refuse("bands", "doubled_band_role", f"Band role {name} is given twice.")
        roles[name] = int(number)
    missing = [r for r in REQUIRED_BANDS if r not in roles]
    if missing:
        raise _refuse(
            "bands",
            "missing_band_role",
            f"Band roles {', '.join(missing)} are missing; "
            "declare e.g. red=1,green=2,blue=3,nir=4.",
        )
    if len(set(roles.values())) != len(roles):
        raise _refuse("bands", "doubled_band", "Two band roles name the same band.")
    return roles


def _default_scale(dtype: str) -> float:
    if dtype == "uint8":
        return 255.0
    return 1.0 if dtype.startswith("float") else 10_000.0


def register_imagery(
    conn: Connection,
    batch_id: str,
    *,
    role: str,
    path: Path,
    bands: Mapping[str, int],
    scale: float | None = None,
    acquired_on: date | None = None,
) -> dict[str, Any]:
    """Register (or replace) the ``role`` image of a batch after checking the file.

    Parameters
    ----------
    path
        A GeoTIFF readable by this process (any CRS; tiled and with overviews is best).
    bands
        Band roles (:func:`parse_band_roles`).
    scale
        Digital number of reflectance 1.0 (default from the data type).

    Raises
    ------
    NotFound
        When the batch does not exist.
    ValidationFailed
        When the file is not a readable georeferenced GeoTIFF, is rotated, or has fewer bands
        than the roles name.
    """
    d = district_code(conn)
    _check_request(conn, batch_id, role, scale)
    info = inspect_image(path, bands)
    info["scale"] = scale or _default_scale(info["dtype"])
    conn.execute(
        sa.text(
            "INSERT INTO patch_imagery (district_code, batch_id, role, path, bands, scale, crs, "
            "width, height, band_count, dtype, footprint, acquired_on) VALUES (:d, :b, :role, "
            ":path, CAST(:bands AS jsonb), :scale, :crs, :width, :height, :count, :dtype, "
            "ST_GeomFromText(:footprint, 4326), :acquired) "
            "ON CONFLICT (district_code, batch_id, role) DO UPDATE SET path = EXCLUDED.path, "
            "bands = EXCLUDED.bands, scale = EXCLUDED.scale, crs = EXCLUDED.crs, "
            "width = EXCLUDED.width, height = EXCLUDED.height, band_count = EXCLUDED.band_count, "
            "dtype = EXCLUDED.dtype, footprint = EXCLUDED.footprint, "
            "acquired_on = EXCLUDED.acquired_on, registered_at = now()"
        ),
        {
            "d": d,
            "b": batch_id,
            "role": role,
            "bands": _json(bands),
            "acquired": acquired_on,
            **info,
        },
    )
    return {"batch": batch_id, "role": role, "bands": dict(bands), "acquired_on": acquired_on} | {
        k: v for k, v in info.items() if k != "footprint"
    }


def _check_request(conn: Connection, batch_id: str, role: str, scale: float | None) -> None:
    if role not in IMAGE_ROLES:
        raise _refuse("role", "unknown_role", f"'{role}' is not one of {', '.join(IMAGE_ROLES)}.")
    found = conn.execute(
        sa.text("SELECT 1 FROM patch_batches WHERE district_code = :d AND id = :b"),
        {"d": district_code(conn), "b": batch_id},
    ).first()
    if found is None:
        raise NotFound(f"There is no patch batch '{batch_id}'.")
    if scale is not None and not scale > 0:
        raise _refuse("scale", "bad_scale", "The scale must be a number > 0.")


def register_uploaded_imagery(
    conn: Connection,
    batch_id: str,
    *,
    role: str,
    upload: Path,
    file_name: str,
    data_dir: Path,
    bands: Mapping[str, int],
    scale: float | None = None,
    acquired_on: date | None = None,
) -> dict[str, Any]:
    """Check an uploaded GeoTIFF, keep it in the data directory and register it.

    The file is checked first (the batch exists, the image is a complete GeoTIFF with the
    bands named), under the name the user gave it; only then is it copied to
    ``<data_dir>/imagery/<batch>/<role>-<sha256[:16]>.tif`` (a new name per content: a
    re-registration never overwrites the file an earlier, possibly rolled-back, registration
    points to). A copy made by this call is removed again when the registration fails.

    Raises
    ------
    NotFound, ValidationFailed
        As :func:`register_imagery`; nothing is kept.
    """
    _check_request(conn, batch_id, role, scale)
    inspect_image(upload, bands, shown=file_name)
    target, copied = _keep(upload, data_dir=data_dir, batch_id=batch_id, role=role)
    try:
        return register_imagery(
            conn,
            batch_id,
            role=role,
            path=target,
            bands=bands,
            scale=scale,
            acquired_on=acquired_on,
        )
    except BaseException:
        if copied:
            target.unlink(missing_ok=True)
        raise


def _keep(upload: Path, *, data_dir: Path, batch_id: str, role: str) -> tuple[Path, bool]:
    """Copy ``upload`` to its content-named place; the path, and whether it was copied now."""
    digest = hashlib.sha256()
    with upload.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    target = Path(data_dir) / "imagery" / batch_id / f"{role}-{digest.hexdigest()[:16]}.tif"
    if target.exists():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(upload, target)
    return target, True


def _json(bands: Mapping[str, int]) -> str:
    return "{" + ", ".join(f'"{k}": {int(v)}' for k, v in bands.items()) + "}"


def inspect_image(
    path: Path, bands: Mapping[str, int], *, shown: str | None = None
) -> dict[str, Any]:
    """Check a GeoTIFF against its band roles; its size, CRS, data type and footprint (WKT).

    ``shown`` names the file in messages (default its name). A local file whose image data
    ends past its end (a truncated upload or copy) is refused.
    """
    shown = shown or Path(path).name
    try:
        with rasterio.open(path) as src:
            if src.driver != "GTiff":
                raise _refuse(
                    shown, "not_geotiff", f"'{shown}' is a {src.driver} file, not a GeoTIFF."
                )
            if src.crs is None:
                raise _refuse(
                    shown, "missing_crs", f"'{shown}' has no coordinate reference system."
                )
            if not src.transform.is_rectilinear:
                raise _refuse(shown, "rotated", f"'{shown}' is rotated; warp it north-up first.")
            _check_complete(src, Path(path), shown)
            too_high = {k: v for k, v in bands.items() if v > src.count}
            if too_high:
                raise _refuse(
                    shown,
                    "bad_band",
                    f"'{shown}' has {src.count} band(s); "
                    + ", ".join(f"{k}={v}" for k, v in too_high.items())
                    + " does not exist.",
                )
            west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
            return {
                "path": str(Path(path).resolve()),
                "crs": src.crs.to_string(),
                "width": src.width,
                "height": src.height,
                "count": src.count,
                "dtype": src.dtypes[0],
                "footprint": box(west, south, east, north).wkt,
            }
    except RasterioIOError:
        raise _refuse(
            shown, "unreadable", f"'{shown}' cannot be opened as a GeoTIFF (missing or damaged)."
        ) from None


def _check_complete(src: DatasetReader, path: Path, shown: str) -> None:
    """Refuse a local GeoTIFF whose tiles or strips end past the end of the file."""
    if not path.is_file():
        return  # a remote image (/vsicurl/ …) is read as it is served
    size = path.stat().st_size
    bands = (1,) if src.interleaving == Interleaving.pixel else tuple(src.indexes)
    end = 0
    for band in bands:
        for (row, col), _ in src.block_windows(band):
            offset = src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=band)
            length = src.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=band)
            if offset and length:
                end = max(end, int(offset) + int(length))
    if end > size:
        raise _refuse(
            shown,
            "truncated",
            f"'{shown}' is truncated: its image data ends at byte {end:,} but the file has "
            f"{size:,} bytes; upload it again.",
        )


def batch_imagery(conn: Connection, batch_id: str) -> dict[str, Imagery]:
    """The registered images of a batch by role."""
    rows = conn.execute(
        sa.text(
            "SELECT role, path, bands, scale FROM patch_imagery "
            "WHERE district_code = :d AND batch_id = :b"
        ),
        {"d": district_code(conn), "b": batch_id},
    ).mappings()
    return {
        str(r["role"]): Imagery(str(r["role"]), str(r["path"]), dict(r["bands"]), float(r["scale"]))
        for r in rows
    }


@contextmanager
def opened(images: Mapping[str, Imagery]) -> Iterator[dict[str, DatasetReader]]:
    """The images opened once for a whole batch, closed on exit.

    GDAL's block cache is held to :data:`BLOCK_CACHE_BYTES` meanwhile (GDAL's default is 5 %
    of the machine's memory): a batch reads each block about once, so a larger cache only
    grows the process with the share of the images read.
    """
    with ExitStack() as stack:
        stack.enter_context(rasterio.Env(GDAL_CACHEMAX=BLOCK_CACHE_BYTES))
        try:
            yield {
                role: stack.enter_context(rasterio.open(image.path))
                for role, image in images.items()
            }
        except RasterioIOError as exc:
            raise ValidationFailed(
                f"A registered image cannot be opened any more ({exc}); register it again."
            ) from None


def pixel_window(src: DatasetReader, geom_4326: BaseGeometry) -> tuple[Window, dict] | None:
    """The patch in the image's CRS and its whole-pixel window, which may reach beyond the image.

    None when the patch has no extent in the image's grid.
    """
    shape = transform_geom("EPSG:4326", src.crs, mapping(geom_4326))
    try:
        window = geometry_window(src, [shape], boundless=True)
    except WindowError:
        return None
    col, row = math.floor(window.col_off), math.floor(window.row_off)
    width = math.ceil(window.col_off + window.width) - col
    height = math.ceil(window.row_off + window.height) - row
    if width <= 0 or height <= 0:
        return None
    return Window(col, row, width, height), shape


def _tiles(window: Window) -> Iterator[Window]:
    for row in range(int(window.row_off), int(window.row_off + window.height), TILE):
        for col in range(int(window.col_off), int(window.col_off + window.width), TILE):
            yield Window(
                col,
                row,
                min(TILE, int(window.col_off + window.width) - col),
                min(TILE, int(window.row_off + window.height) - row),
            )


def _inside_image(src: DatasetReader, tile: Window) -> tuple[Window, int, int] | None:
    """The part of ``tile`` inside the image and its offset in the tile, or None."""
    col0, row0 = max(int(tile.col_off), 0), max(int(tile.row_off), 0)
    col1 = min(int(tile.col_off + tile.width), src.width)
    row1 = min(int(tile.row_off + tile.height), src.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return (
        Window(col0, row0, col1 - col0, row1 - row0),
        row0 - int(tile.row_off),
        col0 - int(tile.col_off),
    )


def patch_stats(src: DatasetReader, image: Imagery, geom_4326: BaseGeometry) -> ImageStats:
    """Pixels of the patch in one image: how many, how many valid, mean reflectance per band.

    A pixel belongs to the patch when its centre lies inside the polygon (reprojected to the
    image's CRS); pixels of the patch outside the image, nodata, masked, non-finite or cloudy
    ones are not valid.
    """
    found = pixel_window(src, geom_4326)
    if found is None:
        return ImageStats(0, 0, {})
    window, shape = found
    spectral = {k: v for k, v in image.bands.items() if k != "cloud"}
    indexes = list(spectral.values())
    sums = np.zeros(len(indexes), dtype=np.float64)
    pixels = valid = 0
    for tile in _tiles(window):
        inside = geometry_mask(
            [shape],
            out_shape=(int(tile.height), int(tile.width)),
            transform=src.window_transform(tile),
            invert=True,
        )
        count = int(inside.sum())
        if not count:
            continue
        pixels += count
        part = _inside_image(src, tile)
        if part is None:
            continue
        sub, dr, dc = part
        data = src.read(indexes, window=sub, masked=True)
        ok = ~np.ma.getmaskarray(data).any(axis=0) & np.isfinite(data.filled(0)).all(axis=0)
        if "cloud" in image.bands:
            ok &= src.read(image.bands["cloud"], window=sub) == 0
        ok &= inside[dr : dr + int(sub.height), dc : dc + int(sub.width)]
        valid += int(ok.sum())
        sums += data.data[:, ok].astype(np.float64).sum(axis=1)
    means = (
        {k: float(s / valid / image.scale) for k, s in zip(spectral, sums, strict=True)}
        if valid
        else {}
    )
    return ImageStats(pixels, valid, means)
