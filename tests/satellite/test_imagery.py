"""Reading patch windows of real GeoTIFFs: exact pixel counts and means, other CRS, edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from geogrid.errors import ValidationFailed
from geogrid.satellite.imagery import Imagery, inspect_image, parse_band_roles, patch_stats
from tests.satellite.data import ROOF, SOIL, polygon_wgs84, square, write_image

BANDS = {"red": 1, "green": 2, "blue": 3, "nir": 4}


def image(path: Path, bands: dict[str, int] = BANDS) -> Imagery:
    return Imagery("before", str(path), bands, 10_000.0)


def stats(path: Path, sq: tuple[float, float, float, float], bands: dict[str, int] = BANDS):
    with rasterio.open(path) as src:
        return patch_stats(src, image(path, bands), polygon_wgs84(sq))


def test_exact_pixels_and_means(tmp_path: Path) -> None:
    patch = square(10, 110)  # 40 m x 40 m = 20 x 20 pixels of 2 m
    path = write_image(tmp_path / "a.tif", {patch: SOIL})
    result = stats(path, patch)
    assert (result.pixels, result.valid_pixels) == (400, 400)
    assert result.means == pytest.approx({"red": 0.3, "green": 0.25, "blue": 0.2, "nir": 0.35})


def test_half_soil_half_roof(tmp_path: Path) -> None:
    patch = square(100, 20)
    path = write_image(tmp_path / "a.tif", {(100, 20, 120, 60): SOIL, (120, 20, 140, 60): ROOF})
    result = stats(path, patch)
    assert result.valid_pixels == 400
    assert result.means["red"] == pytest.approx((0.3 + 0.6) / 2)


def test_patch_partly_outside_the_image(tmp_path: Path) -> None:
    patch = square(280, 110)  # 10 of its 20 columns lie in an image 300 m wide
    path = write_image(tmp_path / "a.tif", {(200, 100, 400, 200): SOIL}, width=150)
    result = stats(path, patch)
    assert (result.pixels, result.valid_pixels) == (400, 200)
    assert result.valid_share == 0.5
    assert result.means["nir"] == pytest.approx(0.35)


def test_patch_wholly_outside_and_all_nodata(tmp_path: Path) -> None:
    path = write_image(tmp_path / "a.tif", {(0, 0, 400, 200): (0, 0, 0, 0)}, width=150)
    outside = stats(path, square(320, 110))
    assert outside.pixels == 400 and outside.valid_pixels == 0
    nodata = stats(path, square(10, 110))
    assert (nodata.pixels, nodata.valid_pixels, nodata.means) == (400, 0, {})


def test_cloud_band(tmp_path: Path) -> None:
    patch = square(10, 110)
    path = tmp_path / "clouds.tif"
    data = np.zeros((5, 100, 200), dtype=np.uint16)
    data[:4] = np.array(SOIL, dtype=np.uint16)[:, None, None]
    data[4, 25:35, 5:25] = 1  # the northern half of the patch (rows 25-44, cols 5-24)
    profile = {
        "driver": "GTiff",
        "width": 200,
        "height": 100,
        "count": 5,
        "dtype": "uint16",
        "crs": "EPSG:4543",
        "transform": from_origin(585000, 2763200, 2, 2),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    result = stats(path, patch, {**BANDS, "cloud": 5})
    assert (result.pixels, result.valid_pixels) == (400, 200)


def test_image_in_another_crs(tmp_path: Path) -> None:
    """A UTM 48N image (the patch is stored in WGS84, delivered in EPSG:4543)."""
    patch = square(10, 110)
    path = tmp_path / "utm.tif"
    # uniform SOIL over ~ 1 km around the territory, 1 m pixels, UTM zone 48N
    transform = from_origin(281_500, 2_764_200, 1.0, 1.0)
    data = np.broadcast_to(np.array(SOIL, dtype=np.uint16)[:, None, None], (4, 1500, 1500))
    profile = {
        "driver": "GTiff",
        "width": 1500,
        "height": 1500,
        "count": 4,
        "dtype": "uint16",
        "crs": "EPSG:32648",
        "transform": transform,
        "tiled": True,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.ascontiguousarray(data))
    result = stats(path, patch)
    assert result.valid_pixels == result.pixels
    assert result.pixels == pytest.approx(1600, rel=0.03)  # 40 m x 40 m of 1 m pixels
    assert result.means == pytest.approx({"red": 0.3, "green": 0.25, "blue": 0.2, "nir": 0.35})


def test_band_roles_and_inspection(tmp_path: Path) -> None:
    assert parse_band_roles("nir=1, red=2,green=3,blue=4") == {
        "nir": 1,
        "red": 2,
        "green": 3,
        "blue": 4,
    }
    for bad in (
        "red=1,green=2,blue=3",
        "red=1,green=1,blue=3,nir=4",
        "red=0,green=2,blue=3,nir=4",
        "red=1,green=2,blue=3,nir=4,thermal=5",
        "red=1,red=2,green=2,blue=3,nir=4",
    ):
        with pytest.raises(ValidationFailed):
            parse_band_roles(bad)
    path = write_image(tmp_path / "a.tif", {})
    info = inspect_image(path, BANDS)
    assert (info["width"], info["height"], info["count"], info["dtype"]) == (200, 100, 4, "uint16")
    assert info["crs"] == "EPSG:4543"
    with pytest.raises(ValidationFailed, match="4 band"):
        inspect_image(path, {**BANDS, "swir": 5})
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff")
    with pytest.raises(ValidationFailed) as caught:
        inspect_image(junk, BANDS)
    assert caught.value.problems[0].rule == "unreadable"


def test_a_truncated_geotiff_is_refused_by_the_name_given(tmp_path: Path) -> None:
    whole = write_image(tmp_path / "whole.tif", {}).read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole[: len(whole) // 2])  # the header survives, the tiles do not
    with pytest.raises(ValidationFailed) as caught:
        inspect_image(cut, BANDS, shown="影像.tif")
    assert caught.value.problems[0].rule == "truncated"
    assert caught.value.message.startswith("'影像.tif' is truncated")
