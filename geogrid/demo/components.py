"""A realistic synthetic component inventory (部件) of a demo district (DOMAIN.md §2, §8).

:func:`build_components` draws the components of a :class:`DemoDistrict` without a database,
in EPSG:4543 metres with numpy along the road segments, and returns them in EPSG:4326.

1. **Along roads** (``_ALONG``): a spacing per road class, a side and an offset from the kerb
   (11 m from the centre line on main roads, 7.5 m on secondary roads, 3 m in alleys): lamps
   (01037) every 30–40 m on both sides of main roads, ~40 m on one side of secondary roads;
   street trees (04002) every 6–8 m; covers of seven utilities every 40–150 m; gullies at the
   kerb; bins, hydrants, signs, shop signs behind it. Lines (交通护栏, 绿地护栏) and polygons
   (绿地, 停车场) are strips 10–60 m long. Crossings keep their kerb distance + 3 m free.
2. **At crossings**: signals, cameras and road-name signs on the corners. Boundary roads are
   the district's edge: only their inner side is used, and the few components whose rounded
   position still falls outside are dropped.
3. **Count**: bus stops, toilets and crossing furniture are fixed; the other spacings are
   divided by ``f ** alpha``, ``f`` solved so that the expected total meets ``count`` (lamps
   ``alpha`` 0.25, trees 0.5: they stay realistic). DOMAIN.md §8: 110,500 components in
   29 km²; the demo lays out ≈ 4,300 per km² at ``f = 1``.
4. **Codes** (DOMAIN.md §2): district + class + 6-digit sequence per class, numbered road by
   road (the district's road order: west to east, then north to south) and along each road;
   names are road + class + number along that road (彩云路路灯0012).

Everything is drawn from one ``numpy.random.default_rng(seed)``: one district and seed, one frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geogrid.catalogue import load_catalogue
from geogrid.demo.district import PROJECTED_CRS, STORAGE_CRS, DemoDistrict
from geogrid.errors import InvalidParameter

Progress = Callable[[int, int], None]
COLUMNS = ("code", "sub_class", "name", "department", "owner", "maintainer", "status",
           "install_date", "photo_url", "note", "geometry")  # fmt: skip
STATUSES = (("intact", 0.93), ("damaged", 0.04), ("missing", 0.01), ("occupied", 0.015),
            ("retired", 0.005))  # fmt: skip
_NOTES = ("", "破损，待维修", "缺失，待补装", "被占用", "已废弃，待拆除")
_PHOTO_SHARE = 0.2
_KERB = {"main": 11.0, "secondary": 7.5, "alley": 3.0}
_CLEAR_M = 3.0
_FIRST_DAY, _LAST_DAY = np.datetime64("2008-01-01"), np.datetime64("2025-12-31")
_STEPS = 3


@dataclass(frozen=True)
class _Along:
    """Components of one class spaced along road sides.

    ``spacing``: metres between neighbours on one side, per road class. ``sides``: "both",
    "one" (one side per road) or "any" (either side per component). ``offset``: metres from
    the kerb (negative: in the carriageway), or, with ``carriageway``, fractions of the
    centre-to-kerb distance. ``alpha``: how the spacing follows the count factor. Lines have
    a ``length`` (metres along the road), polygons a ``length`` and a ``depth``.
    """

    code: str
    spacing: Mapping[str, float]
    sides: str
    offset: tuple[float, float]
    alpha: float = 1.0
    regular: bool = False
    carriageway: bool = False
    length: tuple[float, float] | None = None
    depth: tuple[float, float] | None = None


_MAJOR = ("main", "secondary")
_ALONG = (
    _Along("01037", {"main": 35}, "both", (0.5, 1.5), alpha=0.25, regular=True),
    _Along("01037", {"secondary": 40, "alley": 50}, "one", (0.5, 1.5), 0.25, regular=True),
    _Along("04002", dict.fromkeys(_MAJOR, 7.0), "both", (1.5, 2.5), alpha=0.5, regular=True),
    _Along("01001", {"main": 60, "secondary": 60, "alley": 100}, "any", (0.1, 0.9),
           carriageway=True),
    _Along("01002", {"main": 40, "secondary": 40, "alley": 60}, "any", (0.1, 0.9),
           carriageway=True),
    _Along("01003", {"main": 40, "secondary": 40, "alley": 60}, "any", (0.1, 0.9),
           carriageway=True),
    _Along("01004", dict.fromkeys(_MAJOR, 30.0), "both", (-0.5, -0.2), regular=True),
    _Along("01004", {"alley": 50}, "one", (-0.5, -0.2), regular=True),
    _Along("01005", {"main": 60, "secondary": 60, "alley": 150}, "any", (1.0, 4.0)),
    _Along("01007", {"main": 50, "secondary": 60, "alley": 120}, "any", (1.0, 4.0)),
    _Along("01011", {"main": 80, "secondary": 80, "alley": 120}, "any", (0.1, 0.9),
           carriageway=True),
    _Along("01013", {"main": 120, "secondary": 120, "alley": 200}, "one", (0.4, 1.0)),
    _Along("01048", {"main": 400, "secondary": 400, "alley": 250}, "one", (3.0, 6.0)),
    _Along("01060", dict.fromkeys(_MAJOR, 800.0), "one", (2.0, 4.0), alpha=0.25),
    _Along("03005", dict.fromkeys(_MAJOR, 75.0), "both", (0.8, 1.6)),
    _Along("03005", {"alley": 120}, "one", (0.5, 1.0)),
    _Along("03006", {"main": 120}, "both", (4.0, 8.0)),
    _Along("03007", {"main": 18, "secondary": 25}, "both", (7.0, 9.0)),
    _Along("02010", {"main": 200, "secondary": 250}, "both", (0.3, 1.0)),
    _Along("04007", {"main": 150, "secondary": 300}, "both", (3.0, 4.0)),
    _Along("02004", {"main": 500}, "both", (0.5, 1.5), alpha=0.0, regular=True),
    _Along("03001", {"main": 650, "secondary": 900}, "one", (6.0, 12.0), 0.0, regular=True),
    _Along("02017", {"main": 90}, "both", (-0.3, -0.1), length=(20, 60)),
    _Along("02017", {"secondary": 150}, "one", (-0.3, -0.1), length=(20, 60)),
    _Along("04013", {"main": 120, "secondary": 150}, "both", (4.0, 5.0), length=(10, 40),
           depth=(3, 8)),
    _Along("04013", {"alley": 400}, "one", (1.0, 2.0), length=(10, 30), depth=(5, 15)),
    _Along("02001", {"main": 700, "secondary": 700, "alley": 600}, "one", (12.0, 14.0),
           length=(30, 60), depth=(12, 25)),
)  # fmt: skip
# A share of the green plots (绿地) is fenced (绿地护栏) along its edge facing the road.
_FENCED, _FENCE_CODE, _FENCED_SHARE = "04013", "04008", 0.4

# At crossings: class, the road ranks needed (the higher road, the lower one; main 2,
# secondary 1, alley 0), corners (side on road a, side on road b) and metres beyond the kerbs.
_RANK = {"main": 2, "secondary": 1, "alley": 0}
_CROSSINGS = (
    ("02014", (2, 1), ((1, 1), (1, -1), (-1, 1), (-1, -1)), 1.0),
    ("01050", (2, 2), ((1, 1), (-1, -1)), 1.5),
    ("02012", (1, 0), ((1, -1), (-1, 1)), 0.8),
)

# Owner (权属单位) and maintenance unit (养护单位) of each class; owners are drawn per
# component, maintainers per road (a contract lot); None: the owner maintains its own.
_WATER = ("昆明自来水集团有限公司",)
_DRAINAGE = (("呈贡区水务局",), ("呈贡区排水管理所", "昆明滇池水务呈贡运维有限公司"))
_POWER = (("昆明供电局呈贡分局",), ("呈贡供电局配电运维班",))
_LIGHTING = (("呈贡区城市管理局",), ("呈贡区路灯管理所",))
_TRAFFIC = (("昆明市公安局交通管理局呈贡分局",), ("呈贡区交通设施养护中心",))
_SANITATION = (("呈贡区城市管理局",), ("呈贡区环境卫生管理站", "昆明洁美环卫服务有限公司",
                                       "云南绿城环境卫生工程有限公司"))  # fmt: skip
_GREEN = (("呈贡区园林绿化局",), ("呈贡区园林绿化养护所", "昆明绿源园林工程有限公司",
                                  "云南春城园林绿化有限公司"))  # fmt: skip
_UNITS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "01001": (_WATER, ("昆明自来水集团呈贡供水分公司",)),
    "01002": _DRAINAGE, "01003": _DRAINAGE, "01004": _DRAINAGE, "01005": _POWER,
    "01007": (("中国移动呈贡分公司", "中国电信呈贡分公司", "中国联通呈贡分公司",
               "中国铁塔呈贡分公司"), None),
    "01011": (("昆明中石油昆仑燃气有限公司",), ("昆仑燃气呈贡管网运行所",)),
    "01013": (_WATER, ("呈贡区消防救援大队",)), "01037": _LIGHTING, "01048": _POWER,
    "01050": (("昆明市公安局呈贡分局",), ("呈贡分局视频监控运维中心",)), "01060": _LIGHTING,
    "02001": (("呈贡区城市管理局", "呈贡区城市建设投资有限公司"), ("呈贡区静态交通管理有限公司",)),
    "02004": (("昆明公交集团有限责任公司",), ("昆明公交集团呈贡分公司",)),
    "02010": _TRAFFIC, "02012": (("呈贡区民政局",), ("呈贡区地名标志维护站",)),
    "02014": _TRAFFIC, "02017": _TRAFFIC, "03001": _SANITATION, "03005": _SANITATION,
    "03006": (("昆明星辰传媒有限公司", "云南华视户外广告有限公司", "呈贡城投广告有限公司"), None),
    "03007": (("沿街商户",), None),
    "04002": _GREEN, "04007": _GREEN, "04008": _GREEN, "04013": _GREEN,
}  # fmt: skip
CODES = tuple(sorted(_UNITS))


@dataclass
class _Placed:
    """Components of one class: road, position along it (metres) and geometry (EPSG:4326)."""

    code: str
    road: np.ndarray
    t: np.ndarray
    geometry: np.ndarray


def build_components(
    district: DemoDistrict,
    *,
    count: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Draw a realistic component inventory of about ``count`` rows (DOMAIN.md §2, §8).

    Parameters
    ----------
    district : DemoDistrict
        What :func:`geogrid.demo.build_district` returned (EPSG:4326 frames).
    count : int
        Number of components wanted, at least 1. The result holds ``count`` ± 5 % rows
        (checked from 500 to 300,000 on ``small`` and at 500,000 on ``city``). Spacings follow
        ``count``: lamps stay 30–40 m apart near the natural density (≈ 4,300 per km²); fixed
        furniture (bus stops, toilets, crossing signs) beyond a quarter of ``count`` is thinned.
    seed : int
        Seed of every random choice; the same district and seed give the same frame.
    progress : callable, optional
        Called as ``progress(done, total)`` after each of ``total`` stages.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 (coordinates rounded to 7 decimals), the :data:`COLUMNS`: 17-digit ``code``
        (district + class + 6-digit sequence from 000001 per class), ``sub_class`` (5-digit
        class of the catalogue), ``name``, ``department`` (the catalogue's), ``owner``,
        ``maintainer``, ``status`` (:data:`STATUSES`), ``install_date`` (datetime.date,
        2008–2025), ``photo_url`` (``photos/<code>.jpg`` for ~20 %, else missing), ``note``
        (for components not intact, else missing) and ``geometry`` (Point, LineString or
        Polygon as the catalogue surveys the class). Every geometry lies inside the district.

    Raises
    ------
    InvalidParameter
        When ``count`` is below 1.
    """
    if count < 1:
        raise InvalidParameter(f"count ({count}) must be at least 1.")
    report = progress or (lambda done, total: None)
    rng = np.random.default_rng(seed)
    layout = _Layout(district)
    fixed = [rule for rule in _ALONG if rule.alpha == 0]
    placed = [layout.at_crossings(*crossing) for crossing in _CROSSINGS]
    placed += [layout.along(rng, rule, 1.0)[0] for rule in fixed]
    placed = _thin(rng, placed, count // 4)
    report(1, _STEPS)

    elastic = [rule for rule in _ALONG if rule.alpha > 0]
    factor = _solve(layout, elastic, count - sum(p.road.size for p in placed))
    for rule in elastic:
        items, fence = layout.along(rng, rule, factor)
        placed += [items] if fence is None else [items, fence]
    report(2, _STEPS)
    frame = _frame(rng, district.spec.district_code, layout, placed)
    report(3, _STEPS)
    return frame


def _thin(rng: np.random.Generator, placed: list[_Placed], most: int) -> list[_Placed]:
    """Keep at most about ``most`` of the fixed components, chosen at random."""
    share = most / max(sum(p.road.size for p in placed), 1)
    if share >= 1:
        return placed
    keep = [rng.random(p.road.size) < share for p in placed]
    return [
        _Placed(p.code, p.road[k], p.t[k], p.geometry[k]) for p, k in zip(placed, keep, strict=True)
    ]


def _solve(layout: _Layout, rules: list[_Along], target: int) -> float:
    """The factor ``f`` with Σ expected × f ** alpha = ``target`` (on a log grid)."""
    factors = np.exp(np.linspace(-12.0, 12.0, 4801))
    totals = np.array([layout.expected(r) for r in rules]) @ (
        factors[None, :] ** np.array([r.alpha for r in rules])[:, None]
    )
    return float(np.interp(max(target, 1), totals, factors))


class _Layout:
    """Road segments, crossings and usable sides of a district, in EPSG:4543 metres."""

    def __init__(self, district: DemoDistrict) -> None:
        roads = district.roads.to_crs(PROJECTED_CRS)
        lines = np.asarray(roads.geometry.values)
        xy, line = shapely.get_coordinates(lines, return_index=True)
        same = line[1:] == line[:-1]
        start, delta, road = xy[:-1][same], (xy[1:] - xy[:-1])[same], line[1:][same]
        length = np.hypot(delta[:, 0], delta[:, 1])
        keep = length > 1e-9
        self.start, self.unit = start[keep], delta[keep] / length[keep, None]
        self.segment_at = np.concatenate(([0.0], np.cumsum(length[keep])[:-1]))
        n = len(lines)
        self.length = np.bincount(road[keep], weights=length[keep], minlength=n)
        self.road_at = self.segment_at[np.searchsorted(road[keep], np.arange(n))]
        self.road_class = roads["road_class"].to_numpy().astype(str)
        self.kerb = np.array([_KERB[c] for c in self.road_class])
        self.names = roads["name"].to_numpy().astype(str)
        area = shapely.union_all(district.district.to_crs(PROJECTED_CRS).geometry.values)
        self.outline = district.district.geometry.iloc[0]
        shapely.prepare(self.outline)
        self.to_storage = Transformer.from_crs(PROJECTED_CRS, STORAGE_CRS, always_xy=True)

        # Crossings: position along both roads; zones kept free along each road.
        a, b = shapely.STRtree(lines).query(lines, predicate="intersects")
        a, b = a[a < b], b[a < b]
        parts, index = shapely.get_parts(
            shapely.intersection(lines[a], lines[b]), return_index=True
        )
        point = shapely.get_type_id(parts) == 0
        a, b, parts = a[index[point]], b[index[point]], parts[point]
        self.cross = (a, b, shapely.line_locate_point(lines[a], parts),
                      shapely.line_locate_point(lines[b], parts))  # fmt: skip
        road = np.concatenate((a, b))
        at = np.concatenate((self.cross[2], self.cross[3]))
        width = np.concatenate((self.kerb[b], self.kerb[a])) + _CLEAR_M
        order = np.lexsort((at, road))
        self.zone_road, self.zone_at, self.zone_width = road[order], at[order], width[order]
        self.zone_key = self.road_at[self.zone_road] + self.zone_at

        # Sides (+1 left, -1 right of the drawing direction) lying in the district.
        votes = np.zeros((n, 2))
        for fraction, (column, sign) in itertools.product((0.25, 0.5, 0.75), enumerate((1, -1))):
            xy = self.point(np.arange(n), self.length * fraction, np.full(n, sign * 25.0))
            votes[:, column] += shapely.contains_xy(area, xy[:, 0], xy[:, 1])
        self.allowed = votes >= 2
        self.allowed[~self.allowed.any(axis=1)] = True

    def point(self, road: np.ndarray, t: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Points ``t`` metres along ``road`` and ``offset`` metres to its left (metres)."""
        at = self.road_at[road] + np.clip(t, 0.0, self.length[road] - 1e-6)
        segment = np.searchsorted(self.segment_at, at, side="right") - 1
        unit = self.unit[segment]
        base = self.start[segment] + (at - self.segment_at[segment])[:, None] * unit
        return base + offset[:, None] * np.column_stack((-unit[:, 1], unit[:, 0]))

    def free(self, road: np.ndarray, t: np.ndarray, extra: np.ndarray | float) -> np.ndarray:
        """Whether positions (``extra`` metres either way) stay clear of every crossing."""
        key = self.road_at[road] + t
        after = np.searchsorted(self.zone_key, key)
        ok = np.ones(road.size, dtype=bool)
        for index in (after - 1, after):
            index = np.clip(index, 0, self.zone_key.size - 1)
            near = np.abs(key - self.zone_key[index]) < self.zone_width[index] + extra
            ok &= ~(near & (self.zone_road[index] == road))
        return ok & (t - extra >= 0) & (t + extra <= self.length[road])

    def _lanes(self, rule: _Along) -> tuple[np.ndarray, np.ndarray]:
        """Roads and sides the rule uses; side 0 means either side, per component."""
        road = np.flatnonzero([c in rule.spacing for c in self.road_class])
        if rule.sides != "both":
            return road, np.zeros(road.size, dtype=np.int64)
        left, right = road[self.allowed[road, 0]], road[self.allowed[road, 1]]
        return np.concatenate((left, right)), np.repeat([1, -1], (left.size, right.size))

    def expected(self, rule: _Along) -> float:
        """Expected count at factor 1: usable length of each lane / spacing."""
        road, _ = self._lanes(rule)
        extra = 0.0 if rule.length is None else sum(rule.length) / 4
        at, half, end = self.zone_at, self.zone_width + extra, self.length[self.zone_road]
        covered = (np.minimum(at + half, end) - np.maximum(at - half, 0)).clip(min=0)
        blocked = np.bincount(self.zone_road, covered, minlength=self.length.size)
        usable = (self.length - blocked).clip(min=0)
        spacing = np.array([rule.spacing[c] for c in self.road_class[road]], dtype=float)
        share = 1.0 + _FENCED_SHARE if rule.code == _FENCED else 1.0
        return share * float(np.sum(usable[road] / spacing))

    def along(
        self, rng: np.random.Generator, rule: _Along, factor: float
    ) -> tuple[_Placed, _Placed | None]:
        """Components of ``rule`` with spacings divided by ``factor ** alpha``."""
        road, side = self._lanes(rule)
        spacing = np.array([rule.spacing[c] for c in self.road_class[road]], dtype=float)
        spacing /= factor**rule.alpha
        if rule.regular:
            spacing *= rng.uniform(0.85, 1.15, road.size)
        phase = rng.random(road.size) * spacing
        n = (np.floor((self.length[road] - phase) / spacing).astype(np.int64) + 1).clip(min=0)
        lane = np.repeat(np.arange(road.size), n)
        k = np.arange(lane.size) - np.repeat(np.cumsum(n) - n, n)
        jitter = 0.03 if rule.regular else 0.4
        t = phase[lane] + (k + rng.uniform(-jitter, jitter, lane.size)) * spacing[lane]
        road = road[lane]
        across = rng.uniform(*rule.offset, road.size)
        if rule.regular:  # one offset per lane, ±0.1 m
            across = rng.uniform(*rule.offset, spacing.size)[lane]
            across += rng.uniform(-0.1, 0.1, road.size)
        kerb = self.kerb[road]
        offset = (kerb * across if rule.carriageway else kerb + across).clip(min=0.3)
        either = rng.choice(np.array([1, -1]), road.size if rule.sides == "any" else self.kerb.size)
        either = either if rule.sides == "any" else either[road]
        inner = np.where(self.allowed[road, 0], 1, -1)
        both = self.allowed[road].all(axis=1)
        offset *= np.where(side[lane] != 0, side[lane], np.where(both, either, inner))
        if rule.length is None:
            ok = self.free(road, t, 0.0)
            road, t, offset = road[ok], t[ok], offset[ok]
            return self._points(rule.code, road, t, self.point(road, t, offset)), None
        size = rng.uniform(*rule.length, road.size)
        ok = self.free(road, t + size / 2, size / 2)
        road, t, offset, size = road[ok], t[ok], offset[ok], size[ok]
        if rule.depth is None:
            return self._strips(rule.code, (road, t, size, offset), None), None
        depth = rng.uniform(*rule.depth, road.size) * np.sign(offset)
        plots = self._strips(rule.code, (road, t, size, offset), depth)
        if rule.code != _FENCED:
            return plots, None
        fenced = rng.random(road.size) < _FENCED_SHARE
        edge = offset[fenced] - 0.3 * np.sign(offset[fenced])
        fence = (road[fenced], t[fenced], size[fenced], edge)
        return plots, self._strips(_FENCE_CODE, fence, None)

    def at_crossings(
        self, code: str, ranks: tuple[int, int], corners: tuple[tuple[int, int], ...], beyond: float
    ) -> _Placed:
        """Components on the corners of the crossings of roads of at least ``ranks``."""
        a, b, ta, tb = self.cross
        rank_a = np.array([_RANK[c] for c in self.road_class[a]])
        rank_b = np.array([_RANK[c] for c in self.road_class[b]])
        ok = (np.maximum(rank_a, rank_b) >= ranks[0]) & (np.minimum(rank_a, rank_b) >= ranks[1])
        a, b, ta, tb = a[ok], b[ok], ta[ok], tb[ok]
        centre = self.point(a, ta, np.zeros(a.size))
        normals = [self.point(r, t, np.ones(r.size)) - self.point(r, t, np.zeros(r.size))
                   for r, t in ((a, ta), (b, tb))]  # fmt: skip
        matrix = np.stack(normals, axis=1)
        solvable = np.abs(np.linalg.det(matrix)) > 0.2
        xy, road, t = [], [], []
        for i, (sa, sb) in enumerate(corners):
            wanted = np.column_stack((sa * (self.kerb[a] + beyond), sb * (self.kerb[b] + beyond)))
            shift = np.linalg.solve(matrix[solvable], wanted[solvable][:, :, None])[:, :, 0]
            xy.append(centre[solvable] + shift)
            road.append(a[solvable])
            t.append(ta[solvable] + 1e-3 * i)
        return self._points(code, np.concatenate(road), np.concatenate(t), np.concatenate(xy))

    def _storage(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self.to_storage.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack((lon, lat)), 7)

    def _points(self, code: str, road: np.ndarray, t: np.ndarray, xy: np.ndarray) -> _Placed:
        """Points in EPSG:4326, those outside the district dropped."""
        lonlat = self._storage(xy)
        inside = shapely.contains_xy(self.outline, lonlat[:, 0], lonlat[:, 1])
        return _Placed(code, road[inside], t[inside], shapely.points(lonlat[inside]))

    def _strips(
        self, code: str, strip: tuple[np.ndarray, ...], depth: np.ndarray | None
    ) -> _Placed:
        """Lines along a road side (or polygons ``depth`` deep), those not inside dropped."""
        road, t, size, offset = strip
        steps = np.array([0.0, 0.5, 1.0])
        at = (t[:, None] + size[:, None] * steps).ravel()
        on = np.repeat(road, steps.size)
        front = self.point(on, at, np.repeat(offset, steps.size)).reshape(-1, steps.size, 2)
        rings = front
        if depth is not None:
            back = self.point(on, at, np.repeat(offset + depth, steps.size))[::-1]  # reversed
            rings = np.concatenate((front, back.reshape(-1, steps.size, 2)[::-1], front[:, :1]), 1)
        lonlat = self._storage(rings.reshape(-1, 2))
        index = np.repeat(np.arange(road.size), rings.shape[1])
        geometry = shapely.linestrings(lonlat, indices=index)
        if depth is not None:
            geometry = shapely.polygons(shapely.linearrings(lonlat, indices=index))
        inside = shapely.contains(self.outline, geometry) & shapely.is_valid(geometry)
        return _Placed(code, road[inside], t[inside], geometry[inside])


def _frame(
    rng: np.random.Generator, district_code: str, layout: _Layout, placed: list[_Placed]
) -> gpd.GeoDataFrame:
    """The attribute columns: codes numbered per class along roads, names, units, states."""
    codes = np.array(CODES)
    cls = np.concatenate([np.full(p.road.size, CODES.index(p.code)) for p in placed])
    road = np.concatenate([p.road for p in placed])
    t = np.concatenate([p.t for p in placed])
    geometry = np.concatenate([p.geometry for p in placed])
    order = np.lexsort((t, road, cls))
    cls, road, geometry = cls[order], road[order], geometry[order]
    n = cls.size
    sequence = np.arange(n) - np.searchsorted(cls, cls, side="left") + 1
    key = cls * layout.length.size + road
    along = np.arange(n) - np.searchsorted(key, key, side="left") + 1

    catalogue = load_catalogue()
    items = [catalogue.get("component", c) for c in CODES]
    class_names = np.array([item.name for item in items])
    code = np.strings.add(np.strings.add(district_code, codes[cls]),
                          np.strings.zfill(sequence.astype(str), 6))  # fmt: skip
    width = max(4, len(str(int(along.max(initial=1)))))
    name = np.strings.add(np.strings.add(layout.names[road], class_names[cls]),
                          np.strings.zfill(along.astype(str), width))  # fmt: skip

    owner, maintainer = np.empty(n, dtype=object), np.empty(n, dtype=object)
    lot = rng.integers(0, 1_000_000, layout.length.size)[road]
    for c, (owners, keepers) in enumerate(_UNITS[c] for c in CODES):
        rows = np.flatnonzero(cls == c)
        owner[rows] = np.array(owners, dtype=object)[rng.integers(0, len(owners), rows.size)]
        keeper = owner[rows] if keepers is None else np.array(keepers, dtype=object)[
            lot[rows] % len(keepers)]  # fmt: skip
        maintainer[rows] = keeper

    status = rng.choice(len(STATUSES), n, p=[share for _, share in STATUSES])
    note = np.strings.add(class_names[cls], np.array(_NOTES)[status]).astype(object)
    note[status == 0] = None
    photo = np.strings.add(np.strings.add("photos/", code), ".jpg").astype(object)
    photo[rng.random(n) >= _PHOTO_SHARE] = None

    span = int((_LAST_DAY - _FIRST_DAY).astype(int))
    opened = rng.integers(0, span * 10 // 18, layout.length.size)[road]
    installed = opened + rng.integers(0, 120, n)
    renewed = rng.random(n) < 0.3
    later = installed + (rng.random(n) * (span - installed)).astype(np.int64)
    day = np.minimum(np.where(renewed, later, installed), span)

    department = np.array([item.department for item in items], dtype=object)[cls]
    values = (code, codes[cls], name, department, owner, maintainer, np.array(STATUSES)[status, 0],
              (_FIRST_DAY + day).astype(object), photo, note, geometry)  # fmt: skip
    columns = {k: np.asarray(v, dtype=object) for k, v in zip(COLUMNS, values, strict=True)}
    return gpd.GeoDataFrame(columns, geometry="geometry", crs=STORAGE_CRS)
