"""Ingest of supervisors' GPS fixes (DOMAIN.md §5): validate, convert, flag, store idempotently.

A fix is keyed on (supervisor, time): a re-sent batch changes nothing and fixes may arrive in any
order. Fixes are kept but flagged, and ignored by analytics, when their reported accuracy is
worse than a threshold (``inaccurate``), when they come from cell towers or Wi-Fi
(``network``), or when they are a spike of impossible speed: faster than the limit both from
the previous and to the next usable fix (``speed``). GCJ-02 input is converted to WGS84 and
the given coordinates are kept beside the stored point.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.crs import gcj02_to_wgs84
from geogrid.db.copy import copy_csv_in
from geogrid.errors import ValidationFailed
from geogrid.io.problems import RowProblems
from geogrid.io.sheets import read_table

MAX_ACCURACY_M = 50.0
MAX_SPEED_MPS = 30.0
NETWORK_SOURCES = {"network", "wifi", "cell", "lbs", "基站", "网络", "wifi定位", "基站定位"}
ALIASES = {
    "supervisor": "supervisor_id",
    "监督员": "supervisor_id",
    "device": "device_id",
    "设备号": "device_id",
    "time": "timestamp",
    "t": "timestamp",
    "fixed_at": "timestamp",
    "时间": "timestamp",
    "定位时间": "timestamp",
    "x": "lon",
    "lng": "lon",
    "经度": "lon",
    "y": "lat",
    "纬度": "lat",
    "accuracy": "accuracy_m",
    "精度": "accuracy_m",
    "速度": "speed",
    "方向": "heading",
    "provider": "source",
    "定位方式": "source",
}
STAGED = (
    "line",
    "supervisor_id",
    "fixed_at",
    "lon",
    "lat",
    "accuracy_m",
    "speed_mps",
    "heading",
    "source",
    "recorded_lon",
    "recorded_lat",
    "recorded_crs",
    "network",
)


@dataclass(frozen=True)
class IngestResult:
    """What a batch did: fixes received, new, already stored, and flagged among the new."""

    received: int
    inserted: int
    duplicates: int
    flagged: int


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), "").astype(str).str.strip()


def _number(
    frame: pd.DataFrame, column: str, low: float, high: float, problems: RowProblems
) -> pd.Series:
    text = _text(frame, column)
    value = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = (text != "") & (value.isna() | (value < low) | (value > high))
    problems.add_each(
        bad, column, "bad_number", lambda i: f"'{text.iat[i]}' is not a number in [{low}, {high}]."
    )
    return value


def parse_fixes(
    frame: pd.DataFrame,
    *,
    supervisors: set[str],
    devices: dict[str, str],
    crs: str = "wgs84",
    tz: str = "Asia/Shanghai",
    shown: str = "fixes",
) -> pd.DataFrame:
    """Validate fixes given as text cells; return them typed, in the shape of the staging table.

    Parameters
    ----------
    frame
        Columns ``supervisor_id`` or ``device_id``, ``timestamp``, ``lon``, ``lat`` and optional
        ``accuracy_m``, ``speed``, ``heading``, ``source`` (aliases accepted).
    supervisors, devices
        Known supervisor ids, and device id → supervisor id.
    crs
        ``wgs84`` (also CGCS2000 / Beidou) or ``gcj02``.

    Raises
    ------
    ValidationFailed
        Listing every bad row (line of the file, column, reason); nothing is written.
    """
    if crs not in ("wgs84", "cgcs2000", "gcj02"):
        raise ValidationFailed(f"Fixes are accepted in wgs84, cgcs2000 or gcj02, not '{crs}'.")
    frame = frame.rename(columns=lambda c: ALIASES.get(str(c).strip().lower(), str(c).strip()))
    frame = frame.reset_index(drop=True)
    problems = RowProblems()
    sup, dev = _text(frame, "supervisor_id"), _text(frame, "device_id")
    resolved = sup.where(sup != "", dev.map(lambda d: devices.get(d, "")))
    problems.add(
        (sup == "") & (dev == ""), "supervisor_id", "missing_value", "is empty and so is device_id."
    )
    problems.add_each(
        (sup != "") & ~sup.isin(supervisors),
        "supervisor_id",
        "unknown_supervisor",
        lambda i: f"'{sup.iat[i]}' is not a registered supervisor.",
    )
    problems.add_each(
        (sup == "") & (dev != "") & (resolved == ""),
        "device_id",
        "unknown_device",
        lambda i: f"'{dev.iat[i]}' is not the device of a registered supervisor.",
    )
    stamp_text = _text(frame, "timestamp").str.replace("/", "-", regex=False)
    aware = stamp_text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    stamps = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        stamps[aware] = pd.to_datetime(
            stamp_text[aware], format="ISO8601", errors="coerce", utc=True
        )
    naive = ~aware & (stamp_text != "")
    if naive.any():
        local = pd.to_datetime(stamp_text[naive], format="ISO8601", errors="coerce")
        stamps[naive] = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
            "UTC"
        )
    problems.add_each(
        stamps.isna(),
        "timestamp",
        "bad_timestamp",
        lambda i: f"'{stamp_text.iat[i]}' is not a date and time.",
    )
    lon = _number(frame, "lon", -180, 180, problems)
    lat = _number(frame, "lat", -90, 90, problems)
    for name, value in (("lon", lon), ("lat", lat)):
        problems.add(value.isna() & (_text(frame, name) == ""), name, "missing_value", "is empty.")
    accuracy = _number(frame, "accuracy_m", 0, 1e6, problems)
    speed = _number(frame, "speed", 0, 1e4, problems)
    heading = _number(frame, "heading", 0, 360, problems)
    problems.raise_if_any(shown)
    source = _text(frame, "source")
    out = pd.DataFrame(
        {
            "line": np.arange(2, len(frame) + 2),
            "supervisor_id": resolved,
            "fixed_at": stamps,
            "lon": lon,
            "lat": lat,
            "accuracy_m": accuracy,
            "speed_mps": speed,
            "heading": heading,
            "source": source.where(source != "", None),
            "recorded_lon": None,
            "recorded_lat": None,
            "recorded_crs": None,
            "network": source.str.lower().isin(NETWORK_SOURCES),
        }
    )
    if crs == "gcj02":
        out["recorded_lon"], out["recorded_lat"], out["recorded_crs"] = lon, lat, "gcj02"
        out["lon"], out["lat"] = gcj02_to_wgs84(lon.to_numpy(), lat.to_numpy())
    doubled = out.duplicated(["supervisor_id", "fixed_at"], keep="first")
    return out[~doubled.to_numpy()]


_STAGE = """
DROP TABLE IF EXISTS fix_stage;
CREATE TEMP TABLE fix_stage (
    line integer, supervisor_id text, fixed_at timestamptz, lon double precision,
    lat double precision, accuracy_m real, speed_mps real, heading real, source text,
    recorded_lon double precision, recorded_lat double precision, recorded_crs text,
    network boolean
) ON COMMIT DROP
"""

_INSERT = """
INSERT INTO fixes (district_code, supervisor_id, fixed_at, geom, accuracy_m, speed_mps, heading,
    source, recorded_lon, recorded_lat, recorded_crs, flags)
SELECT :d, supervisor_id, fixed_at, ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy_m,
       speed_mps, heading, source, recorded_lon, recorded_lat, recorded_crs,
       array_remove(ARRAY[CASE WHEN accuracy_m > :max_accuracy THEN 'inaccurate' END,
                          CASE WHEN network THEN 'network' END], NULL)
FROM fix_stage
ON CONFLICT DO NOTHING
"""

# A spike: faster than the limit from the previous usable fix and to the next one.
_SPEED_FLAGS = """
WITH touched AS (
    SELECT supervisor_id, min(fixed_at) - interval '1 hour' AS t0,
           max(fixed_at) + interval '1 hour' AS t1
    FROM fix_stage GROUP BY supervisor_id
), usable AS (
    SELECT f.supervisor_id, f.fixed_at, f.geom, 'speed' = ANY(f.flags) AS flagged,
           lag(f.geom) OVER w AS prev_geom, lag(f.fixed_at) OVER w AS prev_at,
           lead(f.geom) OVER w AS next_geom, lead(f.fixed_at) OVER w AS next_at
    FROM fixes f JOIN touched t ON t.supervisor_id = f.supervisor_id
     AND f.fixed_at BETWEEN t.t0 AND t.t1
    WHERE f.district_code = :d AND NOT f.flags && ARRAY['inaccurate', 'network']
    WINDOW w AS (PARTITION BY f.supervisor_id ORDER BY f.fixed_at)
), speeds AS (
    SELECT supervisor_id, fixed_at, flagged,
           ST_Distance(geom::geography, prev_geom::geography)
               / greatest(extract(epoch FROM fixed_at - prev_at), 1) AS v_in,
           ST_Distance(geom::geography, next_geom::geography)
               / greatest(extract(epoch FROM next_at - fixed_at), 1) AS v_out
    FROM usable
), verdict AS (
    SELECT supervisor_id, fixed_at, flagged,
           coalesce(v_in > :max_speed, false)
           AND coalesce(v_out > :max_speed, false) AS spike
    FROM speeds
)
UPDATE fixes f
SET flags = CASE WHEN v.spike THEN array_append(f.flags, 'speed')
                 ELSE array_remove(f.flags, 'speed') END
FROM verdict v
WHERE f.district_code = :d AND f.supervisor_id = v.supervisor_id AND f.fixed_at = v.fixed_at
  AND v.spike <> v.flagged
"""


def ensure_partitions(conn: Connection, months: list[date]) -> None:
    """Create the monthly partitions of ``fixes`` that ``months`` need (first days, UTC)."""
    for first in sorted(set(months)):
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS fixes_{first:%Y_%m} PARTITION OF fixes FOR VALUES "
                f"FROM ('{first:%Y-%m-%d} 00:00+00') TO ('{following:%Y-%m-%d} 00:00+00')"
            )
        )


def store_fixes(
    conn: Connection,
    fixes: pd.DataFrame,
    *,
    district_code: str,
    max_accuracy_m: float = MAX_ACCURACY_M,
    max_speed_mps: float = MAX_SPEED_MPS,
) -> IngestResult:
    """Store validated fixes (from :func:`parse_fixes`) in the caller's transaction."""
    if fixes.empty:
        return IngestResult(0, 0, 0, 0)
    months = [date(t.year, t.month, 1) for t in fixes["fixed_at"].dt.tz_convert("UTC")]
    ensure_partitions(conn, months)
    staged = fixes[list(STAGED)].copy()
    staged["fixed_at"] = staged["fixed_at"].map(lambda t: t.isoformat())
    buffer = io.StringIO()
    staged.to_csv(buffer, header=False, index=False, na_rep="", float_format="%.8f")
    buffer.seek(0)
    for statement in _STAGE.split(";"):
        if statement.strip():
            conn.execute(sa.text(statement))
    copy_csv_in(conn, "fix_stage", STAGED, buffer)
    params = {"d": district_code, "max_accuracy": max_accuracy_m, "max_speed": max_speed_mps}
    inserted = conn.execute(sa.text(_INSERT), params).rowcount
    conn.execute(sa.text(_SPEED_FLAGS), params)
    flagged = conn.execute(
        sa.text(
            "SELECT count(*) FROM fixes f JOIN fix_stage s USING (supervisor_id, fixed_at) "
            "WHERE f.district_code = :d AND cardinality(f.flags) > 0"
        ),
        params,
    ).scalar_one()
    return IngestResult(len(fixes), inserted, len(fixes) - inserted, int(flagged))


def read_track_file(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """Fixes of a CSV/XLSX table, a GPX file (track points) or a GeoJSON file of points.

    GPX and GeoJSON positions become ``lon``/``lat`` columns; their ``time`` the timestamp.
    """
    shown = name or path.name
    head = path.read_bytes()[:512].lstrip()
    if head.startswith(b"<?xml") or b"<gpx" in head:
        layer = "track_points"
        try:
            frame = pyogrio.read_dataframe(path, layer=layer)
        except Exception as exc:
            raise ValidationFailed(f"'{shown}' is not a readable GPX file ({exc}).") from None
    elif head.startswith(b"{"):
        try:
            frame = pyogrio.read_dataframe(path)
        except Exception as exc:
            raise ValidationFailed(f"'{shown}' is not readable GeoJSON ({exc}).") from None
    else:
        return read_table(path, name=shown)
    if len(frame) and not (frame.geometry.geom_type == "Point").all():
        raise ValidationFailed(f"'{shown}' must hold points (one per fix).")
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    out["lon"], out["lat"] = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    if "time" in out and "timestamp" not in out:
        out["timestamp"] = pd.to_datetime(out.pop("time"), utc=True).map(
            lambda t: "" if pd.isna(t) else t.isoformat()
        )
    return out.astype(object).where(out.notna(), "").astype(str)


def known_supervisors(conn: Connection) -> tuple[str, set[str], dict[str, str]]:
    """The district, its supervisor ids and device id → supervisor id."""
    rows = conn.execute(sa.text("SELECT district_code, id, device_id FROM supervisors")).all()
    districts = {r[0] for r in rows} or set(
        conn.execute(sa.text("SELECT code FROM districts")).scalars()
    )
    if len(districts) != 1:
        raise ValidationFailed("Fixes need exactly one district with registered supervisors.")
    devices = {str(r[2]): str(r[1]) for r in rows if r[2]}
    return str(districts.pop()), {str(r[1]) for r in rows}, devices


def import_tracks(
    conn: Connection, path: Path, *, crs: str = "wgs84", tz: str = "Asia/Shanghai"
) -> IngestResult:
    """Ingest the fixes of a CSV/XLSX, GPX or GeoJSON file in the caller's transaction."""
    frame = read_track_file(path)
    district, ids, devices = known_supervisors(conn)
    fixes = parse_fixes(frame, supervisors=ids, devices=devices, crs=crs, tz=tz, shown=path.name)
    return store_fixes(conn, fixes, district_code=district)
