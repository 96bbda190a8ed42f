"""What each supervisor did on each day of shift (DOMAIN.md §5): coverage, online time, off post.

- **Coverage (巡查覆盖率).** Consecutive usable fixes (not flagged) of one local day less than
  ``max_gap_s`` apart form the track's segments. A grid is patrolled by a supervisor on a day
  when the segments spend at least ``min_dwell_s`` in total within ``buffer_m`` of it (the
  grid buffered: its *zone*). A segment's time in a zone is its duration times the share of its
  length inside the zone; a segment whose two ends lie inside counts whole (a zone is a block
  rounded by the buffer and a walking segment is tens of metres long, so leaving and entering
  again between two fixes is not measurable); a segment of no length (standing still) counts
  whole when its point is inside.
- **Online (上线率).** The shift time covered by consecutive usable fixes at most
  ``online_gap_s`` (5 minutes) apart, over the shift's length.
- **Road coverage (道路覆盖率), a second measure, on request.** The share of the road length
  inside each assigned grid that lies within ``buffer_m`` of the day's segments, measured on
  points every ``ROAD_STEP_M`` along the roads.
- **Off post (脱岗).** Of that online time, the part spent more than ``off_post_m`` (100 m)
  outside the supervisor's assigned grids, by the same length-share rule. Time with the phone
  off is offline time, not off-post time.

Shifts are the supervisor's (default 08:00–18:00 local) unless ``supervisor_shifts`` holds
another for that day; the grids are the versions valid on that day. Fixes are read from PostGIS
with a binary COPY, one day at a time, and the geometry is computed with shapely's vectorised
functions in a transverse Mercator projection centred on the district (lengths in metres).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Connection

from geogrid.crs import local_metric_proj4
from geogrid.db.binary import read_columns
from geogrid.patrol.tracks import day_bounds

Progress = Callable[[str, float], None]
_CHUNK = 20_000  # segments compared with a supervisor's zones at once (bounds memory)
ROAD_STEP_M = 5.0


@dataclass(frozen=True)
class CoverageRule:
    """The parameters of patrol analytics (all configurable, DOMAIN.md §5)."""

    buffer_m: float = 20.0
    max_gap_s: int = 120
    min_dwell_s: int = 30
    online_gap_s: int = 300
    off_post_m: float = 100.0


@dataclass
class SupervisorDay:
    """One supervisor on one day with grids assigned: seconds per grid, shift and online time."""

    supervisor_id: str
    day: date
    shift_s: float
    online_s: float
    off_post_s: float
    fixes: int
    dwell: dict[str, float] = field(default_factory=dict)
    #: Grid code → (community code, street code) of the version valid that day.
    units: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Grid code → (road metres in the grid, metres within the buffer of the track), when
    #: road coverage was asked for.
    roads: dict[str, tuple[float, float]] = field(default_factory=dict)

    def patrolled(self, min_dwell_s: float) -> set[str]:
        """The assigned grids patrolled that day (dwell of at least ``min_dwell_s``)."""
        return {g for g, s in self.dwell.items() if s >= min_dwell_s}


# --- pure geometry -------------------------------------------------------------------------


_THREADED = 50_000  # point tests from which two threads share the work (shapely frees the GIL)
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="geogrid-geometry")


def _contains(polygons: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``contains_xy`` of each point in its (prepared) polygon, on two threads when large."""
    n = len(x)
    if n < _THREADED:
        return np.asarray(shapely.contains_xy(polygons, x, y), dtype=bool)
    half = n // 2
    parts = _POOL.map(
        lambda part: shapely.contains_xy(polygons[part], x[part], y[part]),
        (slice(0, half), slice(half, n)),
    )
    return np.concatenate(list(parts)).astype(bool)


_BISECTIONS = 6


def _share(
    polygons: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    a_in: np.ndarray,
    b_in: np.ndarray,
    *,
    both_outside: bool = True,
) -> np.ndarray:
    """Share of each segment's length inside the matching polygon (prepared), 0–1.

    ``a_in``/``b_in`` tell whether each end is inside. Both ends inside: 1; no length: 1 when
    its point is inside. One end inside: the segment crosses the edge once (segments are tens
    of metres, zones hundreds), found by bisection with point-in-polygon tests to 1/64 of its
    length, far cheaper than clipping. Both ends outside (with ``both_outside``): the exact
    length of the intersection over the length, 0 when they do not meet (the common case).
    """
    length = np.hypot(bx - ax, by - ay)
    share = np.where(a_in & b_in, 1.0, 0.0)
    still = length == 0
    share[still] = a_in[still]
    one = np.nonzero(~still & (a_in != b_in))[0]
    if len(one):
        lo, hi = np.zeros(len(one)), np.ones(len(one))  # a's side at lo, b's side at hi
        px, py, dx, dy = ax[one], ay[one], (bx - ax)[one], (by - ay)[one]
        side, polys = a_in[one], polygons[one]
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            same = _contains(polys, px + mid * dx, py + mid * dy) == side
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        crossing = (lo + hi) / 2
        share[one] = np.where(side, crossing, 1.0 - crossing)
    out = np.nonzero(~still & ~a_in & ~b_in)[0] if both_outside else np.zeros(0, dtype=np.intp)
    if len(out):
        coords = np.stack([ax[out], ay[out], bx[out], by[out]], axis=1).reshape(-1, 2, 2)
        lines = shapely.linestrings(coords)
        meets = shapely.intersects(polygons[out], lines)
        hit = out[meets]
        cut = shapely.intersection(lines[meets], polygons[hit])
        share[hit] = np.minimum(shapely.length(cut) / length[hit], 1.0)
    return share


def _inside_share(
    polygons: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
) -> np.ndarray:
    """:func:`_share` with the ends tested here."""
    return _share(
        polygons, ax, ay, bx, by, _contains(polygons, ax, ay), _contains(polygons, bx, by)
    )


def _point_pairs(
    owner: np.ndarray, x: np.ndarray, y: np.ndarray, zone_owner: np.ndarray, zone_box: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(fix, zone) pairs of one owner where the zone's box holds the fix.

    Per owner, the fixes are sorted by x once and each zone takes the run of fixes within its
    x-range (two binary searches), then keeps those within its y-range: the work follows the
    candidates, not fixes × zones, and stays within one owner's arrays (cache-friendly). Both
    owner arrays are sorted.
    """
    found_f, found_z = [], []
    owners = np.intersect1d(owner, zone_owner)
    f_lo, f_hi = np.searchsorted(owner, owners), np.searchsorted(owner, owners, "right")
    z_lo, z_hi = np.searchsorted(zone_owner, owners), np.searchsorted(zone_owner, owners, "right")
    for f0, f1, z0, z1 in zip(f_lo, f_hi, z_lo, z_hi, strict=True):
        order = np.argsort(x[f0:f1], kind="stable")
        sx = x[f0:f1][order]
        box = zone_box[z0:z1]
        lo = np.searchsorted(sx, box[:, 0])
        counts = np.searchsorted(sx, box[:, 2], "right") - lo
        zone = np.repeat(np.arange(z1 - z0), counts)
        rank = np.arange(len(zone)) - np.repeat(np.cumsum(counts) - counts, counts)
        fix = order[np.repeat(lo, counts) + rank] + f0
        keep = (y[fix] >= box[zone, 1]) & (y[fix] <= box[zone, 3])
        found_f.append(fix[keep])
        found_z.append(zone[keep] + z0)
    if not found_f:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    return np.concatenate(found_f), np.concatenate(found_z)


def zone_seconds(
    owner: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    starts: np.ndarray,
    zone_owner: np.ndarray,
    zones: np.ndarray,
) -> np.ndarray:
    """Seconds each zone holds of its owner's segments (one value per zone).

    Fixes (``owner, t, x, y``, sorted by owner then time, metres) and zones (prepared
    polygons, sorted by owner); ``starts`` are the fixes that begin a segment (the next fix
    ends it). Each fix is tested once in the zones of its owner whose box holds it. A segment
    with both ends in a zone counts whole; with one end in, the share up to the crossing;
    one cutting a zone's corner with both ends outside is not counted (at walking speed
    between two fixes, a few metres).
    """
    return _zone_pass(owner, t, x, y, starts, zone_owner, zones)[0]


def _zone_pass(
    owner: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    starts: np.ndarray,
    zone_owner: np.ndarray,
    zones: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`zone_seconds`, and whether each fix lies in one of its owner's zones."""
    n_zones = len(zones)
    in_zone = np.zeros(len(x), dtype=bool)
    if n_zones == 0 or len(starts) == 0:
        return np.zeros(n_zones), in_zone
    pf, pz = _point_pairs(owner, x, y, zone_owner, shapely.bounds(zones))
    inside = _contains(zones[pz], x[pf], y[pf])
    in_zone[pf[inside]] = True
    member = np.sort(pf[inside] * n_zones + pz[inside])  # (fix, zone) memberships, sorted
    fix, zone = member // n_zones, member % n_zones
    as_start = np.full(len(x), -1, dtype=np.intp)
    as_start[starts] = np.arange(len(starts))
    is_end = np.zeros(len(x), dtype=bool)
    is_end[starts + 1] = True
    # a segment's start in a zone, and whether its end (the next fix) is in the same zone
    a = np.nonzero(as_start[fix] >= 0)[0]
    next_key = (fix[a] + 1) * n_zones + zone[a]
    pos = np.minimum(np.searchsorted(member, next_key), len(member) - 1)
    both = member[pos] == next_key
    seg_both = starts[as_start[fix[a[both]]]]
    seconds = np.bincount(
        zone[a[both]], weights=t[seg_both + 1] - t[seg_both], minlength=n_zones
    ).astype(float)
    # one end in: the start (a without its end), or the end (b whose start is not in)
    a_only = a[~both]
    b = np.nonzero(is_end[fix])[0]
    prev_key = (fix[b] - 1) * n_zones + zone[b]
    pos = np.minimum(np.searchsorted(member, prev_key), len(member) - 1)
    b_only = b[member[pos] != prev_key]
    seg_start = np.concatenate([fix[a_only], fix[b_only] - 1])
    seg_zone = np.concatenate([zone[a_only], zone[b_only]])
    a_in = np.concatenate([np.ones(len(a_only), bool), np.zeros(len(b_only), bool)])
    i = seg_start
    share = _share(zones[seg_zone], x[i], y[i], x[i + 1], y[i + 1], a_in, ~a_in)
    seconds += np.bincount(seg_zone, weights=(t[i + 1] - t[i]) * share, minlength=n_zones)
    return seconds, in_zone


def _segments(owner: np.ndarray, t: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Start indices of segments: the next fix has the same owner and is ≤ ``max_gap_s`` later."""
    gap = np.diff(t)
    return np.nonzero((owner[:-1] == owner[1:]) & (gap > 0) & (gap <= max_gap_s))[0]


@dataclass(frozen=True)
class DayTracks:
    """The usable fixes of one day, sorted by owner then time, positions in metres."""

    owner: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class DayPosts:
    """Each owner's post on one day: zones (sorted by owner), area and shift (epoch seconds)."""

    zone_owner: np.ndarray
    zones: np.ndarray
    areas: np.ndarray  # one polygon per owner index: assigned grids buffered by off_post_m
    shift_start: np.ndarray
    shift_end: np.ndarray
    #: Points along the roads of each zone's grid: x, y, metres each stands for, zone index.
    road_points: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


def road_cover(
    seg_owner: np.ndarray,
    lines: np.ndarray,
    points: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    zone_owner: np.ndarray,
    zones: int,
    buffer_m: float,
) -> np.ndarray:
    """Road metres of each zone within ``buffer_m`` of its owner's segments ``lines``."""
    px, py, weight, zone = points
    covered = np.zeros(zones)
    if len(px) == 0 or len(lines) == 0:
        return covered
    owner = zone_owner[zone]
    order = np.argsort(owner, kind="stable")
    owners = np.intersect1d(seg_owner, owner)
    s_lo, s_hi = np.searchsorted(seg_owner, owners), np.searchsorted(seg_owner, owners, "right")
    sorted_owner = owner[order]
    p_lo = np.searchsorted(sorted_owner, owners)
    p_hi = np.searchsorted(sorted_owner, owners, "right")
    for s0, s1, q0, q1 in zip(s_lo, s_hi, p_lo, p_hi, strict=True):
        tree = shapely.STRtree(lines[s0:s1])
        pick = order[q0:q1]
        hit, _ = tree.query(
            shapely.points(px[pick], py[pick]), predicate="dwithin", distance=buffer_m
        )
        near = pick[np.unique(hit)]
        covered += np.bincount(zone[near], weights=weight[near], minlength=zones)
    return covered


def measure_day(tracks: DayTracks, posts: DayPosts, rule: CoverageRule) -> dict[str, np.ndarray]:
    """Dwell per zone; online, off-post seconds and usable fixes per owner (pure).

    Returns ``dwell`` and ``road_covered_m`` (one value per zone), and ``online_s``,
    ``off_post_s``, ``fixes`` (one value per owner index, ``len(posts.areas)`` long).
    """
    owners = len(posts.areas)
    o, t, x, y = tracks.owner, tracks.t, tracks.x, tracks.y
    i = _segments(o, t, rule.max_gap_s)
    dwell, in_zone = _zone_pass(o, t, x, y, i, posts.zone_owner, posts.zones)
    j = _segments(o, t, rule.online_gap_s)
    owner = o[j]
    start = np.maximum(t[j], posts.shift_start[owner])
    end = np.minimum(t[j + 1], posts.shift_end[owner])
    clipped = np.maximum(end - start, 0.0)
    k = np.nonzero(clipped > 0)[0]
    outside = np.zeros(len(j))
    if len(k):
        # each fix once; one within buffer_m (20 m) of an own grid is within off_post_m
        # (100 m) of the post, when the buffer is the smaller
        in_area = in_zone.copy() if rule.buffer_m <= rule.off_post_m else np.zeros_like(in_zone)
        rest = np.nonzero(~in_area)[0]
        in_area[rest] = _contains(posts.areas[o[rest]], x[rest], y[rest])
        jk = j[k]
        outside[k] = 1.0 - _share(
            posts.areas[owner[k]],
            x[jk],
            y[jk],
            x[jk + 1],
            y[jk + 1],
            in_area[jk],
            in_area[jk + 1],
        )
    roads = None
    if posts.road_points is not None:
        lines = shapely.linestrings(
            np.stack([x[i], y[i], x[i + 1], y[i + 1]], axis=1).reshape(-1, 2, 2)
        )
        roads = road_cover(
            o[i], lines, posts.road_points, posts.zone_owner, len(posts.zones), rule.buffer_m
        )
    return {
        "dwell": dwell,
        "road_covered_m": roads if roads is not None else np.zeros(len(posts.zones)),
        "online_s": np.bincount(owner, weights=clipped, minlength=owners),
        "off_post_s": np.bincount(owner, weights=clipped * outside, minlength=owners),
        "fixes": np.bincount(o, minlength=owners),
    }


# --- reading the database --------------------------------------------------------------------

_ASSIGNED = """
SELECT sg.supervisor_id, d::date AS day, sg.grid_code
FROM supervisor_grids sg
JOIN generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS d
  ON sg.valid_from <= d::date AND (sg.valid_to IS NULL OR sg.valid_to > d::date)
WHERE (CAST(:supervisor AS text) IS NULL OR sg.supervisor_id = :supervisor)
ORDER BY sg.supervisor_id, day, sg.grid_code
"""

_SHIFTS = """
SELECT s.id, s.shift_start, s.shift_end, h.day, h.shift_start AS day_start,
       h.shift_end AS day_end
FROM supervisors s
LEFT JOIN supervisor_shifts h ON h.district_code = s.district_code AND h.supervisor_id = s.id
     AND h.day BETWEEN :first AND :last
WHERE s.id = ANY(:ids)
"""

_GRIDS = """
SELECT district_code, code, version, valid_from, valid_to, community_code, street_code
FROM grids
WHERE code = ANY(:codes) AND (valid_to IS NULL OR valid_to > :t0)
ORDER BY code, valid_from
"""

_GRID_SHAPES = """
SELECT district_code, code, version, ST_AsBinary(geom) AS wkb
FROM grids
WHERE code = ANY(:codes) AND (valid_to IS NULL OR valid_to > :t0)
"""

_FIXES = """
SELECT s.n::int4 AS owner, extract(epoch FROM f.fixed_at)::float8 AS t,
       ST_X(f.geom)::float8 AS lon, ST_Y(f.geom)::float8 AS lat
FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS s(id, n)
JOIN supervisors p ON p.id = s.id
JOIN fixes f ON f.district_code = p.district_code AND f.supervisor_id = p.id
 AND f.fixed_at >= %(t0)s AND f.fixed_at < %(t1)s
WHERE cardinality(f.flags) = 0
"""


def district_centre(conn: Connection) -> tuple[float, float]:
    """Centre (lon, lat) of the current grids' extent: the origin of metric computations."""
    row = conn.execute(
        sa.text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c FROM grids "
            "WHERE valid_to IS NULL) q"
        )
    ).one()
    return (row[0], row[1]) if row[0] is not None else (116.4, 39.9)


class _Shapes:
    """Zones and areas built from grid versions, kept between calls (least recently used out).

    A grid version's geometry never changes (an update inserts a new version), so a zone keyed
    on the version, the projection and the distance is valid as long as it is kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any:
        shape = self.items.get(key)
        if shape is not None:
            self.items.move_to_end(key)
        return shape

    def put(self, key: tuple[Any, ...], shape: Any) -> None:
        self.items[key] = shape
        while len(self.items) > self.size:
            self.items.popitem(last=False)


_SHAPES = _Shapes(60_000)


@dataclass
class _Version:
    key: tuple[str, str, int]  # district, grid code, version: a version's geometry never changes
    valid_from: datetime
    valid_to: datetime | None
    community: str
    street: str
    geom: Any  # shapely polygon, metres


class _Posts:
    """Assignments, shifts and grid geometry of a period, with zones built once per version."""

    def __init__(
        self,
        conn: Connection,
        first: date,
        last: date,
        supervisor: str | None,
        rule: CoverageRule,
        tz: str,
        to_metric: Transformer,
        roads: bool = False,
    ) -> None:
        self.rule, self.tz = rule, tz
        self.assigned: dict[date, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for sup, day, grid in conn.execute(
            sa.text(_ASSIGNED), {"first": first, "last": last, "supervisor": supervisor}
        ):
            self.assigned[day][sup].append(grid)
        self.ids = sorted({s for per_day in self.assigned.values() for s in per_day})
        self.index = {s: n for n, s in enumerate(self.ids)}
        self.first, self.last, self.to_metric, self.with_roads = first, last, to_metric, roads

    def load(self, conn: Connection) -> None:
        """Read the shifts and the grids' shapes of the assigned grids (and the roads)."""
        first, last, tz, to_metric, roads = (
            self.first,
            self.last,
            self.tz,
            self.to_metric,
            self.with_roads,
        )
        self.default_shift: dict[str, tuple[time, time]] = {}
        self.day_shift: dict[tuple[str, date], tuple[time, time]] = {}
        for r in conn.execute(
            sa.text(_SHIFTS), {"ids": self.ids, "first": first, "last": last}
        ).mappings():
            self.default_shift[r["id"]] = (r["shift_start"], r["shift_end"])
            if r["day"] is not None:
                self.day_shift[(r["id"], r["day"])] = (r["day_start"], r["day_end"])
        codes = sorted({g for d in self.assigned.values() for gs in d.values() for g in gs})
        t0, _ = day_bounds(first, tz)
        self.versions: dict[str, list[_Version]] = defaultdict(list)
        self.projection = str(to_metric.target_crs)
        rows = conn.execute(sa.text(_GRIDS), {"codes": codes, "t0": t0}).all()
        shapes = {
            key: _SHAPES.get(("grid", self.projection, key))
            for key in ((g.district_code, g.code, g.version) for g in rows)
        }
        missing = sorted({key[1] for key, shape in shapes.items() if shape is None})
        if missing:  # grid versions are immutable: their projected shapes are kept
            found = conn.execute(sa.text(_GRID_SHAPES), {"codes": missing, "t0": t0}).all()
            geoms = shapely.from_wkb([bytes(g.wkb) for g in found])
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(to_metric.transform(*xy.T)))
            for g, geom in zip(found, shapely.make_valid(geoms), strict=True):
                key = (g.district_code, g.code, g.version)
                shapes[key] = geom
                _SHAPES.put(("grid", self.projection, key), geom)
        for g in rows:
            key = (g.district_code, g.code, g.version)
            self.versions[g.code].append(
                _Version(
                    key, g.valid_from, g.valid_to, g.community_code, g.street_code, shapes[key]
                )
            )
        self._samples: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.roads: Any = None
        if roads:
            wkb = conn.execute(sa.text("SELECT ST_AsBinary(geom) FROM roads")).scalars().all()
            lines = shapely.from_wkb([bytes(w) for w in wkb])
            if len(lines):
                lines = shapely.transform(
                    lines, lambda xy: np.column_stack(to_metric.transform(*xy.T))
                )
            self.roads = shapely.STRtree(lines)

    def road_samples(self, version: _Version) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points every ~``ROAD_STEP_M`` along the roads inside the grid, and their metres."""
        key = id(version)
        if key not in self._samples:
            near = self.roads.geometries[self.roads.query(version.geom)]
            parts = shapely.get_parts(shapely.intersection(near, version.geom))
            parts = parts[shapely.get_type_id(parts) == 1]  # line pieces; touching points go
            length = shapely.length(parts)
            count = np.maximum(np.ceil(length / ROAD_STEP_M), 1).astype(int)
            which = np.repeat(np.arange(len(parts)), count)
            rank = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
            step = (length / count)[which]
            points = shapely.line_interpolate_point(parts[which], (rank + 0.5) * step)
            self._samples[key] = (shapely.get_x(points), shapely.get_y(points), step)
        return self._samples[key]

    def version(self, code: str, day: date) -> _Version | None:
        """The grid's version valid on ``day`` (the latest that started before its end).

        A day before the grid's first version (grids drawn after the fact, for a period
        already patrolled) takes that first version.
        """
        start, end = day_bounds(day, self.tz)
        versions = self.versions.get(code, [])
        valid = [
            v for v in versions if v.valid_from < end and (v.valid_to is None or v.valid_to > start)
        ]
        if valid:
            return valid[-1]
        later = [v for v in versions if v.valid_from >= end]
        return later[0] if later else None

    def _zone(self, version: _Version) -> Any:
        key = ("zone", self.projection, self.rule.buffer_m, version.key)
        zone = _SHAPES.get(key)
        if zone is None:
            zone = shapely.buffer(version.geom, self.rule.buffer_m, quad_segs=4)
            shapely.prepare(zone)
            _SHAPES.put(key, zone)
        return zone

    def _area(self, versions: list[_Version]) -> Any:
        key = (
            "area",
            self.projection,
            self.rule.off_post_m,
            tuple(sorted(v.key for v in versions)),
        )
        area = _SHAPES.get(key)
        if area is None:
            geoms = [v.geom for v in versions]
            union = shapely.coverage_union_all(geoms)  # grids tile: edges are shared exactly
            if not shapely.is_valid(union):
                union = shapely.union_all(geoms)
            area = shapely.buffer(union, self.rule.off_post_m, quad_segs=4)
            shapely.prepare(area)
            _SHAPES.put(key, area)
        return area

    def shift(self, supervisor: str, day: date) -> tuple[float, float]:
        """The shift of ``supervisor`` on ``day`` as epoch seconds."""
        start, end = self.day_shift.get((supervisor, day)) or self.default_shift.get(
            supervisor, (time(8), time(18))
        )
        zone = ZoneInfo(self.tz)
        return (
            datetime.combine(day, start, zone).timestamp(),
            datetime.combine(day, end, zone).timestamp(),
        )

    def of_day(self, day: date) -> tuple[DayPosts, list[tuple[str, str, _Version]]]:
        """The posts of ``day`` and, per zone, (supervisor, grid code, version)."""
        owners = len(self.ids)
        zone_owner, zones, keys = [], [], []
        areas = np.array([shapely.Polygon()] * owners, dtype=object)
        starts, ends = np.zeros(owners), np.zeros(owners)
        for sup, grids in sorted(self.assigned.get(day, {}).items()):
            n = self.index[sup]
            starts[n], ends[n] = self.shift(sup, day)
            versions = []
            for code in grids:
                version = self.version(code, day)
                if version is None:
                    continue
                versions.append(version)
                zone_owner.append(n)
                zones.append(self._zone(version))
                keys.append((sup, code, version))
            if versions:
                areas[n] = self._area(versions)
        road_points = None
        if self.roads is not None:
            samples = [self.road_samples(version) for _, _, version in keys]
            road_points = (
                np.concatenate([p[0] for p in samples] or [np.zeros(0)]),
                np.concatenate([p[1] for p in samples] or [np.zeros(0)]),
                np.concatenate([p[2] for p in samples] or [np.zeros(0)]),
                np.repeat(np.arange(len(samples)), [len(p[0]) for p in samples]).astype(np.intp),
            )
        posts = DayPosts(
            np.array(zone_owner, dtype=np.intp),
            np.array(zones, dtype=object),
            areas,
            starts,
            ends,
            road_points,
        )
        return posts, keys


def read_day_tracks(
    conn: Connection, ids: list[str], day: date, tz: str, to_metric: Transformer
) -> DayTracks:
    """The usable fixes of ``ids`` on local ``day``, sorted by owner (index in ``ids``), time."""
    t0, t1 = day_bounds(day, tz)
    cols = read_columns(
        conn,
        _FIXES,
        {"ids": ids, "t0": t0, "t1": t1},
        [("owner", "int4"), ("t", "float8"), ("lon", "float8"), ("lat", "float8")],
    )
    order = np.lexsort((cols["t"], cols["owner"]))
    x, y = to_metric.transform(cols["lon"][order], cols["lat"][order])
    return DayTracks(
        (cols["owner"][order] - 1).astype(np.intp), cols["t"][order], np.asarray(x), np.asarray(y)
    )


def metric_transformer(conn: Connection) -> Transformer:
    """WGS84 → metres around the district's centre (always lon, lat order)."""
    return Transformer.from_crs(
        "EPSG:4326", local_metric_proj4(*district_centre(conn)), always_xy=True
    )


def patrol_days(
    conn: Connection,
    first: date,
    last: date,
    *,
    supervisor: str | None = None,
    rule: CoverageRule = CoverageRule(),
    tz: str = "Asia/Shanghai",
    roads: bool = False,
    progress: Progress | None = None,
) -> list[SupervisorDay]:
    """Every supervisor-day of ``first``..``last`` (local days) on which grids were assigned.

    Each has the seconds spent within the buffer of every assigned grid (0 when never near),
    the shift's length, the online and off-post seconds within the shift, and the usable fixes;
    with ``roads``, the road metres of each grid and those within the buffer of the track.
    """
    report = progress or (lambda stage, fraction: None)
    to_metric = metric_transformer(conn)
    posts = _Posts(conn, first, last, supervisor, rule, tz, to_metric, roads=roads)
    out: list[SupervisorDay] = []
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    days = [d for d in days if posts.assigned.get(d)]
    if not days:
        report("done", 1.0)
        return out
    # The next day's fixes are read on a second connection while this one's are measured:
    # the database works on one core while Python computes on the other.
    with conn.engine.connect() as side, ThreadPoolExecutor(1) as reader:
        pending = reader.submit(read_day_tracks, side, posts.ids, days[0], tz, to_metric)
        posts.load(conn)
        for k, day in enumerate(days):
            report(f"patrol {day.isoformat()}", k / len(days))
            day_posts, keys = posts.of_day(day)
            tracks = pending.result()
            if k + 1 < len(days):
                pending = reader.submit(
                    read_day_tracks, side, posts.ids, days[k + 1], tz, to_metric
                )
            measured = measure_day(tracks, day_posts, rule)
            out += _supervisor_days(posts, day, day_posts, keys, measured, roads)
    report("done", 1.0)
    return out


def _supervisor_days(
    posts: _Posts,
    day: date,
    day_posts: DayPosts,
    keys: list[tuple[str, str, _Version]],
    measured: dict[str, np.ndarray],
    roads: bool,
) -> list[SupervisorDay]:
    """The measures of one day as :class:`SupervisorDay` objects."""
    out: list[SupervisorDay] = []
    per_owner: dict[str, SupervisorDay] = {}
    for sup in sorted(posts.assigned[day]):
        n = posts.index[sup]
        per_owner[sup] = SupervisorDay(
            supervisor_id=sup,
            day=day,
            shift_s=float(day_posts.shift_end[n] - day_posts.shift_start[n]),
            online_s=round(float(measured["online_s"][n]), 1),
            off_post_s=round(float(measured["off_post_s"][n]), 1),
            fixes=int(measured["fixes"][n]),
        )
        out.append(per_owner[sup])
    for z, (sup, code, version) in enumerate(keys):
        per_owner[sup].dwell[code] = round(float(measured["dwell"][z]), 1)
        per_owner[sup].units[code] = (version.community, version.street)
        if roads:
            total = float(posts.road_samples(version)[2].sum())
            covered = float(measured["road_covered_m"][z])
            per_owner[sup].roads[code] = (round(total, 1), round(min(covered, total), 1))
    return out


def grid_dwell(
    conn: Connection,
    first: date,
    last: date,
    *,
    rule: CoverageRule = CoverageRule(),
    tz: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Per supervisor, day and assigned grid: seconds within the buffer, and whether patrolled.

    Every assigned grid of every day of ``first``..``last`` (local days) has a row, with 0 s
    when the supervisor never came near it.
    """
    return [
        {
            "supervisor_id": d.supervisor_id,
            "day": d.day,
            "grid_code": code,
            "dwell_s": seconds,
            "patrolled": seconds >= rule.min_dwell_s,
        }
        for d in patrol_days(conn, first, last, rule=rule, tz=tz)
        for code, seconds in sorted(d.dwell.items())
    ]


def grid_visits(
    conn: Connection,
    first: date,
    last: date,
    *,
    supervisor: str | None = None,
    rule: CoverageRule = CoverageRule(),
    tz: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    """Each assigned grid over ``first``..``last``: days assigned, days patrolled, dwell.

    ``visits`` counts the days on which the grid was patrolled (the rule of
    :func:`patrol_days`); ``dwell_s`` sums the seconds within the buffer; a grid with no visit
    in the period is ``never_patrolled``.
    """
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for d in patrol_days(conn, first, last, supervisor=supervisor, rule=rule, tz=tz):
        for code, seconds in d.dwell.items():
            key = (d.supervisor_id, code)
            entry = totals.setdefault(
                key,
                {
                    "supervisor_id": key[0],
                    "grid_code": key[1],
                    "days_assigned": 0,
                    "visits": 0,
                    "dwell_s": 0.0,
                },
            )
            entry["days_assigned"] += 1
            entry["visits"] += int(seconds >= rule.min_dwell_s)
            entry["dwell_s"] = round(entry["dwell_s"] + seconds, 1)
    return [{**totals[k], "never_patrolled": totals[k]["visits"] == 0} for k in sorted(totals)]
