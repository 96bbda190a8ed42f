"""Synthetic supervisors (监督员) and their GPS tracks for a demo district (DOMAIN.md §5, §8).

:func:`build_patrol` draws them without a database; :func:`geogrid.demo.load.load_demo_patrol`
writes them. Everything is drawn from seeded ``numpy`` generators: one seed, one patrol.

1. **Assignments** (定岗): the district's grids are cut into contiguous areas of equal grid
   counts by recursive bisection of their centres along the longer side, so each area is a
   compact block. S001 is in the north-west; every 5th supervisor is a city supervisor.
2. **Walks**, in EPSG:4543 metres on the demo roads noded at every crossing: from about 08:00
   to 18:00 local time at 1.0–1.6 m/s, each supervisor takes the road segment at hand that
   borders most of their grids not yet patrolled that day (one counts as patrolled after
   40 m of its border), else the shortest way to the nearest such segment; when all are
   patrolled the round starts again. Short stops at a crossing (reporting a case) and a
   lunch stop around 12:00–13:00 stand still but keep reporting.
3. **Fixes** every ``interval_s`` seconds along the walk: GPS error of 5–15 m (``accuracy_m``,
   time-correlated like a real receiver), speed and heading of the walk. 1–2 gaps of 10–40
   min a day (phone off); about 1 % network fixes (100–250 m off, accuracy 150–300 m,
   source ``network``); about one spike a day (one fix 1.5–3 km away).
4. **Behaviours**: ~10 % *skippers* never patrol a fixed block of ~20 % of their grids at the
   edge of their area (they keep a street away from it unless no other way exists); ~5 %
   *leavers* once a day walk or ride (5 m/s) to a place 500–1500 m outside their area, stay
   30–90 min and come back (off post, DOMAIN.md §5). With 3 or more supervisors there is at
   least one of each.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, time

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely.geometry.base import BaseGeometry

from geogrid.demo.district import PROJECTED_CRS, STORAGE_CRS, DemoDistrict, Progress
from geogrid.errors import InvalidParameter
from geogrid.patrol.fixes import STAGED
from geogrid.patrol.supervisors import SupervisorSpec

NORMAL, SKIPPER, LEAVER = "normal", "skipper", "leaver"
SHARES = {SKIPPER: 0.10, LEAVER: 0.05}
SKIPPED_SHARE = 0.2
SHIFT = (time(8, 0), time(18, 0))
WALK_MPS = (1.0, 1.6)
RIDE_MPS = 5.0
NETWORK_SHARE = 0.01
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡杜叶程苏魏"
    "吕丁沈姚卢段普"
)
GIVEN_FIRST = "建志俊文海春晓丽红国永玉云德家明金秀思子雪兴"
GIVEN_LAST = "华强明平伟军芳梅英兰林峰东涛辉斌杰婷琴燕勇敏磊洁"
PHONE_PREFIXES = ("130", "133", "135", "137", "138", "139", "150", "151", "158", "159", "177",
                  "180", "182", "187", "188", "189", "199")  # fmt: skip

_MINUTE, _HOUR = 60.0, 3600.0
_PATROLLED_M = 40.0  # border walked before a grid counts as patrolled (≈ 30 s of dwell)
_REACH_M = 150.0  # roads this far around an area are part of its walks
_SKIP_PENALTY = 50.0  # a skipper's detour factor for the border roads of skipped grids
_STOP_CHANCE, _STOP_S = 0.03, (60.0, 240.0)
_NOISE_CORRELATION = 0.7


@dataclass(frozen=True)
class DemoPatrol:
    """Supervisors of a demo district and their fixes (DOMAIN.md §5).

    ``fixes`` has the columns of :data:`geogrid.patrol.fixes.STAGED` (``fixed_at`` UTC,
    ``lon``/``lat`` EPSG:4326), sorted by ``supervisor_id`` and ``fixed_at``. ``behaviour``
    maps every supervisor id to ``normal``, ``skipper`` or ``leaver``; ``skipped`` maps each
    skipper to the grid codes they never patrol.
    """

    supervisors: list[SupervisorSpec]
    fixes: pd.DataFrame
    behaviour: dict[str, str]
    skipped: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Network:
    """The demo roads noded at every crossing (metres): nodes, edges and their adjacency."""

    nodes: np.ndarray  # (N, 2)
    ends: np.ndarray  # (E, 2) node of each end of an edge
    lengths: np.ndarray  # (E,)
    coords: list[np.ndarray]  # vertices of each edge, from ends[e, 0] to ends[e, 1]
    along: list[np.ndarray]  # distance of each vertex from ends[e, 0]
    borders: list[np.ndarray]  # grids whose border the edge runs along
    midpoints: np.ndarray  # (E,) points
    matrix: csr_matrix  # the shortest edge between adjacent nodes, both directions
    between: dict[tuple[int, int], int]  # (low node, high node) -> shortest edge joining them

    def edge(self, a: int, b: int) -> int:
        return self.between[(a, b) if a < b else (b, a)]


@dataclass
class _Area:
    """One supervisor's walking graph: the roads of the area and ``_REACH_M`` around it."""

    nodes: np.ndarray  # global node of each local node
    edges: np.ndarray  # global edge of each local edge
    ends: np.ndarray  # (k, 2) local nodes of each local edge
    incident: list[list[int]]  # local edges at each local node
    between: dict[tuple[int, int], int]  # (low, high) local nodes -> shortest local edge
    targets: list[list[int]]  # per local edge: the area's grids it patrols
    borders: list[list[int]]  # per area grid: the local edges that patrol it
    need: list[float]  # per area grid: metres of its border to walk
    distance: np.ndarray  # (n, n) routing metres (detours for a skipper)
    previous: np.ndarray  # (n, n) predecessors of the shortest routes
    shape: BaseGeometry


class _Track:
    """A walk as timed vertices (metres, seconds after local midnight)."""

    def __init__(self, xy: np.ndarray, now: float) -> None:
        self.xy: list[np.ndarray] = [xy[None, :]]
        self.t: list[np.ndarray] = [np.array([now])]
        self.now = now

    def move(self, net: _Network, edge: int, start: int, speed: float) -> None:
        """Walk ``edge`` (m/s) from its end ``start``."""
        coords, along = net.coords[edge], net.along[edge]
        if net.ends[edge, 0] != start:
            coords, along = coords[::-1], along[-1] - along[::-1]
        self.xy.append(coords[1:])
        self.t.append(self.now + along[1:] / speed)
        self.now += float(along[-1]) / speed

    def stay(self, seconds: float) -> None:
        self.xy.append(self.xy[-1][-1:])
        self.now += seconds
        self.t.append(np.array([self.now]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        xy, t = np.concatenate(self.xy), np.concatenate(self.t)
        rising = np.concatenate([[True], np.diff(t) > 0])
        return xy[rising], t[rising]


def build_patrol(
    district: DemoDistrict,
    *,
    supervisors: int,
    first: date,
    last: date,
    seed: int = 0,
    interval_s: tuple[float, float] = (10.0, 30.0),
    tz: str = "Asia/Shanghai",
    progress: Progress | None = None,
) -> DemoPatrol:
    """Draw the supervisors of a demo district and their fixes from ``first`` to ``last``.

    Parameters
    ----------
    district : DemoDistrict
        What :func:`geogrid.demo.build_district` returned (EPSG:4326 frames).
    supervisors : int
        Number of supervisors, 1 to the number of grids; the grids are shared among them.
    first, last : datetime.date
        The local days patrolled, every day of ``first``..``last``.
    seed : int
        Seed of every random choice; the same district and seed give the same patrol.
    interval_s : (float, float)
        Seconds between two fixes, drawn uniformly in this range (DOMAIN.md §5: 5–60 s).
        The default gives ~1,700 fixes per supervisor-day (gaps and lunch included);
        (8, 12) ~3,350.
    tz : str
        Time zone of the shift (08:00–18:00 local).
    progress : callable, optional
        Called as ``progress(stage, fraction)`` after each supervisor.

    Returns
    -------
    DemoPatrol
        Supervisors (assigned grids valid from the district's ``valid_from`` or ``first`` if
        earlier), fixes in the shape of the fix staging table, behaviours and skipped grids.

    Raises
    ------
    InvalidParameter
        For a bad number of supervisors, ``last`` before ``first`` or a bad interval.
    """
    grids = district.grids.sort_values("code").reset_index(drop=True)
    low, high = interval_s
    if not 1 <= supervisors <= len(grids):
        raise InvalidParameter(
            f"supervisors must be between 1 and {len(grids)} (the grids), not {supervisors}."
        )
    if last < first:
        raise InvalidParameter(f"The last day {last} is before the first day {first}.")
    if not 1.0 <= low <= high:
        raise InvalidParameter(
            f"interval_s must be (low, high) with 1 <= low <= high: {low}, {high}."
        )
    report = progress or (lambda stage, fraction: None)
    rng = np.random.default_rng(seed)

    report("assigning grids", 0.0)
    shapes = grids.to_crs(PROJECTED_CRS).geometry.values.to_numpy()
    centres = shapely.get_coordinates(shapely.point_on_surface(shapes))
    areas = _bisect(centres, np.arange(len(grids)), supervisors)
    ids = [f"S{i + 1:03d}" for i in range(supervisors)]
    behaviour = _behaviours(ids, rng)
    valid_from = min(district.spec.valid_from.date(), first)
    specs = [
        SupervisorSpec(
            id=sid,
            name=name,
            level="city" if (i + 1) % 5 == 0 else "district",
            device_id=f"DEV-{sid}",
            phone=phone,
            grids=tuple(grids["code"].iloc[np.sort(areas[i])]),
            shift_start=SHIFT[0],
            shift_end=SHIFT[1],
            valid_from=valid_from,
        )
        for i, (sid, name, phone) in enumerate(
            zip(ids, _person_names(supervisors, rng), _phones(supervisors, rng), strict=True)
        )
    ]
    skipped_rows = {
        sid: _skipped_block(centres, areas[i], rng)
        for i, sid in enumerate(ids)
        if behaviour[sid] == SKIPPER
    }

    report("noding roads", 0.02)
    net = _network(district, shapes)
    outline = district.district.to_crs(PROJECTED_CRS).geometry.iloc[0]
    days = [d.date() for d in pd.date_range(first, last, freq="D")]
    midnights = [pd.Timestamp(d).tz_localize(tz).tz_convert("UTC").value for d in days]
    parts: list[dict[str, np.ndarray]] = []
    for i, sid in enumerate(ids):
        area = _area(net, shapes, areas[i], skipped_rows.get(sid, np.array([], int)))
        walker = np.random.default_rng((seed, i))
        for day_start in midnights:
            xy, t, end = _walk_day(net, area, outline, walker, leaver=behaviour[sid] == LEAVER)
            part = _sample(xy, t, end, walker, (low, high))
            part["fixed_at"] = day_start + part.pop("seconds").astype(np.int64) * 1_000_000_000
            part["who"] = np.full(len(part["fixed_at"]), i)
            parts.append(part)
        report("generating tracks", (i + 1) / supervisors)

    skipped = {sid: tuple(grids["code"].iloc[np.sort(rows)]) for sid, rows in skipped_rows.items()}
    return DemoPatrol(specs, _frame(parts, ids), behaviour, skipped)


def _bisect(points: np.ndarray, rows: np.ndarray, parts: int) -> list[np.ndarray]:
    """``parts`` compact groups of ``rows`` of equal size (±1), north-west first."""
    if parts == 1:
        return [rows]
    left = parts // 2
    xy = points[rows]
    spread = np.ptp(xy, axis=0)
    key = xy[:, 0] if spread[0] >= spread[1] else -xy[:, 1]
    ordered = rows[np.argsort(key, kind="stable")]
    cut = round(len(rows) * left / parts)
    return _bisect(points, ordered[:cut], left) + _bisect(points, ordered[cut:], parts - left)


def _behaviours(ids: list[str], rng: np.random.Generator) -> dict[str, str]:
    """~10 % skippers and ~5 % leavers (at least one each from 3 supervisors), the rest normal."""
    behaviour = dict.fromkeys(ids, NORMAL)
    if len(ids) < 3:
        return behaviour
    order = iter(rng.permutation(len(ids)))
    for kind, share in SHARES.items():
        for _ in range(max(1, round(share * len(ids)))):
            behaviour[ids[int(next(order))]] = kind
    return behaviour


def _person_names(count: int, rng: np.random.Generator) -> list[str]:
    """Distinct Chinese names of one or two given characters: 王建华, 李敏."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = SURNAMES[rng.integers(len(SURNAMES))]
        if rng.random() < 0.7:
            name += GIVEN_FIRST[rng.integers(len(GIVEN_FIRST))]
        name += GIVEN_LAST[rng.integers(len(GIVEN_LAST))]
        if name not in seen or len(seen) > 20_000:  # of ~35,000: then repeats are fine
            seen.add(name)
            names.append(name)
    return names


def _phones(count: int, rng: np.random.Generator) -> list[str]:
    prefixes = rng.integers(len(PHONE_PREFIXES), size=count)
    numbers = rng.integers(10**8, size=count)
    return [f"{PHONE_PREFIXES[p]}{n:08d}" for p, n in zip(prefixes, numbers, strict=True)]


def _skipped_block(centres: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A block of ceil(20 %) of an area's grids: its north, east, south or west end."""
    angle = int(rng.integers(4)) * np.pi / 2
    reach = centres[rows] @ np.array([np.cos(angle), np.sin(angle)])
    count = math.ceil(SKIPPED_SHARE * len(rows))
    return rows[np.argsort(-reach, kind="stable")[:count]]


def _graph(ends: np.ndarray, weights: np.ndarray, size: int) -> tuple[csr_matrix, np.ndarray]:
    """Symmetric adjacency of ``size`` nodes keeping the lightest of parallel edges.

    Returns the matrix and, per kept node pair (low, high), the index of its edge.
    """
    low, high = ends.min(axis=1), ends.max(axis=1)
    order = np.lexsort((weights, high, low))
    step = np.diff(low[order]) != 0
    step |= np.diff(high[order]) != 0
    kept = order[np.concatenate([[True], step])]
    rows = np.concatenate([low[kept], high[kept]])
    columns = np.concatenate([high[kept], low[kept]])
    values = np.concatenate([weights[kept], weights[kept]])
    return csr_matrix((values, (rows, columns)), shape=(size, size)), kept


def _pairs(ends: np.ndarray, kept: np.ndarray) -> dict[tuple[int, int], int]:
    low, high = ends[kept].min(axis=1), ends[kept].max(axis=1)
    return {(int(a), int(b)): int(e) for a, b, e in zip(low, high, kept, strict=True)}


def _network(district: DemoDistrict, shapes: np.ndarray) -> _Network:
    """Node the roads at every crossing; each edge knows the grids it borders."""
    lines = district.roads.to_crs(PROJECTED_CRS).geometry.values.to_numpy()
    parts = shapely.get_parts(shapely.union_all(lines))
    lengths = shapely.length(parts)
    coords = [shapely.get_coordinates(p) for p in parts]
    tips = np.array([[c[0], c[-1]] for c in coords]).reshape(-1, 2)
    nodes, inverse = np.unique(np.round(tips, 2), axis=0, return_inverse=True)
    ends = inverse.reshape(-1, 2)
    keep = np.flatnonzero((ends[:, 0] != ends[:, 1]) & (lengths > 0.01))
    ends, lengths, parts = ends[keep], lengths[keep], parts[keep]
    coords = [coords[k] for k in keep]
    along = [np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(c, axis=0).T))]) for c in coords]
    midpoints = shapely.line_interpolate_point(parts, 0.5, normalized=True)
    edge, grid = shapely.STRtree(shapes).query(midpoints, predicate="dwithin", distance=1.0)
    order = np.argsort(edge, kind="stable")
    edge, grid = edge[order], grid[order]
    borders = np.split(grid, np.searchsorted(edge, np.arange(1, len(parts))))
    matrix, kept = _graph(ends, lengths, len(nodes))
    return _Network(
        nodes, ends, lengths, coords, along, borders, midpoints, matrix, _pairs(ends, kept)
    )


def _area(net: _Network, shapes: np.ndarray, rows: np.ndarray, skipped: np.ndarray) -> _Area:
    """The walking graph of the grids ``rows``; the roads touching ``skipped`` are detours."""
    shape = shapely.coverage_union_all(shapes[rows])  # grids tile the area exactly
    shapely.prepare(shape)
    edges = np.flatnonzero(shapely.dwithin(net.midpoints, shape, _REACH_M))
    nodes, inverse = np.unique(net.ends[edges], return_inverse=True)
    ends = inverse.reshape(-1, 2)
    matrix, _ = _graph(ends, net.lengths[edges], len(nodes))
    _, label = connected_components(matrix, directed=False)
    kept = label[ends[:, 0]] == np.argmax(np.bincount(label[ends[:, 0]]))
    edges = edges[kept]
    nodes, inverse = np.unique(net.ends[edges], return_inverse=True)
    ends = inverse.reshape(-1, 2)

    place = np.full(len(shapes), -1)
    place[rows] = np.arange(len(rows))
    # a skipper keeps a street away from the skipped block: a road with an end on it is a detour
    touching = np.zeros(len(nodes), bool)
    if len(skipped):
        block = shapely.coverage_union_all(shapes[skipped])
        touching[:] = shapely.dwithin(shapely.points(net.nodes[nodes]), block, 1.0)
    detour = touching[ends[:, 0]] | touching[ends[:, 1]]
    weights = net.lengths[edges].copy()
    incident: list[list[int]] = [[] for _ in nodes]
    targets: list[list[int]] = []
    borders: list[list[int]] = [[] for _ in rows]
    need = [0.0] * len(rows)
    for k, e in enumerate(edges):
        incident[ends[k, 0]].append(k)
        incident[ends[k, 1]].append(k)
        ours: list[int] = []
        if detour[k]:
            weights[k] *= _SKIP_PENALTY
        else:
            ours = [int(place[g]) for g in net.borders[e] if place[g] >= 0]
        for g in ours:
            need[g] += float(net.lengths[e])
            borders[g].append(k)
        targets.append(ours)
    # shortest routes within the area: the walk takes them to the nearest unpatrolled road
    matrix, kept_pairs = _graph(ends, weights, len(nodes))
    distance, previous = dijkstra(matrix, return_predecessors=True)
    return _Area(
        nodes=nodes,
        edges=edges,
        ends=ends,
        incident=incident,
        between=_pairs(ends, kept_pairs),
        targets=targets,
        borders=borders,
        need=[min(n, _PATROLLED_M) for n in need],
        distance=distance,
        previous=previous,
        shape=shape,
    )


def _clock(moment: time) -> float:
    return moment.hour * _HOUR + moment.minute * _MINUTE


class _Walk:
    """One supervisor-day on an area's graph: the greedy patrol, lunch and an excursion."""

    def __init__(self, net: _Network, area: _Area, rng: np.random.Generator, start: float) -> None:
        self.net, self.area, self.rng = net, area, rng
        self.speed = float(rng.uniform(*WALK_MPS))
        self.initial = np.array([len(t) for t in area.targets])
        self.open = self.initial.copy()
        self.walked = [0.0] * len(area.need)
        starts = np.unique(area.ends[self.open > 0]) if self.open.any() else np.arange(1)
        self.at = int(rng.choice(starts))
        self.track = _Track(net.nodes[area.nodes[self.at]], start)

    def step(self, k: int) -> None:
        """Walk local edge ``k`` from the current node, counting the border walked."""
        area = self.area
        speed = min(max(self.speed * self.rng.uniform(0.9, 1.1), WALK_MPS[0]), WALK_MPS[1])
        self.track.move(self.net, int(area.edges[k]), int(area.nodes[self.at]), speed)
        a, b = area.ends[k]
        self.at = int(b if a == self.at else a)
        length = float(self.net.lengths[area.edges[k]])
        for g in area.targets[k]:
            if self.walked[g] < area.need[g]:
                self.walked[g] += length
                if self.walked[g] >= area.need[g]:
                    for other in area.borders[g]:
                        self.open[other] -= 1

    def patrol(self) -> None:
        """One move: the road at hand bordering most unpatrolled grids, else the way to one."""
        area = self.area
        choices = [k for k in area.incident[self.at] if self.open[k] > 0]
        if choices:
            best = max(self.open[k] for k in choices)
            self.step(int(self.rng.choice([k for k in choices if self.open[k] == best])))
            return
        if not self.open.any():  # every grid patrolled: the next round starts
            self.open, self.walked = self.initial.copy(), [0.0] * len(area.need)
        if not self.open.any():
            self.step(int(self.rng.choice(area.incident[self.at])))
            return
        candidates = np.unique(area.ends[self.open > 0])
        goal = int(candidates[np.argmin(area.distance[self.at, candidates])])
        path = [goal]
        while path[-1] != self.at:
            path.append(int(area.previous[self.at, path[-1]]))
        for a, b in zip(path[::-1], path[-2::-1], strict=False):
            self.step(area.between[(a, b) if a < b else (b, a)])

    def leave(self, outline: BaseGeometry) -> None:
        """Go 500–1500 m outside the area by road, stay 30–90 min, come back (off post)."""
        net, rng = self.net, self.rng
        place = _outside(self.area.shape, outline, rng)
        goal = int(np.argmin(np.hypot(*(net.nodes - place).T)))
        origin = int(self.area.nodes[self.at])
        distance, previous = dijkstra(
            net.matrix, indices=origin, return_predecessors=True, limit=8000.0
        )
        if not np.isfinite(distance[goal]) or goal == origin:
            return
        path = [goal]
        while path[-1] != origin:
            path.append(int(previous[path[-1]]))
        path.reverse()
        speed = RIDE_MPS if rng.random() < 0.5 else self.speed
        for a, b in itertools.pairwise(path):
            self.track.move(net, net.edge(a, b), a, speed)
        self.track.stay(rng.uniform(30, 90) * _MINUTE)
        for a, b in zip(path[::-1], path[-2::-1], strict=False):
            self.track.move(net, net.edge(a, b), a, speed)


def _outside(shape: BaseGeometry, outline: BaseGeometry, rng: np.random.Generator) -> np.ndarray:
    """A place 500–1500 m from the area, inside the district when one can be found."""
    centre = np.array(shape.centroid.coords[0])
    place = centre
    for _ in range(32):
        angle, wanted = rng.uniform(0, 2 * np.pi), rng.uniform(500, 1500)
        direction = np.array([np.cos(angle), np.sin(angle)])
        reach = wanted
        for _ in range(20):
            place = centre + reach * direction
            gap = shape.distance(shapely.Point(place))
            if gap >= wanted:
                break
            reach += wanted - gap + 1.0
        if outline.contains(shapely.Point(place)):
            break
    return place


def _walk_day(
    net: _Network, area: _Area, outline: BaseGeometry, rng: np.random.Generator, *, leaver: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """The day's walk as timed vertices (metres, seconds after local midnight) and shift end."""
    start = _clock(SHIFT[0]) + rng.uniform(-5, 10) * _MINUTE
    end = _clock(SHIFT[1]) + rng.uniform(-10, 5) * _MINUTE
    lunch_at, lunch_s = rng.uniform(11.75, 12.25) * _HOUR, rng.uniform(40, 60) * _MINUTE
    away_at = float(rng.choice([rng.uniform(9.5, 11), rng.uniform(14, 15.5)])) * _HOUR
    if not leaver:
        away_at = math.inf
    walk = _Walk(net, area, rng, start)
    while walk.track.now < end:
        if walk.track.now >= lunch_at:
            walk.track.stay(lunch_s)
            lunch_at = math.inf
        elif walk.track.now >= away_at:
            walk.leave(outline)
            away_at = math.inf
        else:
            if rng.random() < _STOP_CHANCE:
                walk.track.stay(rng.uniform(*_STOP_S))
            walk.patrol()
    xy, t = walk.track.arrays()
    return xy, t, end


def _sample(
    xy: np.ndarray,
    t: np.ndarray,
    end: float,
    rng: np.random.Generator,
    interval: tuple[float, float],
) -> dict[str, np.ndarray]:
    """Fixes along a timed walk: times, noisy positions (metres), accuracy, speed, heading."""
    low, high = interval
    steps = rng.uniform(low, high, int((end - t[0]) / low) + 2)
    seconds = np.round(t[0] + np.concatenate([[0.0], np.cumsum(steps)]))
    seconds = seconds[seconds < end]
    for _ in range(int(rng.integers(1, 3))):  # phone off
        off = rng.uniform(t[0] + 15 * _MINUTE, end - 45 * _MINUTE)
        seconds = seconds[(seconds < off) | (seconds >= off + rng.uniform(10, 40) * _MINUTE)]
    n = len(seconds)
    true = np.column_stack([np.interp(seconds, t, xy[:, 0]), np.interp(seconds, t, xy[:, 1])])
    k = np.clip(np.searchsorted(t, seconds, side="right") - 1, 0, len(t) - 2)
    velocity = (xy[k + 1] - xy[k]) / (t[k + 1] - t[k])[:, None]
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    heading = np.where(
        speed > 0.2,
        np.round(np.degrees(np.arctan2(velocity[:, 0], velocity[:, 1])) % 360, 1),
        np.nan,
    )
    heading[heading >= 360] = 0.0

    accuracy = rng.uniform(5, 15, n)
    rho = _NOISE_CORRELATION
    shocks = rng.normal(size=(n, 2)) * (accuracy / np.sqrt(2))[:, None]
    # an AR(1) error (coefficient rho, same variance as the shocks), its kernel cut at rho**24
    kernel = np.sqrt(1 - rho**2) * rho ** np.arange(25)
    error = np.column_stack([np.convolve(shocks[:, j], kernel)[:n] for j in (0, 1)])
    position = true + error

    network = rng.random(n) < NETWORK_SHARE
    position[network] = true[network] + _offsets(rng, int(network.sum()), 100, 250)
    accuracy[network] = rng.uniform(150, 300, int(network.sum()))
    quiet = np.zeros(n, bool)
    if n > 2:
        gaps = np.diff(seconds)
        quiet[1:-1] = (gaps[:-1] <= high + 1) & (gaps[1:] <= high + 1)
        quiet[1:-1] &= ~network[:-2] & ~network[1:-1] & ~network[2:]
    candidates = np.flatnonzero(quiet)
    spikes = rng.choice(candidates, min(int(rng.poisson(1.0)), len(candidates)), replace=False)
    position[spikes] = true[spikes] + _offsets(rng, len(spikes), 1500, 3000)
    return {
        "seconds": seconds,
        "x": position[:, 0],
        "y": position[:, 1],
        "accuracy_m": np.round(accuracy, 1),
        "speed_mps": np.round(np.abs(speed + rng.normal(0, 0.15, n)), 2),
        "heading": heading,
        "network": network,
    }


def _offsets(rng: np.random.Generator, count: int, low: float, high: float) -> np.ndarray:
    angle, reach = rng.uniform(0, 2 * np.pi, count), rng.uniform(low, high, count)
    return np.column_stack([reach * np.cos(angle), reach * np.sin(angle)])


def _frame(parts: list[dict[str, np.ndarray]], ids: list[str]) -> pd.DataFrame:
    """The fixes in the shape of the staging table, EPSG:4326, sorted by supervisor and time."""
    column = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    to_storage = Transformer.from_crs(PROJECTED_CRS, STORAGE_CRS, always_xy=True)
    lon, lat = to_storage.transform(column["x"], column["y"])
    n = len(lon)
    network = column["network"].astype(bool)
    frame = pd.DataFrame(
        {
            "line": np.arange(1, n + 1),
            "supervisor_id": np.array(ids, dtype=object)[column["who"]],
            "fixed_at": pd.to_datetime(column["fixed_at"], unit="ns", utc=True),
            "lon": np.round(lon, 7),
            "lat": np.round(lat, 7),
            "accuracy_m": column["accuracy_m"],
            "speed_mps": column["speed_mps"],
            "heading": column["heading"],
            "source": np.where(network, "network", "gps").astype(object),
            "recorded_lon": None,
            "recorded_lat": None,
            "recorded_crs": None,
            "network": network,
        }
    )
    return frame[list(STAGED)]
