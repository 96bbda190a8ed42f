"""Realistic synthetic cases (案件) for a demo district (DOMAIN.md §2, §3, §4, §8).

:func:`build_cases` draws the cases of a span of months in the column contract of the case
import (DOMAIN.md §3), without a database. Everything is vectorised with numpy and drawn from
one ``numpy.random.default_rng(seed)``: one seed, one frame.

1. **Source**: the mix of DOMAIN.md §8 (district supervisors 55 %, city supervisors 13 %,
   grid workers 15 %, hotline 8 %, public 5 %, community 3.5 %, satellite 0.5 %).
2. **Registration**: a day (weekdays 1.3× weekends, a mild season and trend; satellite cases in
   batches on the 5th–10th of each month), then an hour from a working-hours profile (peaks
   9–11 and 14–16); hotline and public reports also come in the evening and at night.
3. **Subclass**: 7 % component cases; events from a Zipf-like mix of the catalogue's common
   subclasses, skewed to nuisance complaints for hotline and public cases; satellite cases are
   illegal building or dust (06001, 08016, 08004).
4. **Place**, in EPSG:4543 metres: along roads (segments weighted by length × class, 0–40 m
   off the centre line), around 8–15 hotspots (markets, schools, …; σ 60–100 m, own subclass
   mix), at chronic spots (one subclass each, σ 8 m: the repeat cases of §4) or uniform. A
   point is kept only when its rounded EPSG:4326 position lies inside a community of the
   district (hence inside a grid); the others are drawn again.
5. **Workflow**: dispatch 5–40 min after registration (urgent 2–10, grid workers' own cases
   1–5), handling within a per-subclass deadline (~8 % late), verification 20–120 min and
   closure 0–60 min later; reworks, extensions and returns as §4 counts them. Nothing
   happens after the end of the span: a case not finished by then stays open. ``due_at`` is
   a deadline and may lie after the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geogrid.demo.case_mix import (
    CATALOGUE,
    CITIZEN_HOURS,
    CITIZENS,
    COMPLAINTS,
    COMPONENT_STATES,
    COMPONENTS,
    EVENTS,
    HOTSPOTS,
    PLACE_SHARES,
    ROAD_WEIGHT,
    SATELLITE,
    SATISFACTION,
    SOURCES,
    STEPS,
    STREET,
    WORK_HOURS,
)
from geogrid.demo.district import PROJECTED_CRS, STORAGE_CRS, DemoDistrict
from geogrid.errors import InvalidParameter

Progress = Callable[[int, int], None]
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
# where an event case happens: along a road, at a hotspot, at a chronic spot, anywhere; components
_ROAD, _HOTSPOT, _SPOT, _UNIFORM, _COMPONENT = range(5)
TIME_ZONE = "Asia/Shanghai"
COLUMNS = (
    "case_id", "source", "platform", "case_type", "major_class", "sub_class", "description",
    "lon", "lat", "department", "urgency", "reported_at", "registered_at", "dispatched_at",
    "handled_at", "verified_at", "closed_at", "due_at", "rework_count", "extended",
    "returned_count", "satisfaction",
)  # fmt: skip
STAMPS = ("reported_at", "registered_at", "dispatched_at", "handled_at", "verified_at", "closed_at")


def build_cases(
    district: DemoDistrict,
    *,
    count: int,
    end: date,
    months: int = 12,
    seed: int = 0,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Draw ``count`` realistic cases of a demo district (DOMAIN.md §3, §8).

    Parameters
    ----------
    district : DemoDistrict
        What :func:`geogrid.demo.build_district` returned (EPSG:4326 frames).
    count : int
        Number of cases (rows), at least 1.
    end : datetime.date
        Last day of the span; the span is the ``months`` months ending on ``end`` 23:59:59
        (Asia/Shanghai): 2026-10-31 and 12 months give 2025-11-01 00:00 to 2026-10-31 23:59:59.
    months : int
        Length of the span in months, at least 1.
    seed : int
        Seed of every random choice; the same district and seed give the same frame.
    progress : callable, optional
        Called as ``progress(done, total)`` after each of ``total`` stages.

    Returns
    -------
    pandas.DataFrame
        One row per case, sorted by ``registered_at``, with the :data:`COLUMNS`: text columns,
        ``lon``/``lat`` in EPSG:4326 (7 decimals), timestamps ``datetime64[ns, Asia/Shanghai]``
        (NaT for a step not reached by the end of the span), ``rework_count`` and
        ``returned_count`` int64, ``extended`` bool, ``satisfaction`` 满意 / 基本满意 / 不满意
        for most closed hotline and public cases, else missing.

    Raises
    ------
    InvalidParameter
        When ``count`` or ``months`` is below 1.
    """
    if count < 1 or months < 1:
        raise InvalidParameter(f"count ({count}) and months ({months}) must be at least 1.")
    report = progress or (lambda done, total: None)
    rng = np.random.default_rng(seed)
    first = (pd.Timestamp(end) + pd.Timedelta(days=1) - pd.DateOffset(months=months)).date()
    span = (_seconds(first), _seconds(end) + _DAY - 1)

    source = _pick(rng, np.array([w for _, w in SOURCES]), count)
    registered = _registration(rng, source, first, (span[1] + 1 - span[0]) // _DAY)
    order = np.argsort(registered, kind="stable")
    source, registered = source[order], registered[order]
    names = np.array([name for name, _ in SOURCES], dtype=object)[source]
    citizen = np.isin(names, CITIZENS)
    report(1, STEPS)

    layout = _Layout(district, rng, count)
    sub, kind, hotspot, spot = _subclasses(rng, layout, names == "satellite", citizen)
    report(2, STEPS)
    lon, lat, street, place = layout.place(rng, kind, hotspot, spot)
    report(3, STEPS)

    departments = sorted({row[4] for row in CATALOGUE} - {STREET})
    fixed = np.array([departments.index(r[4]) if r[4] != STREET else -1 for r in CATALOGUE])
    dept = np.where(fixed[sub] >= 0, fixed[sub], len(departments) + street)
    departments += [f"{name}办事处" for name in layout.street_names]
    dept_factor = rng.lognormal(0.0, 0.4, len(departments))
    urgent = rng.random(count) < np.where(sub >= len(EVENTS), 0.12, 0.045)
    stamps, columns = _workflow(
        rng, registered, span, sub, urgent, names == "grid_worker", dept_factor[dept]
    )
    report(4, STEPS)

    platform = (names == "city_supervisor") | ((names == "hotline") & (rng.random(count) < 0.8))
    frame = pd.DataFrame(
        {
            "case_id": _case_ids(registered),
            "source": names,
            "platform": np.where(platform, "city", "district").astype(object),
            "case_type": np.where(sub >= len(EVENTS), "component", "event").astype(object),
            "major_class": np.array([r[0][:2] for r in CATALOGUE], dtype=object)[sub],
            "sub_class": np.array([r[0] for r in CATALOGUE], dtype=object)[sub],
            "description": _descriptions(rng, layout, sub, place),
            "lon": lon,
            "lat": lat,
            "department": np.array(departments, dtype=object)[dept],
            "urgency": np.where(urgent, "urgent", "normal").astype(object),
            **{name: _timestamps(*stamps[name]) for name in (*STAMPS, "due_at")},
            **columns,
            "satisfaction": _satisfaction(rng, citizen & stamps["closed_at"][1]),
        }
    )
    report(5, STEPS)
    return frame


def _seconds(day: date) -> int:
    """Seconds from 1970-01-01 00:00 to the start of ``day``, both local wall time."""
    return int(np.datetime64(day, "D").astype("datetime64[s]").astype(np.int64))


def _pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probability proportional to ``weights``."""
    cumulative = np.cumsum(weights, dtype=float)
    drawn = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return np.minimum(drawn, len(weights) - 1)


def _mix(weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Catalogue rows and weights of a subclass mix keyed by code."""
    codes = [row[0] for row in CATALOGUE]
    return np.array([codes.index(c) for c in weights]), np.array([*weights.values()], float)


def _wall_clock_hours(deadline: str) -> float:
    """A working-time deadline in wall-clock hours: 5 wh ≈ 8 h, 1 wd ≈ 24 h, 15 wd ≈ 21 days."""
    value = int(deadline[:-2])
    if deadline.endswith("wh"):
        return value * 8 / 5
    return 24.0 * (1 if value == 1 else round(value * 7 / 5))


def _registration(
    rng: np.random.Generator, source: np.ndarray, first: date, days: int
) -> np.ndarray:
    """Registration times (local seconds): weekly, daily and seasonal rhythms per channel."""
    day = np.arange(days) + np.datetime64(first, "D")
    working = (day.astype(np.int64) + 3) % 7 < 5  # 1970-01-01 was a Thursday
    day_of_year = (day - day.astype("datetime64[Y]")).astype(np.int64)
    day_of_month = (day - day.astype("datetime64[M]")).astype(np.int64) + 1
    base = 1 + 0.12 * np.sin(2 * np.pi * (day_of_year - 105) / 365.25)  # rainy-season peak
    base *= 1 + 0.08 * np.arange(days) / days
    batch = working & (day_of_month >= 5) & (day_of_month <= 10)
    names = [name for name, _ in SOURCES]
    citizens = np.isin(source, [names.index(n) for n in CITIZENS])
    satellite = source == names.index("satellite")
    groups = (
        (~citizens & ~satellite, base * np.where(working, 1.3, 1.0), WORK_HOURS),
        (citizens, base * np.where(working, 1.1, 1.0), CITIZEN_HOURS),
        (satellite, base * (batch if batch.any() else 1.0), WORK_HOURS),
    )
    seconds = np.empty(source.size, dtype=np.int64)
    for rows, day_weights, hours in groups:
        n = int(rows.sum())
        offset = _pick(rng, day_weights, n) * _DAY + _pick(rng, np.array(hours), n) * _HOUR
        seconds[rows] = _seconds(first) + offset + rng.integers(0, _HOUR, n)
    return seconds


def _subclasses(
    rng: np.random.Generator, layout: _Layout, satellite: np.ndarray, citizen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Catalogue row, place kind, hotspot and chronic spot of each case.

    7 % component cases along roads (15 % anywhere); events along roads, at hotspots (70 % from
    the hotspot's own mix), at a chronic spot (its subclass) or anywhere (DOMAIN.md §2, §4).
    """
    n = satellite.size
    weights = np.array([row[2] for row in EVENTS], dtype=float)
    complaint = weights * np.array([COMPLAINTS.get(row[0], 1.0) for row in EVENTS])
    sub = np.where(citizen, _pick(rng, complaint, n), _pick(rng, weights, n))
    component = (rng.random(n) < 0.07) & ~satellite
    parts = _pick(rng, np.array([r[2] for r in COMPONENTS], dtype=float), n)
    sub = np.where(component, len(EVENTS) + parts, sub)
    satellite_codes, satellite_weights = _mix(SATELLITE)
    sub = np.where(satellite, satellite_codes[_pick(rng, satellite_weights, n)], sub)
    kind = _pick(rng, np.array(PLACE_SHARES), n)
    kind = np.where(satellite, _UNIFORM, kind)
    kind = np.where(component, np.where(rng.random(n) < 0.85, _COMPONENT, _UNIFORM), kind)

    hotspot = _pick(rng, layout.hotspot_weight, n)
    own = (kind == _HOTSPOT) & (rng.random(n) < 0.7)
    for h, (mix_codes, mix_weights) in enumerate(layout.hotspot_mix):
        rows = np.flatnonzero(own & (hotspot == h))
        sub[rows] = mix_codes[_pick(rng, mix_weights, rows.size)]
    spot = _pick(rng, layout.spot_weight, n)
    sub = np.where(kind == _SPOT, layout.spot_sub[spot], sub)
    return sub, kind, hotspot, spot


class _Layout:
    """Where cases happen: road segments, hotspots and chronic spots in EPSG:4543 metres."""

    def __init__(self, district: DemoDistrict, rng: np.random.Generator, count: int) -> None:
        roads = district.roads.to_crs(PROJECTED_CRS)
        xy, line = shapely.get_coordinates(roads.geometry.values, return_index=True)
        same = line[1:] == line[:-1]
        self.start, self.delta, self.road = xy[:-1][same], (xy[1:] - xy[:-1])[same], line[1:][same]
        self.length = np.hypot(self.delta[:, 0], self.delta[:, 1])
        road_class = roads["road_class"].to_numpy()
        self.alley = road_class[self.road] == "alley"
        self.road_weight = self.length * np.array([ROAD_WEIGHT[c] for c in road_class])[self.road]
        self.bounds = roads.total_bounds
        self.road_names: list[str] = roads["name"].tolist()
        self.streets = district.streets.geometry.values
        self.street_names: list[str] = district.streets["name"].tolist()
        self.communities = district.communities.geometry.values
        self.community_names: list[str] = district.communities["name"].tolist()
        street_codes = district.streets["code"].tolist()
        self.community_street = np.array(
            [street_codes.index(c) for c in district.communities["street_code"]]
        )
        shapely.prepare(self.streets)
        shapely.prepare(self.communities)
        self.to_storage = Transformer.from_crs(PROJECTED_CRS, STORAGE_CRS, always_xy=True)

        kinds = ["market", "school", *rng.choice(list(HOTSPOTS), int(rng.integers(6, 14)))]
        busy = np.where(self.alley, 0.0, self.length)
        self.hotspot_centre, road = self._road_side(rng, len(kinds), busy, (30.0, 60.0))
        community = self._locate(*self._storage(self.hotspot_centre))[1]
        self.hotspot_sigma = np.array([HOTSPOTS[k][1] for k in kinds], dtype=float)
        self.hotspot_weight = rng.lognormal(0.0, 0.5, len(kinds))
        self.hotspot_names = [
            HOTSPOTS[k][0].format(
                c=self.community_names[c].removesuffix("社区"), r=self.road_names[r]
            )
            for k, c, r in zip(kinds, community, road, strict=True)
        ]
        self.hotspot_mix = [_mix(HOTSPOTS[k][2]) for k in kinds]
        spots = max(12, count // 400)
        self.spot_centre, self.spot_road = self._road_side(rng, spots, self.road_weight, (0, 20))
        self.spot_weight = rng.lognormal(0.0, 0.8, spots)
        self.spot_sub = _pick(rng, np.array([r[2] for r in EVENTS], dtype=float), spots)

    @property
    def place_names(self) -> list[str]:
        """Names of the places cases refer to: roads, then hotspots, then communities."""
        return [*self.road_names, *self.hotspot_names, *self.community_names]

    def _along(
        self, rng: np.random.Generator, segment: np.ndarray, offset: np.ndarray
    ) -> np.ndarray:
        """Points at random along ``segment``, ``offset`` metres to a random side."""
        along = rng.random(segment.size)
        unit = self.delta[segment] / self.length[segment, None]
        side = np.where(rng.random(segment.size) < 0.5, -offset, offset)
        x = self.start[segment, 0] + along * self.delta[segment, 0] - side * unit[:, 1]
        y = self.start[segment, 1] + along * self.delta[segment, 1] + side * unit[:, 0]
        return np.column_stack((x, y))

    def _road_side(
        self, rng: np.random.Generator, n: int, weight: np.ndarray, offset: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points inside the district beside roads (segments by ``weight``), and roads."""
        xy, road = np.empty((n, 2)), np.empty(n, dtype=np.int64)
        todo = np.arange(n)
        while todo.size:
            segment = _pick(rng, weight, todo.size)
            xy[todo] = self._along(rng, segment, rng.uniform(*offset, todo.size))
            road[todo] = self.road[segment]
            todo = todo[self._locate(*self._storage(xy[todo]))[1] < 0]
        return xy, road

    def _storage(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = self.to_storage.transform(xy[:, 0], xy[:, 1])
        return np.round(lon, 7), np.round(lat, 7)

    def place(
        self, rng: np.random.Generator, kind: np.ndarray, hotspot: np.ndarray, spot: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Lon, lat (EPSG:4326, 7 decimals), street and place name (:attr:`place_names`).

        Points whose rounded position lies in no community are drawn again, so every point
        lies inside a grid of the district.
        """
        n = kind.size
        lon, lat = np.empty(n), np.empty(n)
        street, place = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        todo = np.arange(n)
        for _ in range(200):
            xy, name = self._draw(rng, kind[todo], hotspot[todo], spot[todo])
            x, y = self._storage(xy)
            s, c = self._locate(x, y)
            name = np.where(name < 0, len(self.road_names) + len(self.hotspot_names) + c, name)
            ok, rows = c >= 0, todo[c >= 0]
            lon[rows], lat[rows], street[rows], place[rows] = x[ok], y[ok], s[ok], name[ok]
            todo = todo[~ok]
            if not todo.size:
                return lon, lat, street, place
        raise AssertionError("demo cases keep falling outside the district")

    def _draw(
        self, rng: np.random.Generator, kind: np.ndarray, hotspot: np.ndarray, spot: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate points (metres) and place names (-1: the community, known later)."""
        n = kind.size
        xy, name = np.empty((n, 2)), np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero((kind == _ROAD) | (kind == _COMPONENT))
        segment = _pick(rng, self.road_weight, rows.size)
        spread = np.abs(rng.normal(0.0, 1.0, rows.size))
        offset = np.where(self.alley[segment], 2 + 8 * spread, 3 + 15 * spread).clip(max=40)
        offset = np.where(kind[rows] == _COMPONENT, (1 + 5 * spread).clip(max=15), offset)
        xy[rows], name[rows] = self._along(rng, segment, offset), self.road[segment]
        rows = np.flatnonzero(kind == _HOTSPOT)
        sigma = self.hotspot_sigma[hotspot[rows], None]
        xy[rows] = self.hotspot_centre[hotspot[rows]] + rng.normal(0.0, 1.0, (rows.size, 2)) * sigma
        name[rows] = len(self.road_names) + hotspot[rows]
        rows = np.flatnonzero(kind == _SPOT)
        xy[rows] = self.spot_centre[spot[rows]] + rng.normal(0.0, 8.0, (rows.size, 2))
        name[rows] = self.spot_road[spot[rows]]
        rows = np.flatnonzero(kind == _UNIFORM)
        x0, y0, x1, y1 = self.bounds
        xy[rows] = rng.uniform((x0, y0), (x1, y1), (rows.size, 2))
        return xy, name

    def _locate(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Street and community index of each point (-1 outside), bounding boxes first."""
        street, community = np.full(lon.size, -1), np.full(lon.size, -1)
        for s, geom in enumerate(self.streets):
            rows = _in_bounds(geom, lon, lat, street < 0)
            rows = rows[shapely.contains_xy(geom, lon[rows], lat[rows])]
            street[rows] = s
            for c in np.flatnonzero(self.community_street == s):
                mine = rows[_in_bounds(self.communities[c], lon[rows], lat[rows])]
                community[mine[shapely.contains_xy(self.communities[c], lon[mine], lat[mine])]] = c
        return street, community


def _in_bounds(
    geom: shapely.Geometry, x: np.ndarray, y: np.ndarray, among: np.ndarray | bool = True
) -> np.ndarray:
    """Indices of the points (``among`` those flagged) inside the bounding box of ``geom``."""
    x0, y0, x1, y1 = geom.bounds
    return np.flatnonzero(among & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def _workflow(
    rng: np.random.Generator,
    registered: np.ndarray,
    span: tuple[int, int],
    sub: np.ndarray,
    urgent: np.ndarray,
    grid_worker: np.ndarray,
    dept_factor: np.ndarray,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """Workflow stamps (local seconds, present) and counters of each case (DOMAIN.md §3, §4).

    About 8 % of cases close after due (more for reworked cases and slow departments); grid
    workers handle their own cases within the hour. A step later than the end of the span
    did not happen; 0.5 % of cases older than 10 days are stuck before handling.
    """
    n = registered.size
    hours = np.array([_wall_clock_hours(row[3]) for row in CATALOGUE])[sub]
    deadline = (np.where(urgent, hours / 2, hours) * _HOUR).astype(np.int64)
    reported = np.maximum(registered - rng.integers(_MINUTE, 30 * _MINUTE + 1, n), span[0])
    delay = np.where(urgent, rng.integers(120, 601, n), rng.integers(300, 2401, n))
    delay = np.where(grid_worker, rng.integers(60, 301, n), delay)
    returned = rng.random(n) < 0.015
    dispatched = registered + delay + returned * rng.integers(_HOUR, 8 * _HOUR + 1, n)
    extended = rng.random(n) < 0.02
    due = registered + np.where(extended, 2, 1) * deadline
    rework = np.where(rng.random(n) < 0.04, np.where(rng.random(n) < 0.15, 2, 1), 0)
    verify = rng.integers(20 * _MINUTE, 120 * _MINUTE + 1, n)
    close = rng.integers(0, _HOUR + 1, n)
    budget = due - dispatched - verify - close
    risk = 0.07 * dept_factor * np.where(rework > 0, 3.0, 1.0) * np.where(grid_worker, 0.3, 1.0)
    late = rng.random(n) < risk.clip(max=0.9)
    slow = (rework > 0) | extended
    handling = np.where(slow, rng.beta(3.0, 1.5, n), rng.beta(1.3, 3.0, n)) * budget
    quick = rng.lognormal(np.log(40 * _MINUTE), 0.7, n)
    handling = np.where(grid_worker & ~late, np.minimum(handling, quick), handling)
    excess = deadline * rng.lognormal(np.log(0.25), 0.8, n) + 10 * _MINUTE
    handling = np.where(late, budget + excess, handling)
    handled = dispatched + np.maximum(handling, 10 * _MINUTE).astype(np.int64)
    verified = handled + verify
    closed = verified + close

    stuck = (rng.random(n) < 0.005) & (registered < span[1] - 10 * _DAY)
    has_dispatched = dispatched <= span[1]
    has_handled = has_dispatched & (handled <= span[1]) & ~stuck
    has_verified = has_handled & (verified <= span[1])
    has_closed = has_verified & (closed <= span[1])
    everywhere = np.ones(n, dtype=bool)
    stamps = {
        "reported_at": (reported, everywhere),
        "registered_at": (registered, everywhere),
        "dispatched_at": (dispatched, has_dispatched),
        "handled_at": (handled, has_handled),
        "verified_at": (verified, has_verified),
        "closed_at": (closed, has_closed),
        "due_at": (due, everywhere),
    }
    columns = {
        "rework_count": np.where(has_handled, rework, 0).astype(np.int64),
        "extended": extended,
        "returned_count": (returned & has_dispatched).astype(np.int64),
    }
    return stamps, columns


def _timestamps(seconds: np.ndarray, present: np.ndarray) -> pd.DatetimeIndex:
    """Local wall-clock seconds as tz-aware Asia/Shanghai timestamps, NaT where absent."""
    nanoseconds = np.where(present, seconds * 1_000_000_000, np.iinfo(np.int64).min)
    return pd.DatetimeIndex(nanoseconds.view("datetime64[ns]")).tz_localize(TIME_ZONE)


def _case_ids(registered: np.ndarray) -> np.ndarray:
    """``C`` + registration date (yyyymmdd) + sequence in the day; ``registered`` is sorted."""
    day = registered // _DAY
    sequence = np.arange(day.size) - np.searchsorted(day, day, side="left") + 1
    days, index = np.unique(day, return_inverse=True)
    prefixes = np.array([f"C{d.astype(date):%Y%m%d}" for d in days.astype("datetime64[D]")])
    width = max(5, len(str(int(sequence.max()))))
    return np.strings.add(prefixes[index], np.strings.zfill(sequence.astype(str), width))


def _descriptions(
    rng: np.random.Generator, layout: _Layout, sub: np.ndarray, place: np.ndarray
) -> np.ndarray:
    """Short descriptions: 彩云路暴露垃圾, 小营农贸市场周边占道经营, 春融路雨水箅子缺失."""
    states = len(COMPONENT_STATES)
    state = np.where(sub >= len(EVENTS), rng.integers(0, states, sub.size), 0)
    key = (place * len(CATALOGUE) + sub) * states + state
    keys, index = np.unique(key, return_inverse=True)
    names = layout.place_names
    texts = []
    for k in keys.tolist():
        where, rest = divmod(k, len(CATALOGUE) * states)
        code, status = divmod(rest, states)
        hotspot = len(layout.road_names) <= where < len(names) - len(layout.community_names)
        status_text = COMPONENT_STATES[status] if code >= len(EVENTS) else ""
        texts.append(f"{names[where]}{'周边' if hotspot else ''}{CATALOGUE[code][1]}{status_text}")
    return np.array(texts, dtype=object)[index]


def _satisfaction(rng: np.random.Generator, asked: np.ndarray) -> np.ndarray:
    """满意 75 %, 基本满意 17 %, 不满意 8 % of the cases ``asked``; 10 % of those do not answer."""
    answer = np.array(["满意", "基本满意", "不满意"], dtype=object)[
        _pick(rng, SATISFACTION, asked.size)
    ]
    answer[~asked | (rng.random(asked.size) < 0.1)] = None
    return answer
