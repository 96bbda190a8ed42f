"""Evidence photos: real JPEGs made with Pillow, their EXIF GPS and time read back."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image

from geogrid.errors import TooLarge, ValidationFailed
from geogrid.satellite.photos import read_photo
from tests.satellite.data import jpeg


def test_gps_position_and_time_with_offset() -> None:
    data = jpeg(lon=102.853125, lat=24.979861, taken=datetime(2026, 6, 4, 10, 30))
    photo = read_photo(data, file_name="现场.jpg")
    assert photo.lon == pytest.approx(102.853125, abs=1e-7)
    assert photo.lat == pytest.approx(24.979861, abs=1e-7)
    assert photo.taken_at == datetime(2026, 6, 4, 10, 30, tzinfo=timezone(timedelta(hours=8)))
    assert photo.taken_at_source == "exif_offset"
    assert (photo.width, photo.height) == (64, 48)
    assert photo.exif["Make"] == "TestPhone" and photo.exif["GPSLatitudeRef"] == "N"
    assert photo.exif["GPSMapDatum"] == "WGS-84"
    assert len(photo.sha256) == 64


def test_southern_western_and_local_time() -> None:
    data = jpeg(lon=-70.5, lat=-33.25, taken=datetime(2026, 6, 4, 10, 30), offset=None)
    photo = read_photo(data, file_name="a.jpg", tz="Asia/Shanghai")
    assert (photo.lon, photo.lat) == (pytest.approx(-70.5), pytest.approx(-33.25))
    assert photo.taken_at_source == "exif_local"
    assert photo.taken_at is not None
    assert photo.taken_at.astimezone(UTC) == datetime(2026, 6, 4, 2, 30, tzinfo=UTC)


def test_a_photo_without_exif_is_kept_without_position() -> None:
    photo = read_photo(jpeg(), file_name="plain.jpg")
    assert photo.lon is None and photo.lat is None and photo.taken_at is None


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"", "empty_file"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "not_jpeg"),
        (b"\xff\xd8\xff" + b"garbage" * 10, "not_jpeg"),
    ],
)
def test_refused_files(content: bytes, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_photo(content, file_name="x.jpg")
    assert caught.value.problems[0].rule == rule
    assert "x.jpg" in caught.value.message


def test_png_and_oversized_photos_are_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    with pytest.raises(ValidationFailed, match="not a JPEG"):
        read_photo(buffer.getvalue(), file_name="p.png")
    with pytest.raises(TooLarge) as too_large:
        read_photo(jpeg(), file_name="big.jpg", max_bytes=100)
    assert too_large.value.problems[0].rule == "file_too_large"


def test_truncated_photos_and_pixel_bombs_are_refused() -> None:
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buffer, "JPEG")
    whole = buffer.getvalue()
    with pytest.raises(ValidationFailed, match="truncated or damaged"):
        read_photo(whole[: len(whole) // 2], file_name="cut.jpg")
    bomb = bytearray(jpeg(size=(16, 16)))
    frame = bomb.find(b"\xff\xc0")  # the frame header: height and width at +5 and +7
    bomb[frame + 5 : frame + 9] = (65000).to_bytes(2, "big") * 2
    with pytest.raises(ValidationFailed) as caught:
        read_photo(bytes(bomb), file_name="bomb.jpg")
    assert caught.value.problems[0].rule == "too_many_pixels"
    bomb[frame + 5 : frame + 9] = (12000).to_bytes(2, "big") * 2  # 144 million: Pillow warns
    with pytest.raises(ValidationFailed, match="has 12000 x 12000 pixels"):
        read_photo(bytes(bomb), file_name="big.jpg")
