"""Ingest of supervisors' GPS fixes (DOMAIN.md §5): validate, convert, flag, store idempotently.

A fix is keyed on (supervisor, time): a re-sent batch changes nothing and fixes may arrive in any
order. Fixes are kept but flagged, and ignored by analytics, when their reported accuracy is
worse than a threshold (``inaccurate``), when they come from cell towers or Wi-Fi
(``network``), or when they are a spike of impossible speed: faster than the limit both from
the previous and to the next usable fix (``speed``). GCJ-02 input is converted to WGS84 and
the given coordinates are kept beside the stored point.

The bulk path (≥ 100,000 fixes/s, ``bench/patrol.py``) keeps every row in numpy: cells are
parsed column-wise, speeds are computed for the batch beside the few stored fixes around it,
and the new fixes travel to PostgreSQL by binary COPY, already flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import sqlalchemy as sa
from pyproj import Geod
from sqlalchemy.engine import Connection

from geogrid.auth.principal import UNLIMITED, Scope
from geogrid.crs import gcj02_to_wgs84
from geogrid.db.copy import (
    BinaryColumn,
    Coded,
    Nullable,
    copy_binary_in,
    copy_binary_out,
    from_pg_timestamps,
    pg_text,
    pg_text_array,
    pg_timestamps,
)
from geogrid.errors import Forbidden, Problem, ValidationFailed
from geogrid.io.problems import MAX_LISTED, RowProblems
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
"""The columns of :func:`parse_fixes`' result, which :func:`store_fixes` takes."""

# Flags of a fix as bits, in the order of the stored ``flags`` array.
INACCURATE, NETWORK, SPEED = 1, 2, 4
_UNUSABLE = INACCURATE | NETWORK
# The WGS84 ellipsoid as PostGIS builds it for a geography (from its semi-axes), so that the
# geodesic distances below are those of ``ST_Distance(geography, geography)``.
_WGS84 = Geod(a=6378137.0, b=6378137.0 * (1 - 1 / 298.257223563))
_LONGEST_STAMP = 64  # longer timestamp cells are checked for an offset with a regex


@dataclass(frozen=True)
class IngestResult:
    """What a batch did: fixes received, new, already stored, and flagged among the received
    (their flags as stored after the call)."""

    received: int
    inserted: int
    duplicates: int
    flagged: int


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The cells of ``column`` as stripped ``str`` objects ("" where empty or missing)."""
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    cells = frame[column].to_numpy(dtype=object)
    try:
        return np.array(list(map(str.strip, cells)), dtype=object)
    except TypeError:  # missing cells, or numbers and dates not read as text
        missing = pd.isna(cells)
        return np.array(
            ["" if m else str(c).strip() for c, m in zip(cells, missing, strict=True)], dtype=object
        )


def _number(
    cells: np.ndarray, column: str, low: float, high: float, problems: RowProblems
) -> np.ndarray:
    """Numbers of text cells (NaN where empty); a problem for each one not in [low, high]."""
    present = cells != ""
    value = np.full(len(cells), np.nan)
    given = cells[present]
    joined = "".join(given)
    try:
        if not joined.isascii() or "_" in joined:  # float() accepts these, pd.to_numeric not
            raise ValueError(column)
        value[present] = given.astype(float)
    except ValueError:
        value[present] = pd.to_numeric(pd.Series(given), errors="coerce").astype(float)
    with np.errstate(invalid="ignore"):
        bad = present & (np.isnan(value) | (value < low) | (value > high))
    problems.add_each(
        bad, column, "bad_number", lambda i: f"'{cells[i]}' is not a number in [{low}, {high}]."
    )
    return value


def _ends_with_offset(text: np.ndarray) -> np.ndarray:
    """Which text cells end with a UTC offset.

    ``Z``, ``±hh:mm`` or ``±hhmm``, or ``±hh`` after a time (a cell with a ``:``; a date
    alone such as ``2026-10-09`` does not end with an offset).
    """
    longest = max(map(len, text), default=0)
    if longest > _LONGEST_STAMP:
        cells = pd.Series(text, dtype=object).str
        found = cells.contains(r"(?:Z|[+-]\d\d:?\d\d|:.*\d[+-]\d\d)$")
        return found.to_numpy(dtype=bool)
    if longest == 0:
        return np.zeros(len(text), dtype=bool)
    cells = text.astype(f"U{longest}")
    chars = cells.view(np.uint32).reshape(len(cells), longest)
    length = np.char.str_len(cells)[:, None]
    back = np.arange(6, 0, -1)  # the 6th .. 1st character from the end; 0 when shorter
    tail = np.where(length >= back, np.take_along_axis(chars, np.maximum(length - back, 0), 1), 0)
    digit = (tail >= ord("0")) & (tail <= ord("9"))
    sign = (tail == ord("+")) | (tail == ord("-"))
    zulu = tail[:, 5] == ord("Z")
    colon = sign[:, 0] & digit[:, [1, 2, 4, 5]].all(axis=1) & (tail[:, 3] == ord(":"))
    plain = sign[:, 1] & digit[:, 2:].all(axis=1)
    hours = sign[:, 3] & digit[:, [2, 4, 5]].all(axis=1) & (chars == ord(":")).any(axis=1)
    return np.asarray(zulu | colon | plain | hours)


_FIRST_YEAR, _LAST_YEAR = 1678, 2261
"""Years a nanosecond timestamp holds whole (pandas parses others at a coarser unit)."""


def _storable(stamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``stamps`` with the instants outside the years a nanosecond timestamp holds made NaT,
    so they are reported as bad timestamps rather than failing the conversion."""
    years = stamps.year
    return stamps.where((years >= _FIRST_YEAR) & (years <= _LAST_YEAR))


def _local_times(cells: np.ndarray, tz: str) -> pd.Series:
    """Instants (UTC) of ISO 8601 cells without an offset, local times in ``tz``; NaT if bad."""
    try:
        local = pd.Series(_storable(pd.to_datetime(cells, format="ISO8601", errors="coerce")))
        return local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    except (TypeError, ValueError):  # an offset :func:`_ends_with_offset` does not know
        parsed = [pd.to_datetime(c, format="ISO8601", errors="coerce") for c in cells]
        naive = [
            pd.NaT
            if pd.isna(t) or t.tzinfo is not None or not _FIRST_YEAR <= t.year <= _LAST_YEAR
            else t
            for t in parsed
        ]
        local = pd.Series(naive, dtype="datetime64[ns]")
        return local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")


def _timestamps(stamp_text: np.ndarray, tz: str) -> pd.Series:
    """Instants (UTC) of ISO 8601 cells; naive ones are local time in ``tz``; NaT if bad."""
    aware = _ends_with_offset(stamp_text)
    naive = ~aware & (stamp_text != "")
    kind = "datetime64[ns, UTC]"
    stamps = pd.Series(pd.NaT, index=range(len(stamp_text)), dtype=kind)
    if aware.any():
        stamps[aware] = _storable(
            pd.to_datetime(stamp_text[aware], format="ISO8601", errors="coerce", utc=True)
        )
    if naive.any():
        utc = _local_times(stamp_text[naive], tz)
        if naive.all():
            return utc.astype(kind)
        stamps[naive] = utc.array
    return stamps


def parse_fixes(
    frame: pd.DataFrame,
    *,
    supervisors: set[str],
    devices: dict[str, str],
    crs: str = "wgs84",
    tz: str = "Asia/Shanghai",
    shown: str = "fixes",
) -> pd.DataFrame:
    """Validate fixes given as text cells; return them typed, with the columns :data:`STAGED`.

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
    nobody = sup == ""
    resolved = sup
    if nobody.any():
        owners = pd.Series(dev).map(devices).to_numpy(dtype=object)
        resolved = np.where(nobody, np.where(pd.isna(owners), "", owners), sup)
    problems.add(
        nobody & (dev == ""), "supervisor_id", "missing_value", "is empty and so is device_id."
    )
    problems.add_each(
        ~nobody & ~pd.Index(sup).isin(list(supervisors)),
        "supervisor_id",
        "unknown_supervisor",
        lambda i: f"'{sup[i]}' is not a registered supervisor.",
    )
    problems.add_each(
        nobody & (dev != "") & (resolved == ""),
        "device_id",
        "unknown_device",
        lambda i: f"'{dev[i]}' is not the device of a registered supervisor.",
    )
    stamp_text = _text(frame, "timestamp")
    if "/" in "".join(stamp_text):
        stamp_text = np.array([t.replace("/", "-") for t in stamp_text], dtype=object)
    stamps = _timestamps(stamp_text, tz)
    problems.add_each(
        stamps.isna(),
        "timestamp",
        "bad_timestamp",
        lambda i: f"'{stamp_text[i]}' is not a date and time.",
    )
    values = {}
    for column, low, high in (
        ("lon", -180, 180),
        ("lat", -90, 90),
        ("accuracy_m", 0, 1e6),
        ("speed", 0, 1e4),
        ("heading", 0, 360),
    ):
        cells = _text(frame, column)
        values[column] = _number(cells, column, low, high, problems)
        if column in ("lon", "lat"):
            problems.add(cells == "", column, "missing_value", "is empty.")
    problems.raise_if_any(shown)
    source = _text(frame, "source")
    codes, names = pd.factorize(source)
    network = np.asarray(pd.Index(names).str.lower().isin(list(NETWORK_SOURCES)))[codes]
    lon, lat = values["lon"], values["lat"]
    out = pd.DataFrame(
        {
            "line": np.arange(2, len(frame) + 2),
            "supervisor_id": resolved,
            "fixed_at": stamps.array,
            "lon": lon,
            "lat": lat,
            "accuracy_m": values["accuracy_m"],
            "speed_mps": values["speed"],
            "heading": values["heading"],
            "source": np.where(source == "", np.array(None), source),
            "recorded_lon": None,
            "recorded_lat": None,
            "recorded_crs": None,
            "network": network,
        }
    )
    if crs == "gcj02":
        out["recorded_lon"], out["recorded_lat"], out["recorded_crs"] = lon, lat, "gcj02"
        out["lon"], out["lat"] = gcj02_to_wgs84(lon, lat)
    doubled = out.duplicated(["supervisor_id", "fixed_at"], keep="first")
    return out[~doubled.to_numpy()]


def _postgis_metres(
    lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray
) -> np.ndarray:
    """Geodesic distances (m) between positions (degrees), exactly as PostGIS 3 measures them.

    PostGIS turns degrees into radians and back before calling PROJ's geodesic, and rounds the
    result to 10 nm; the same steps here give the same doubles.
    """

    def there_and_back(degrees: np.ndarray) -> np.ndarray:
        return (np.pi * degrees / 180.0) * 180.0 / np.pi

    _, _, metres = _WGS84.inv(
        there_and_back(lon0), there_and_back(lat0), there_and_back(lon1), there_and_back(lat1)
    )
    scaled = np.abs(np.asarray(metres)) * 1e8
    whole = np.floor(scaled)
    return (whole + (scaled - whole >= 0.5)) / 1e8  # C's round(): halves away from zero


def speed_spikes(
    track: np.ndarray,
    micros: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    max_speed_mps: float = MAX_SPEED_MPS,
) -> np.ndarray:
    """Which usable fixes are spikes of impossible speed (DOMAIN.md §5).

    Parameters
    ----------
    track, micros, lon, lat
        Usable fixes (neither inaccurate nor network-located) sorted by ``track`` (one integer
        per supervisor), then time ``micros`` (integer µs); positions in EPSG:4326 degrees.
    max_speed_mps
        A fix is a spike when its speed from the previous fix of its track and its speed to the
        next one both exceed this (m/s). Speed is the distance PostGIS gives two geography
        points (geodesic on the WGS84 ellipsoid, to 10 nm) over the seconds between the fixes
        (at least 1 s); the first and last fix of a track are never spikes.

    Returns
    -------
    numpy.ndarray
        One boolean per fix.
    """
    spike = np.zeros(len(track), dtype=bool)
    if len(track) < 3:
        return spike
    metres = _postgis_metres(lon[:-1], lat[:-1], lon[1:], lat[1:])
    seconds = np.maximum(np.diff(micros) / 1e6, 1.0)
    fast = (track[1:] == track[:-1]) & (metres / seconds > max_speed_mps)
    spike[1:-1] = fast[:-1] & fast[1:]
    return spike


# One transaction-scoped lock per supervisor: ingests of the same supervisor's fixes take turns,
# so that the stored fixes read below are all there are and the keys found new stay new.
_LOCK = """
SELECT count(*) FROM (
    SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtextextended('fixes/' || CAST(:d AS text) || '/' || s, 0) AS k
        FROM unnest(CAST(:s AS text[])) AS s ORDER BY k
    ) AS keys
) AS locked
"""

# The stored fixes a batch needs, per supervisor (track = position in %(s)s): every fix within
# the batch's time span (to find re-sent ones) and the two usable fixes on either side of it
# (their verdicts may change, and the nearer one's depends on the farther one). Their flags come
# as bits: INACCURATE, NETWORK, SPEED, and 8 for any flag but 'speed'.
_AROUND = """
WITH span AS (
    SELECT CAST(k AS integer) - 1 AS track, s, t0, t1
    FROM unnest(CAST(%(s)s AS text[]), CAST(%(t0)s AS timestamptz[]),
                CAST(%(t1)s AS timestamptz[])) WITH ORDINALITY AS u(s, t0, t1, k)
), stored AS (
    SELECT p.track, f.fixed_at, f.geom, f.flags
    FROM span p JOIN fixes f ON f.district_code = %(d)s AND f.supervisor_id = p.s
     AND f.fixed_at BETWEEN p.t0 AND p.t1
    UNION ALL
    SELECT p.track, b.* FROM span p CROSS JOIN LATERAL (
        SELECT f.fixed_at, f.geom, f.flags FROM fixes f
        WHERE f.district_code = %(d)s AND f.supervisor_id = p.s AND f.fixed_at < p.t0
          AND NOT f.flags && ARRAY['inaccurate', 'network']
        ORDER BY f.fixed_at DESC LIMIT 2) AS b
    UNION ALL
    SELECT p.track, a.* FROM span p CROSS JOIN LATERAL (
        SELECT f.fixed_at, f.geom, f.flags FROM fixes f
        WHERE f.district_code = %(d)s AND f.supervisor_id = p.s AND f.fixed_at > p.t1
          AND NOT f.flags && ARRAY['inaccurate', 'network']
        ORDER BY f.fixed_at LIMIT 2) AS a
)
SELECT track, fixed_at, ST_X(geom), ST_Y(geom), CAST(
       CASE WHEN 'inaccurate' = ANY(flags) THEN 1 ELSE 0 END
     | CASE WHEN 'network' = ANY(flags) THEN 2 ELSE 0 END
     | CASE WHEN 'speed' = ANY(flags) THEN 4 ELSE 0 END
     | CASE WHEN cardinality(array_remove(flags, 'speed')) > 0 THEN 8 ELSE 0 END AS smallint)
FROM stored
"""
_AROUND_COLUMNS = [
    ("track", ">i4"),
    ("micros", ">i8"),
    ("lon", ">f8"),
    ("lat", ">f8"),
    ("bits", ">i2"),
]

_VACUUM_AFTER = (
    "autovacuum_vacuum_insert_threshold = 100000, autovacuum_vacuum_insert_scale_factor = 0"
)
_EWKB_POINT = np.dtype(
    [("order", "u1"), ("kind", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)

_FLAG_NAMES = ((INACCURATE, "inaccurate"), (NETWORK, "network"), (SPEED, "speed"))
_FLAG_FORMS = [pg_text_array([n for bit, n in _FLAG_NAMES if bits & bit]) for bits in range(8)]

_RESPEED = """
UPDATE fixes f
SET flags = CASE WHEN u.spike THEN array_append(f.flags, 'speed')
                 ELSE array_remove(f.flags, 'speed') END
FROM unnest(CAST(:s AS text[]), CAST(:t AS timestamptz[]), CAST(:spike AS boolean[]))
     AS u(s, t, spike)
WHERE f.district_code = :d AND f.supervisor_id = u.s AND f.fixed_at = u.t
"""


def ensure_partitions(conn: Connection, months: list[date]) -> None:
    """Create the monthly partitions of ``fixes`` that ``months`` need (first days, UTC).

    Each is vacuumed after every 100,000 fixes inserted, which summarises its BRIN indexes
    (migration 0008). Ingests that need the same new partition take turns (a month begins at
    08:00 Beijing time, when every phone starts sending), so none fails on a half-made one.
    """
    for first in sorted(set(months)):
        name = f"fixes_{first:%Y_%m}"
        exists = sa.text("SELECT to_regclass(:name) IS NOT NULL")
        if conn.execute(exists, {"name": name}).scalar_one():
            continue
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF fixes FOR VALUES "
                f"FROM ('{first:%Y-%m-%d} 00:00+00') TO ('{following:%Y-%m-%d} 00:00+00') "
                f"WITH ({_VACUUM_AFTER})"
            )
        )


def _floats_of(fixes: pd.DataFrame, column: str) -> np.ndarray:
    if column not in fixes:
        return np.full(len(fixes), np.nan)
    return pd.to_numeric(fixes[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _coded(fixes: pd.DataFrame, column: str, rows: np.ndarray) -> Coded:
    """The texts of ``column`` at ``rows`` as a binary COPY column (NULL where missing)."""
    if column not in fixes:
        return Coded(np.zeros(len(rows), dtype=np.int64), [None])
    codes, names = pd.factorize(fixes[column].to_numpy()[rows])  # missing: -1
    return Coded(codes + 1, [None, *(pg_text(str(n)) for n in names)])


def _nullable(fixes: pd.DataFrame, column: str, rows: np.ndarray, kind: str) -> Nullable:
    values = _floats_of(fixes, column)[rows]
    return Nullable(values.astype(kind), np.isnan(values))


def _iso(micros: np.ndarray) -> list[str]:
    """Binary timestamps as exact ISO 8601 text (UTC) for array parameters."""
    return [f"{s}+00" for s in np.datetime_as_string(from_pg_timestamps(micros), unit="us")]


@dataclass(frozen=True)
class _Batch:
    """A batch's fixes without repeated keys, sorted by supervisor then time, as arrays."""

    supervisors: list[str]  # sorted; ``track`` indexes them
    track: np.ndarray
    micros: np.ndarray  # µs since 2000-01-01 UTC (binary timestamptz)
    lon: np.ndarray
    lat: np.ndarray
    bits: np.ndarray  # INACCURATE | NETWORK
    rows: np.ndarray  # position in the input of each fix
    of_row: np.ndarray  # each input row's fix (a repeated key: its first occurrence's)

    @classmethod
    def of(cls, fixes: pd.DataFrame, max_accuracy_m: float) -> _Batch:
        track, names = pd.factorize(fixes["supervisor_id"].astype(str), sort=True)
        stamps = pd.to_datetime(fixes["fixed_at"], utc=True).dt.round("us").dt.tz_localize(None)
        micros = pg_timestamps(stamps.to_numpy(dtype="datetime64[us]"))
        order = np.lexsort((micros, track))  # stable: the first of a repeated key stays first
        first = np.ones(len(order), dtype=bool)
        first[1:] = (np.diff(track[order]) != 0) | (np.diff(micros[order]) != 0)
        of_row = np.empty(len(order), dtype=np.int64)
        of_row[order] = np.cumsum(first) - 1
        rows = order[first]
        network = fixes["network"] if "network" in fixes else pd.Series(False, index=fixes.index)
        located = network.astype("boolean").fillna(False).to_numpy(dtype=bool)
        bits = np.where(_floats_of(fixes, "accuracy_m") > max_accuracy_m, INACCURATE, 0) | (
            np.where(located, NETWORK, 0)
        )
        return cls(
            supervisors=[str(n) for n in names],
            track=track[rows].astype(np.int32),
            micros=micros[rows],
            lon=_floats_of(fixes, "lon")[rows],
            lat=_floats_of(fixes, "lat")[rows],
            bits=bits[rows].astype(np.int16),
            rows=rows,
            of_row=of_row,
        )

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """First and last time of each supervisor's fixes."""
        starts = np.flatnonzero(np.r_[True, np.diff(self.track) != 0])
        ends = np.r_[starts[1:], len(self.track)] - 1
        return self.micros[starts], self.micros[ends]


@dataclass(frozen=True)
class _Verdict:
    """What storing a batch changes: its new fixes and their flags, and stored re-flagged."""

    new: np.ndarray  # per batch fix
    bits: np.ndarray  # per batch fix, as stored after the call (new or not)
    respeed: np.ndarray  # stored fixes whose 'speed' flag flips
    spike: np.ndarray  # their new 'speed' flag


def _judge(batch: _Batch, stored: dict[str, np.ndarray], max_speed_mps: float) -> _Verdict:
    """Find the batch's new fixes and the speed flags the new fixes set or change.

    A new usable fix changes the neighbours of the usable fixes just before and after it, so
    those are judged again with it; nothing else can change (DOMAIN.md §5, spike rule).
    """
    n_stored, n = len(stored["track"]), len(stored["track"]) + len(batch.track)
    track = np.concatenate([stored["track"], batch.track])
    micros = np.concatenate([stored["micros"], batch.micros])
    order = np.lexsort((np.arange(n) >= n_stored, micros, track))  # stored first on a tie
    again = np.zeros(n, dtype=bool)
    again[1:] = (np.diff(track[order]) == 0) & (np.diff(micros[order]) == 0)
    twin = np.full(n, -1)
    twin[order[again]] = order[np.flatnonzero(again) - 1]  # the stored fix of a re-sent key
    new = twin[n_stored:] < 0
    stored_bits = stored["bits"].astype(np.int64)
    bits = np.where(new, batch.bits, 0)
    respeed = spike_to = np.zeros(0, dtype=np.int64)
    if new.any():
        all_bits = np.concatenate([stored_bits, batch.bits])
        usable = (all_bits & _UNUSABLE) == 0
        usable[n_stored:] &= new
        sequence = order[usable[order]]
        spike = np.zeros(n, dtype=bool)
        spike[sequence] = speed_spikes(
            track[sequence],
            micros[sequence],
            np.concatenate([stored["lon"], batch.lon])[sequence],
            np.concatenate([stored["lat"], batch.lat])[sequence],
            max_speed_mps=max_speed_mps,
        )
        fresh = sequence >= n_stored
        beside = track[sequence][1:] == track[sequence][:-1]
        judged = fresh.copy()
        judged[:-1] |= fresh[1:] & beside
        judged[1:] |= fresh[:-1] & beside
        neighbours = sequence[judged & ~fresh]
        respeed = neighbours[spike[neighbours] != ((stored_bits[neighbours] & SPEED) != 0)]
        spike_to = spike[respeed]
        stored_bits[respeed] = np.where(
            spike_to, stored_bits[respeed] | SPEED, stored_bits[respeed] & ~SPEED
        )
        bits = np.where(new, batch.bits | np.where(spike[n_stored:], SPEED, 0), 0)
    bits[~new] = stored_bits[twin[n_stored:][~new]]
    return _Verdict(new=new, bits=bits, respeed=respeed, spike=np.asarray(spike_to, dtype=bool))


def _insert(
    conn: Connection, fixes: pd.DataFrame, batch: _Batch, verdict: _Verdict, district_code: str
) -> int:
    """COPY the batch's new fixes, flagged, into ``fixes`` (binary, in the batch's order).

    The order (supervisor, then time) keeps each block range of the position's BRIN index to
    one walk (migration 0008).
    """
    new = verdict.new
    rows = batch.rows[new]
    geom = np.zeros(len(rows), dtype=_EWKB_POINT)
    geom["order"], geom["kind"], geom["srid"] = 1, 0x20000001, 4326  # little-endian, SRID set
    geom["x"], geom["y"] = batch.lon[new], batch.lat[new]
    columns: dict[str, BinaryColumn] = {
        "district_code": Coded(np.zeros(len(rows), dtype=np.int64), [pg_text(district_code)]),
        "supervisor_id": Coded(batch.track[new], [pg_text(s) for s in batch.supervisors]),
        "fixed_at": batch.micros[new].astype(">i8"),
        "geom": geom,
        "accuracy_m": _nullable(fixes, "accuracy_m", rows, ">f4"),
        "speed_mps": _nullable(fixes, "speed_mps", rows, ">f4"),
        "heading": _nullable(fixes, "heading", rows, ">f4"),
        "source": _coded(fixes, "source", rows),
        "recorded_lon": _nullable(fixes, "recorded_lon", rows, ">f8"),
        "recorded_lat": _nullable(fixes, "recorded_lat", rows, ">f8"),
        "recorded_crs": _coded(fixes, "recorded_crs", rows),
        "flags": Coded(verdict.bits[new], _FLAG_FORMS),
    }
    return copy_binary_in(conn, "fixes", columns)


def _check_own(fixes: pd.DataFrame, scope: Scope) -> None:
    """A supervisor posts its own fixes only (issue 8); the batch is refused as a whole."""
    if scope.supervisor_id is None:
        return
    others = fixes[fixes["supervisor_id"] != scope.supervisor_id]
    if others.empty:
        return
    problems = [
        Problem(
            f"line {line}",
            "out_of_scope",
            f"Line {line}: the fix is of supervisor {sid}, not of {scope.supervisor_id}.",
        )
        for line, sid in zip(others["line"][:MAX_LISTED], others["supervisor_id"], strict=False)
    ]
    raise Forbidden(
        f"The batch was not stored: {len(others)} fix(es) are of another supervisor than "
        f"{scope.supervisor_id}. First: {problems[0].message}",
        problems,
    )


def store_fixes(
    conn: Connection,
    fixes: pd.DataFrame,
    *,
    district_code: str,
    max_accuracy_m: float = MAX_ACCURACY_M,
    max_speed_mps: float = MAX_SPEED_MPS,
    scope: Scope = UNLIMITED,
) -> IngestResult:
    """Store validated fixes (from :func:`parse_fixes`) in the caller's transaction.

    Fixes already stored (same supervisor and time) are left as they are; the new ones are
    inserted flagged, and stored fixes next to a new one get their ``speed`` flag judged again.
    Ingests of the same supervisor wait for each other (a transaction-scoped advisory lock).

    Parameters
    ----------
    fixes
        Columns :data:`STAGED`; ``fixed_at`` an instant, ``lon``/``lat`` EPSG:4326 degrees.
    district_code
        The district the fixes belong to (part of their key).
    max_accuracy_m, max_speed_mps
        Worse reported accuracy (m) flags a fix ``inaccurate``; a usable fix reached and left
        faster than this (m/s) is a ``speed`` spike (:func:`speed_spikes`).
    scope
        What the writer may write: a supervisor (``scope.supervisor_id``) only its own fixes.

    Returns
    -------
    IngestResult
        Fixes received, inserted, already stored, and flagged among the batch as stored after
        the call.

    Raises
    ------
    Forbidden
        A fix belongs to another supervisor than ``scope.supervisor_id``; nothing is written.
    """
    if fixes.empty:
        return IngestResult(0, 0, 0, 0)
    _check_own(fixes, scope)
    batch = _Batch.of(fixes, max_accuracy_m)
    params = {"d": district_code, "s": batch.supervisors}
    conn.execute(sa.text(_LOCK), params)
    months = np.unique(from_pg_timestamps(batch.micros).astype("datetime64[M]"))
    ensure_partitions(conn, [m.item() for m in months])
    t0, t1 = batch.spans()
    stored = copy_binary_out(
        conn, _AROUND, {**params, "t0": _iso(t0), "t1": _iso(t1)}, _AROUND_COLUMNS
    )
    verdict = _judge(batch, stored, max_speed_mps)
    inserted = _insert(conn, fixes, batch, verdict, district_code) if verdict.new.any() else 0
    if len(verdict.respeed):
        conn.execute(
            sa.text(_RESPEED),
            {
                **params,
                "s": [batch.supervisors[i] for i in stored["track"][verdict.respeed]],
                "t": _iso(stored["micros"][verdict.respeed]),
                "spike": verdict.spike.tolist(),
            },
        )
    flagged = int(np.count_nonzero(verdict.bits[batch.of_row]))
    return IngestResult(len(fixes), inserted, len(fixes) - inserted, flagged)


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
    return _known(conn, "supervisors")


def known_trackers(conn: Connection) -> tuple[str, set[str], dict[str, str]]:
    """The district, the ids that may send fixes and device id → id: supervisors, and the
    sanitation vehicles and crews (the view ``trackers`` of migration 0012), whose fixes are
    stored in the same table under their own ids."""
    return _known(conn, "trackers")


def _known(conn: Connection, relation: str) -> tuple[str, set[str], dict[str, str]]:
    rows = conn.execute(sa.text(f"SELECT district_code, id, device_id FROM {relation}")).all()
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
    district, ids, devices = known_trackers(conn)
    fixes = parse_fixes(frame, supervisors=ids, devices=devices, crs=crs, tz=tz, shown=path.name)
    return store_fixes(conn, fixes, district_code=district)
