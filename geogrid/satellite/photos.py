"""Evidence photos: JPEG only, with the EXIF position and time read with Pillow (DOMAIN.md §6).

The position is the EXIF GPS IFD (GPSLatitude/GPSLongitude with their N/S, E/W references),
taken as WGS84 (what a phone's GPS writes; DOMAIN.md §1). The time, in order of preference:
DateTimeOriginal with OffsetTimeOriginal (exact), the GPS date and time stamps (UTC),
DateTimeOriginal without an offset (local time in the installation's zone), DateTime. Which one
was used is stored beside it (``taken_at_source``). A photo without a position or a time is
kept but cannot be field evidence.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError

from geogrid.errors import Problem, TooLarge, ValidationFailed

MAX_PHOTO_BYTES = 20 * 2**20
MAX_PHOTOS = 20
MAX_PHOTO_PIXELS = 100_000_000
"""Most pixels of a photo (a phone camera takes up to ~50 million); more is refused unread."""
JPEG_MAGIC = b"\xff\xd8\xff"

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME = 0x0132
_DATETIME_ORIGINAL = 0x9003
_OFFSET_ORIGINAL = 0x9011
_KEPT = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software", _DATETIME: "DateTime"}
_KEPT_EXIF = {_DATETIME_ORIGINAL: "DateTimeOriginal", _OFFSET_ORIGINAL: "OffsetTimeOriginal"}
_KEPT_GPS = {
    1: "GPSLatitudeRef",
    2: "GPSLatitude",
    3: "GPSLongitudeRef",
    4: "GPSLongitude",
    7: "GPSTimeStamp",
    18: "GPSMapDatum",
    29: "GPSDateStamp",
}


@dataclass(frozen=True)
class Photo:
    """A received evidence photo: its bytes, digest, size and what its EXIF says."""

    file_name: str
    content: bytes
    sha256: str
    width: int
    height: int
    lon: float | None
    lat: float | None
    taken_at: datetime | None
    taken_at_source: str | None
    exif: dict[str, Any] = field(default_factory=dict)


def _refuse(name: str, rule: str, text: str) -> ValidationFailed:
    message = f"Photo '{name}' {text}"
    return ValidationFailed(message, [Problem(f"photo '{name}'", rule, message)])


def _too_many_pixels(name: str, size: str) -> ValidationFailed:
    limit = f"{MAX_PHOTO_PIXELS / 1e6:.0f} million"
    return _refuse(name, "too_many_pixels", f"has {size} pixels, more than the {limit} allowed.")


def _float(value: Any) -> float:
    return float(value)


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (_float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    return -degrees if str(ref).strip().upper() == negative else degrees


def _exif_time(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text).strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _offset(text: Any) -> timezone | None:
    value = str(text or "").strip().rstrip("\x00")
    if len(value) != 6 or value[0] not in "+-" or value[3] != ":":
        return None
    try:
        minutes = int(value[1:3]) * 60 + int(value[4:6])
    except ValueError:
        return None
    return timezone(timedelta(minutes=minutes if value[0] == "+" else -minutes))


def _gps_time(gps: dict[int, Any]) -> datetime | None:
    if 29 not in gps or 7 not in gps:
        return None
    try:
        day = datetime.strptime(str(gps[29]).strip().rstrip("\x00"), "%Y:%m:%d")
        h, m, s = (_float(v) for v in gps[7])
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return day.replace(tzinfo=UTC) + timedelta(hours=h, minutes=m, seconds=s)


def _taken_at(
    base: dict[int, Any], exif: dict[int, Any], gps: dict[int, Any], tz: str
) -> tuple[datetime | None, str | None]:
    original = _exif_time(exif.get(_DATETIME_ORIGINAL)) if _DATETIME_ORIGINAL in exif else None
    offset = _offset(exif.get(_OFFSET_ORIGINAL))
    if original is not None and offset is not None:
        return original.replace(tzinfo=offset), "exif_offset"
    stamp = _gps_time(gps)
    if stamp is not None:
        return stamp, "gps"
    if original is not None:
        return original.replace(tzinfo=ZoneInfo(tz)), "exif_local"
    other = _exif_time(base.get(_DATETIME)) if _DATETIME in base else None
    if other is not None:
        return other.replace(tzinfo=ZoneInfo(tz)), "exif_datetime"
    return None, None


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace").rstrip("\x00")
    if isinstance(value, str):
        return value.rstrip("\x00")
    try:
        return round(float(value), 8)
    except (TypeError, ValueError, ZeroDivisionError):
        return str(value)


def read_photo(
    content: bytes,
    *,
    file_name: str,
    tz: str = "Asia/Shanghai",
    max_bytes: int = MAX_PHOTO_BYTES,
) -> Photo:
    """Check that ``content`` is a JPEG and read its EXIF position and time.

    Parameters
    ----------
    content
        The file's bytes.
    file_name
        The name shown in messages and stored.
    tz
        Zone of an EXIF time without offset.
    max_bytes
        Largest accepted photo.

    Returns
    -------
    Photo
        ``lon``/``lat`` in WGS84 degrees (None without GPS), ``taken_at`` timezone-aware (None
        without any EXIF time), ``exif`` the tags kept (camera, times, GPS) as plain values.

    Raises
    ------
    ValidationFailed
        When the file is empty, not a JPEG image, truncated or
        damaged (every scan is decoded, at 1/8 scale), or has more than
        :data:`MAX_PHOTO_PIXELS` pixels.
    TooLarge
        When the file is larger than ``max_bytes``.
    """
    if not content:
        raise _refuse(file_name, "empty_file", "is empty.")
    if len(content) > max_bytes:
        message = f"Photo '{file_name}' is larger than the limit of {max_bytes / 2**20:g} MiB."
        raise TooLarge(message, [Problem(f"photo '{file_name}'", "file_too_large", message)])
    if not content.startswith(JPEG_MAGIC):
        raise _refuse(file_name, "not_jpeg", "is not a JPEG image; evidence photos are JPEG.")
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 million pixels; above MAX_PHOTO_PIXELS the photo is refused.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
        with image:
            if image.format != "JPEG":
                raise _refuse(file_name, "not_jpeg", "is not a JPEG image.")
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise _too_many_pixels(file_name, f"{width} x {height}")
            exif = image.getexif()
            base = dict(exif)
            details = dict(exif.get_ifd(_EXIF_IFD))
            gps = dict(exif.get_ifd(_GPS_IFD))
            # Decoding every scan finds a truncated or damaged file; at 1/8 scale it is cheap.
            image.draft(image.mode, (max(width // 8, 1), max(height // 8, 1)))
            image.load()
    except Image.DecompressionBombError:
        raise _too_many_pixels(file_name, "more than 178 million") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _refuse(
            file_name,
            "not_jpeg",
            f"cannot be read as a JPEG image: it is truncated or damaged ({exc}).",
        ) from None
    lat = _degrees(gps[2], gps.get(1, "N"), "S") if 2 in gps else None
    lon = _degrees(gps[4], gps.get(3, "E"), "W") if 4 in gps else None
    if lon is None or lat is None or not (abs(lon) <= 180 and abs(lat) <= 90) or lon == lat == 0:
        lon = lat = None
    taken_at, source = _taken_at(base, details, gps, tz)
    kept = {name: _plain(base[tag]) for tag, name in _KEPT.items() if tag in base}
    kept |= {name: _plain(details[tag]) for tag, name in _KEPT_EXIF.items() if tag in details}
    kept |= {name: _plain(gps[tag]) for tag, name in _KEPT_GPS.items() if tag in gps}
    return Photo(
        file_name=file_name,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
        lon=lon,
        lat=lat,
        taken_at=taken_at,
        taken_at_source=source,
        exif=kept,
    )
