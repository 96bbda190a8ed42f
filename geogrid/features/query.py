"""Paging through a collection as GeoJSON (OGC API - Features Part 1), built in PostGIS.

Features are serialised to JSON text by PostgreSQL (``json_build_object``) and returned as
strings, so that a 1,000-feature page is not parsed and re-encoded in Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter, NotFound
from geogrid.features.collection import Collection

COORD_DECIMALS = 7  # ~1 cm at the equator: enough for unit grids, small pages


@dataclass(frozen=True)
class BBox:
    """A WGS84 / CRS84 bounding box in degrees."""

    minx: float
    miny: float
    maxx: float
    maxy: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse ``minx,miny,maxx,maxy`` (or the 6-number 3D form) as in OGC API - Features."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) not in (4, 6):
            raise InvalidParameter(
                f"Parameter 'bbox' needs 4 numbers (minx,miny,maxx,maxy), got {len(parts)}."
            )
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise InvalidParameter(f"Parameter 'bbox' must be numbers, got '{text}'.") from None
        if not all(math.isfinite(n) for n in nums):
            raise InvalidParameter("Parameter 'bbox' must be finite numbers.")
        if len(nums) == 6:
            nums = [nums[0], nums[1], nums[3], nums[4]]
        box = cls(*nums)
        if not (-180 <= box.minx <= 180 and -180 <= box.maxx <= 180):
            raise InvalidParameter("Parameter 'bbox': longitudes must lie in [-180, 180].")
        if not (-90 <= box.miny <= 90 and -90 <= box.maxy <= 90):
            raise InvalidParameter("Parameter 'bbox': latitudes must lie in [-90, 90].")
        if box.minx > box.maxx or box.miny > box.maxy:
            raise InvalidParameter("Parameter 'bbox': minimum larger than maximum.")
        return box


@dataclass(frozen=True)
class Interval:
    """The OGC ``datetime`` parameter: an instant or a closed interval, either end open.

    ``start`` is inclusive; ``end`` is exclusive (a day given as the end covers that day).
    """

    start: datetime | None
    end: datetime | None

    @classmethod
    def parse(cls, text: str, *, tz: str = "Asia/Shanghai") -> Interval:
        """Parse ``2026-10-01``, ``2026-10-01T08:00:00Z``, ``a/b``, ``../b`` or ``a/..``.

        Days and naive times are local time in ``tz``.
        """
        parts = text.strip().split("/")
        if len(parts) > 2 or not parts[0]:
            raise InvalidParameter(
                f"Parameter 'datetime' must be an instant or an interval a/b, got '{text}'."
            )
        if len(parts) == 1:
            return cls(_moment(parts[0], tz), _moment(parts[0], tz, end=True))
        start: datetime | None = None if parts[0] in ("..", "") else _moment(parts[0], tz)
        end: datetime | None = None if parts[1] in ("..", "") else _moment(parts[1], tz, end=True)
        if start is None and end is None:
            raise InvalidParameter("Parameter 'datetime' must bound at least one end.")
        if start is not None and end is not None and end <= start:
            raise InvalidParameter(f"Parameter 'datetime': the interval '{text}' is empty.")
        return cls(start, end)


def _moment(text: str, tz: str, *, end: bool = False) -> datetime:
    """A day (its start; with ``end`` the next day's start) or an instant (+1 µs with ``end``)."""
    zone = ZoneInfo(tz)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=int(end)), datetime.min.time(), zone)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(
            f"Parameter 'datetime': '{text}' is not an RFC 3339 date or date-time."
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    return moment + timedelta(microseconds=1) if end else moment


@dataclass(frozen=True)
class ItemsPage:
    """One page of features: each feature a GeoJSON Feature as JSON text."""

    features: list[str]
    number_matched: int
    offset: int
    limit: int

    @property
    def number_returned(self) -> int:
        return len(self.features)

    @property
    def has_next(self) -> bool:
        return self.offset + self.number_returned < self.number_matched


def _feature_sql(coll: Collection) -> str:
    props = ", ".join(f"'{p.name}', {p.sql}" for p in coll.properties)
    return (
        f"json_build_object('type', 'Feature', 'id', {coll.key}, "
        f"'geometry', ST_AsGeoJSON(f.geom, {COORD_DECIMALS})::json, "
        f"'properties', json_build_object({props}))::text"
    )


def _where(
    coll: Collection,
    bbox: BBox | None,
    filters: Mapping[str, str],
    interval: Interval | None = None,
) -> tuple[str, dict[str, object]]:
    clauses: list[str] = []
    params: dict[str, object] = {}
    if interval is not None:
        if coll.temporal is None:
            raise InvalidParameter(f"Collection '{coll.id}' has no time; drop 'datetime'.")
        if interval.start is not None:
            clauses.append(f"{coll.temporal} >= :dt0")
            params["dt0"] = interval.start
        if interval.end is not None:
            clauses.append(f"{coll.temporal} < :dt1")
            params["dt1"] = interval.end
    if bbox is not None:
        clauses.append(
            "f.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) "
            "AND ST_Intersects(f.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"
        )
        params.update(minx=bbox.minx, miny=bbox.miny, maxx=bbox.maxx, maxy=bbox.maxy)
    for i, (name, raw) in enumerate(sorted(filters.items())):
        flt = coll.filter(name)
        key = f"v{i}"
        clauses.append(flt.sql.replace(":value", f":{key}"))
        params[key] = flt.parse(raw)
    return "".join(f" AND {c}" for c in clauses), params


def query_items(
    conn: Connection,
    coll: Collection,
    *,
    limit: int,
    offset: int = 0,
    bbox: BBox | None = None,
    filters: Mapping[str, str] | None = None,
    interval: Interval | None = None,
) -> ItemsPage:
    """Return one page of ``coll``'s features, ordered by their key.

    Parameters
    ----------
    limit, offset
        Page size (>= 1) and start (>= 0); the caller bounds ``limit``.
    bbox
        Only features intersecting this CRS84 box.
    filters
        Property filters by name (see ``Collection.filters``); values are raw query text.
    interval
        Only features whose time (``Collection.temporal``) lies in it.
    """
    if limit < 1 or offset < 0:
        raise InvalidParameter("Parameters 'limit' must be >= 1 and 'offset' >= 0.")
    where, params = _where(coll, bbox, filters or {}, interval)
    base = f"FROM {coll.source}{where}"
    matched = conn.execute(sa.text(f"SELECT count(*) {base}"), params).scalar_one()
    rows = conn.execute(
        sa.text(
            f"SELECT {_feature_sql(coll)} {base} ORDER BY {coll.order_by} "
            "LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    ).scalars()
    return ItemsPage(list(rows), int(matched), offset, limit)


def get_item(conn: Connection, coll: Collection, fid: str) -> str:
    """Return one feature of ``coll`` as GeoJSON text; :class:`NotFound` when absent."""
    row = conn.execute(
        sa.text(f"SELECT {_feature_sql(coll)} FROM {coll.source} AND {coll.key} = :fid"),
        {"fid": fid},
    ).scalar()
    if row is None:
        raise NotFound(f"Collection '{coll.id}' has no feature '{fid}'.")
    return str(row)


def extent(conn: Connection, coll: Collection) -> tuple[float, float, float, float] | None:
    """The CRS84 bounding box of the collection's current features, or None when empty."""
    row = conn.execute(
        sa.text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent(f.geom) AS e FROM {coll.source}) q"
        )
    ).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])


def layer_versions(conn: Connection, tables: Sequence[str]) -> tuple[int, ...]:
    """The write counters of ``tables``; they change whenever any of them is written."""
    rows: dict[str, int] = dict(
        conn.execute(
            sa.text("SELECT layer, version FROM layer_versions WHERE layer = ANY(:t)"),
            {"t": list(tables)},
        ).all()
    )
    return tuple(int(rows.get(t, 0)) for t in tables)


def feature_collection(conn: Connection, coll: Collection, *, limit: int) -> str:
    """All (up to ``limit``) features of ``coll`` as one GeoJSON FeatureCollection text."""
    page = query_items(conn, coll, limit=limit)
    return '{"type":"FeatureCollection","features":[' + ",".join(page.features) + "]}"
