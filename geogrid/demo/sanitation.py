"""Synthetic sanitation companies, their areas, vehicles and crews, and a few days of their
tracks for a demo district (issue 10).

:func:`build_sanitation` draws them without a database; :func:`load_demo_sanitation` writes
them. Everything is drawn from seeded ``numpy`` generators: one seed, one sanitation demo.

1. **Companies and areas**: three companies (fewer for a district of fewer streets) split the
   district by streets: each street is a cleaning area (保洁责任区) of the company holding it,
   with the default service level (main roads twice a day, secondary roads and alleys once).
   Each company is the responsible unit of the sanitation subclasses in its areas: one
   responsibility rule of unit kind ``company`` per area and subclass, so dispatch sends the
   cases there; the loader dispatches the demo's sanitation cases by them.
2. **Segments**: the demo roads cut between crossings with main and secondary roads
   (:func:`geogrid.sanitation.segments.split_roads`), each in the area holding its midpoint.
   About 3 % of each company's segments are *skipped*: no vehicle or crew is sent there and
   the routes keep off them (a detour 50 times as long).
3. **Vehicles and crews**, on the demo roads noded at every crossing (the walking machinery
   of :mod:`geogrid.demo.patrol`): sweepers sweep their share of the company's main and
   secondary roads at 8–12 km/h (each road as often as required) and drive between them at
   25–36 km/h; a sweeper rushes about 3 % of its passes at 22–27 km/h (too fast: not swept);
   washers wash the main roads once; crews sweep the alleys at walking pace; garbage trucks
   drive to 15–25 collection points and stop a few minutes at each. Vehicles report every
   5 s, crews every 10 s, with GPS errors of 3–8 m; a vehicle done early parks and keeps
   reporting until its shift ends.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra
from sqlalchemy.engine import Engine

from geogrid.catalogue import Catalogue
from geogrid.demo.district import PROJECTED_CRS, STORAGE_CRS, DemoDistrict, Progress
from geogrid.demo.patrol import _bisect, _graph, _Network, _network, _pairs, _Track
from geogrid.dispatch.match import dispatch_table
from geogrid.dispatch.update import apply_responsibility_update, plan_responsibility_update
from geogrid.dispatch.upload import COLUMNS as RULE_COLUMNS
from geogrid.dispatch.upload import RuleUpload
from geogrid.patrol.fixes import STAGED, store_fixes
from geogrid.sanitation.areas import AreaSpec, SegmentSpec, replace_segments, store_areas
from geogrid.sanitation.fleet import (
    CompanySpec,
    TrackerSpec,
    register_companies,
    register_trackers,
)
from geogrid.sanitation.rules import SANITATION_SUB_CLASSES
from geogrid.sanitation.segments import assign_areas, segment_ids, split_roads


@dataclass(frozen=True)
class Fleet:
    """Vehicles and crews of each company."""

    sweepers: int
    washers: int
    crews: int
    trucks: int


#: Per company and scale (city: 51 vehicles, ~370,000 vehicle fixes a day, and 48 crews).
FLEETS = {"small": Fleet(1, 1, 2, 1), "city": Fleet(12, 2, 16, 3)}
#: Days of sanitation tracks the demo loads per scale, ending with the last patrol day.
SANITATION_DAYS = {"small": 3, "city": 2}
COMPANIES = (
    ("C1", "呈贡城洁环境服务有限公司"),
    ("C2", "云南绿源环卫工程有限公司"),
    ("C3", "昆明净美保洁服务有限公司"),
)
CONTRACT = (date(2019, 1, 1), date(2027, 12, 31))
SKIPPED_SHARE = 0.03
RUSH_CHANCE = 0.03
SWEEP_MPS = {"sweeper": (2.2, 3.3), "washer": (2.2, 3.3), "crew": (0.8, 1.2)}
TRANSIT_MPS = {"sweeper": (7.0, 10.0), "washer": (7.0, 10.0), "crew": (1.2, 1.4)}
TRUCK_MPS = (6.0, 9.0)
RUSH_MPS = (6.0, 7.5)
SHIFT_H = {"sweeper": (6.0, 16.0), "washer": (6.0, 16.0), "crew": (7.0, 17.0)}
TRUCK_SHIFT_H = (5.0, 13.0)
INTERVAL_S = {"crew": 10.0}
VEHICLE_INTERVAL_S = 5.0
_HOUR = 3600.0
_DETOUR = 50.0
_LOCAL_REACH_M = 2000.0
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class DemoSanitation:
    """Companies, areas, segments, vehicles and crews, rules, fixes, skipped segments.

    ``fixes`` has the columns of :data:`geogrid.patrol.fixes.STAGED`; ``rules`` those of a
    responsibility rule file (:data:`geogrid.dispatch.upload.COLUMNS` and ``geometry``).
    """

    companies: list[CompanySpec]
    areas: list[AreaSpec]
    segments: list[SegmentSpec]
    trackers: list[TrackerSpec]
    rules: pd.DataFrame
    fixes: pd.DataFrame
    skipped: tuple[str, ...]


@dataclass
class _Plan:
    """One tracker's work: its edges and how often each is swept, or its stops."""

    spec: TrackerSpec
    targets: dict[int, int]
    stops: list[int]


class _Roads:
    """The routing graph: every road, the skipped segments' edges made long detours."""

    def __init__(self, net: _Network, detour: np.ndarray) -> None:
        self.net = net
        weights = net.lengths * np.where(detour, _DETOUR, 1.0)
        self.matrix, kept = _graph(net.ends, weights, len(net.nodes))
        self.pairs = _pairs(net.ends, kept)
        self.incident: list[list[int]] = [[] for _ in net.nodes]
        for e, (a, b) in enumerate(net.ends):
            self.incident[a].append(e)
            self.incident[b].append(e)

    def route(self, start: int, goals: np.ndarray) -> list[int]:
        """Edges of the shortest way from node ``start`` to the nearest of ``goals``."""
        for limit in (_LOCAL_REACH_M, np.inf):
            dist, previous = dijkstra(
                self.matrix, indices=start, limit=limit, return_predecessors=True
            )
            reach = dist[goals]
            if np.isfinite(reach).any():
                node = int(goals[int(np.argmin(reach))])
                path = [node]
                while path[-1] != start:
                    path.append(int(previous[path[-1]]))
                path.reverse()
                return [self.pairs[(min(a, b), max(a, b))] for a, b in itertools.pairwise(path)]
        return []

    def other_end(self, edge: int, node: int) -> int:
        a, b = self.net.ends[edge]
        return int(b if a == node else a)


def _sweep_walk(
    roads: _Roads, plan: _Plan, rng: np.random.Generator, kind: str
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One day of a sweeper, washer or crew: timed vertices (metres, s after midnight)."""
    net = roads.net
    start = (SHIFT_H[kind][0] + rng.uniform(-0.1, 0.2)) * _HOUR
    end = (SHIFT_H[kind][1] + rng.uniform(-0.2, 0.1)) * _HOUR
    lunch_at, lunch_s = rng.uniform(11.4, 11.7) * _HOUR, rng.uniform(45, 60) * 60
    needs = dict(plan.targets)
    first = np.unique(net.ends[list(needs)]) if needs else np.arange(1)
    at = int(rng.choice(first))
    track = _Track(net.nodes[at], start)
    sweep = rng.uniform(*SWEEP_MPS[kind])
    while track.now < end:
        if track.now >= lunch_at:
            track.stay(lunch_s)
            lunch_at = math.inf
            continue
        here = [e for e in roads.incident[at] if needs.get(e, 0) > 0]
        if here:
            most = max(needs[e] for e in here)
            edge = int(rng.choice([e for e in here if needs[e] == most]))
            rush = kind == "sweeper" and rng.random() < RUSH_CHANCE
            speed = rng.uniform(*RUSH_MPS) if rush else sweep * rng.uniform(0.9, 1.1)
            track.move(net, edge, at, speed)
            needs[edge] -= 1
            at = roads.other_end(edge, at)
            continue
        left = [e for e, n in needs.items() if n > 0]
        path = roads.route(at, np.unique(net.ends[left])) if left else []
        if not path:  # all done (or out of reach): park until the shift ends
            track.stay(max(end - track.now, 1.0))
            break
        speed = rng.uniform(*TRANSIT_MPS[kind])
        for edge in path:
            track.move(net, edge, at, speed)
            at = roads.other_end(edge, at)
    xy, t = track.arrays()
    return xy, t, start, end


def _truck_walk(
    roads: _Roads, plan: _Plan, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One day of a garbage truck: to each collection point, a few minutes there, back."""
    net = roads.net
    start = (TRUCK_SHIFT_H[0] + rng.uniform(0, 0.3)) * _HOUR
    end = (TRUCK_SHIFT_H[1] + rng.uniform(-0.3, 0.3)) * _HOUR
    at = depot = plan.stops[0]
    track = _Track(net.nodes[at], start)
    speed = rng.uniform(*TRUCK_MPS)
    for stop in [*plan.stops[1:], depot]:
        for edge in roads.route(at, np.array([stop])):
            track.move(net, edge, at, speed)
            at = roads.other_end(edge, at)
        track.stay(rng.uniform(3, 6) * 60)
        if track.now >= end:
            break
    track.stay(max(end - track.now, 1.0))
    xy, t = track.arrays()
    return xy, t, start, end


def _fixes(
    xy: np.ndarray, t: np.ndarray, start: float, end: float, interval: float, rng: Any
) -> dict[str, np.ndarray]:
    """Fixes every ``interval`` s along a timed walk: noisy positions (metres), speed, heading."""
    seconds = np.arange(math.ceil(start), end, interval)
    n = len(seconds)
    true = np.column_stack([np.interp(seconds, t, xy[:, 0]), np.interp(seconds, t, xy[:, 1])])
    k = np.clip(np.searchsorted(t, seconds, side="right") - 1, 0, max(len(t) - 2, 0))
    span = np.maximum(t[np.minimum(k + 1, len(t) - 1)] - t[k], 1e-9)
    velocity = (xy[np.minimum(k + 1, len(t) - 1)] - xy[k]) / span[:, None]
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    heading = np.where(
        speed > 0.2,
        np.round(np.degrees(np.arctan2(velocity[:, 0], velocity[:, 1])) % 360, 1),
        np.nan,
    )
    accuracy = rng.uniform(3, 8, n)
    shocks = rng.normal(size=(n, 2)) * (accuracy / 2)[:, None]
    kernel = np.sqrt(1 - 0.7**2) * 0.7 ** np.arange(25)  # AR(1) error, as the patrol demo's
    error = np.column_stack([np.convolve(shocks[:, j], kernel)[:n] for j in (0, 1)])
    position = true + error
    return {
        "seconds": seconds,
        "x": position[:, 0],
        "y": position[:, 1],
        "accuracy_m": np.round(accuracy, 1),
        "speed_mps": np.round(speed, 2),
        "heading": np.where(heading >= 360, 0.0, heading),
    }


def _plate(rng: np.random.Generator, seen: set[str]) -> str:
    while True:
        plate = f"云A·{_PLATE_LETTERS[rng.integers(len(_PLATE_LETTERS))]}{rng.integers(10**4):04d}"
        if plate not in seen:
            seen.add(plate)
            return plate


def _trackers(
    company: str, area_name: str, fleet: Fleet, rng: np.random.Generator, plates: set[str]
) -> list[TrackerSpec]:
    out = []
    for kind, code, count in (
        ("sweeper", "SW", fleet.sweepers),
        ("washer", "WS", fleet.washers),
        ("crew", "BJ", fleet.crews),
        ("garbage_truck", "LY", fleet.trucks),
    ):
        for n in range(1, count + 1):
            tid = f"{company}-{code}{n:02d}"
            name = f"{area_name}保洁{n}组" if kind == "crew" else _plate(rng, plates)
            members = int(rng.integers(4, 9)) if kind == "crew" else None
            out.append(TrackerSpec(tid, company, kind, name, f"GPS-{tid}", members))
    return out


def _rules(companies: list[CompanySpec], areas: list[AreaSpec]) -> pd.DataFrame:
    """One rule per area and sanitation subclass: the area's company is responsible."""
    names = {c.id: c.name for c in companies}
    rows = []
    for area in areas:
        for sub in SANITATION_SUB_CLASSES:
            rows.append(
                {
                    "code": f"HW-{area.id}-{sub}",
                    "sub_class": sub,
                    "unit": names[area.company],
                    "unit_kind": "company",
                    "area_name": area.name,
                    "valid_from": CONTRACT[0].isoformat(),
                    "valid_to": CONTRACT[1].isoformat(),
                    "note": "环卫作业合同",
                    "geometry": area.geometry,
                }
            )
    frame = pd.DataFrame(rows)
    frame.insert(0, "where", [f"rule {i + 1}" for i in range(len(frame))])
    for column in RULE_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[["where", *RULE_COLUMNS, "geometry"]]


def build_sanitation(
    district: DemoDistrict,
    *,
    first: date,
    last: date,
    seed: int = 0,
    fleet: Fleet | None = None,
    tz: str = "Asia/Shanghai",
    progress: Progress | None = None,
) -> DemoSanitation:
    """Draw the sanitation demo of a district and its tracks from ``first`` to ``last``.

    Parameters
    ----------
    district
        What :func:`geogrid.demo.build_district` returned.
    first, last
        The local days of tracks.
    fleet
        Vehicles and crews per company (default :data:`FLEETS` of the district's scale, else
        the small one).
    """
    report = progress or (lambda stage, fraction: None)
    rng = np.random.default_rng((seed, 10))
    fleet = fleet or FLEETS.get(district.spec.name, FLEETS["small"])
    to_metric = Transformer.from_crs(STORAGE_CRS, PROJECTED_CRS, always_xy=True)
    to_storage = Transformer.from_crs(PROJECTED_CRS, STORAGE_CRS, always_xy=True)

    def metric(geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, lambda xy: np.column_stack(to_metric.transform(*xy.T)))

    streets = district.streets.sort_values("code").reset_index(drop=True)
    groups = np.array_split(np.arange(len(streets)), min(len(COMPANIES), len(streets)))
    companies = [CompanySpec(cid, name, *CONTRACT) for cid, name in COMPANIES[: len(groups)]]
    areas = [
        AreaSpec(
            f"{companies[k].id}-A{n + 1}",
            f"{streets['name'].iloc[i]}保洁责任区",
            companies[k].id,
            streets.geometry.iloc[i],
        )
        for k, rows in enumerate(groups)
        for n, i in enumerate(rows)
    ]
    report("cutting road segments", 0.0)
    roads = district.roads.to_crs(PROJECTED_CRS).reset_index(drop=True)
    pieces = split_roads(
        roads.geometry.values, roads["road_class"].tolist(), roads["name"].tolist()
    )
    lines = np.array([p.geometry for p in pieces], dtype=object)
    area_shapes = metric(np.array([a.geometry for a in areas], dtype=object))
    found = assign_areas(lines, area_shapes)
    keep = np.flatnonzero(found >= 0)
    lines, found = lines[keep], found[keep]
    classes = [pieces[k].road_class for k in keep]
    labels = [pieces[k].name for k in keep]
    ids = segment_ids([areas[a].id for a in found], classes, labels)
    lonlat = shapely.transform(lines, lambda xy: np.column_stack(to_storage.transform(*xy.T)))
    segments = [
        SegmentSpec(ids[n], areas[a].id, classes[n], labels[n] or None, lonlat[n])
        for n, a in enumerate(found)
    ]
    owner = np.array([areas[a].company for a in found], dtype=object)
    required = np.array([2 if c == "main" else 1 for c in classes])
    skipped = np.zeros(len(segments), dtype=bool)
    for company in companies:
        mine = np.flatnonzero(owner == company.id)
        count = max(1, round(SKIPPED_SHARE * len(mine))) if len(mine) else 0
        skipped[rng.choice(mine, count, replace=False)] = True

    report("noding roads", 0.05)
    grid_shapes = district.grids.to_crs(PROJECTED_CRS).geometry.values.to_numpy()
    net = _network(district, grid_shapes)
    edge, seg = shapely.STRtree(lines).query(net.midpoints, predicate="dwithin", distance=1.0)
    segment_of = np.full(len(net.lengths), -1)
    segment_of[edge[::-1]] = seg[::-1]  # the first match wins
    routing = _Roads(net, (segment_of >= 0) & skipped[np.maximum(segment_of, 0)])
    mids = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.5, normalized=True))

    trackers: list[TrackerSpec] = []
    plans: list[_Plan] = []
    plates: set[str] = set()
    for k, company in enumerate(companies):
        specs = _trackers(company.id, streets["name"].iloc[groups[k][0]], fleet, rng, plates)
        trackers += specs
        mine = (owner == company.id) & ~skipped
        work = {
            "sweeper": np.flatnonzero(mine & np.isin(classes, ["main", "secondary"])),
            "washer": np.flatnonzero(mine & (np.array(classes) == "main")),
            "crew": np.flatnonzero(mine & (np.array(classes) == "alley")),
        }
        nodes = np.unique(net.ends[np.isin(segment_of, np.flatnonzero(owner == company.id))])
        for kind, members in (
            (kind, [s for s in specs if s.kind == kind])
            for kind in ("sweeper", "washer", "crew", "garbage_truck")
        ):
            if not members:
                continue
            if kind == "garbage_truck":
                for spec in members:
                    stops = rng.choice(nodes, min(len(nodes), int(rng.integers(15, 26))), False)
                    plans.append(_Plan(spec, {}, [int(s) for s in stops]))
                continue
            rows = work[kind]
            parts = _bisect(mids, rows, len(members)) if len(rows) >= len(members) else []
            for n, spec in enumerate(members):
                share = parts[n] if parts else rows
                targets = {}
                for e in np.flatnonzero(np.isin(segment_of, share)):
                    targets[int(e)] = 1 if kind == "washer" else int(required[segment_of[e]])
                plans.append(_Plan(spec, targets, []))

    days = [d.date() for d in pd.date_range(first, last, freq="D")]
    midnights = [pd.Timestamp(d).tz_localize(tz).tz_convert("UTC").value for d in days]
    parts_out: list[dict[str, np.ndarray]] = []
    for i, plan in enumerate(plans):
        walker = np.random.default_rng((seed, 11, i))
        kind = plan.spec.kind
        for midnight in midnights:
            if kind == "garbage_truck":
                xy, t, start, end = _truck_walk(routing, plan, walker)
            else:
                xy, t, start, end = _sweep_walk(routing, plan, walker, kind)
            part = _fixes(xy, t, start, end, INTERVAL_S.get(kind, VEHICLE_INTERVAL_S), walker)
            part["fixed_at"] = midnight + part.pop("seconds").astype(np.int64) * 1_000_000_000
            part["who"] = np.full(len(part["fixed_at"]), i)
            parts_out.append(part)
        report("generating vehicle tracks", 0.1 + 0.9 * (i + 1) / len(plans))
    fixes = _frame(parts_out, [p.spec.id for p in plans], to_storage)
    skipped_ids = tuple(sorted(segments[n].id for n in np.flatnonzero(skipped)))
    return DemoSanitation(
        companies, areas, segments, trackers, _rules(companies, areas), fixes, skipped_ids
    )


def _frame(
    parts: list[dict[str, np.ndarray]], ids: list[str], to_storage: Transformer
) -> pd.DataFrame:
    """The fixes in the shape of the staging table, EPSG:4326, sorted by tracker and time."""
    if not parts:
        return pd.DataFrame(columns=list(STAGED))
    column = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    lon, lat = to_storage.transform(column["x"], column["y"])
    n = len(lon)
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
            "source": "gnss",
            "recorded_lon": None,
            "recorded_lat": None,
            "recorded_crs": None,
            "network": False,
        }
    )
    return frame[list(STAGED)]


_DISPATCH = """
UPDATE cases c SET department = m.unit, dispatch_rule = m.rule
FROM ({matches}) m
WHERE c.district_code = :d AND c.case_id = m.key AND m.rule IS NOT NULL
"""
_SANITATION_CASES = (
    "(SELECT case_id AS key, district_code, geom, case_type, sub_class, "
    "coalesce(dispatched_at, registered_at, reported_at) AS at FROM cases "
    "WHERE district_code = :d AND sub_class = ANY(:subs) AND geom IS NOT NULL)"
)


def load_demo_sanitation(
    engine: Engine,
    demo: DemoSanitation,
    *,
    district_code: str,
    catalogue: Catalogue,
    tz: str = "Asia/Shanghai",
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, int]:
    """Replace the district's sanitation demo with ``demo``, in one transaction.

    Companies, areas, segments, vehicles and crews are stored through the same functions as
    an upload; the responsibility rules through a plan applied at once; the district's
    sanitation cases are dispatched again by those rules (as if dispatch had run when they
    were registered); the fixes go through the ingest (:func:`store_fixes`).

    Returns
    -------
    dict of str to int
        ``companies``, ``areas``, ``segments``, ``trackers``, ``sanitation_rules``,
        ``sanitation_cases`` (dispatched to a company) and ``tracker_fixes``.
    """
    report = progress or (lambda stage, fraction: None)
    fixes = demo.fixes
    day = fixes["fixed_at"].dt.floor("D")
    days = day.drop_duplicates().sort_values().tolist()
    with engine.begin() as conn:
        report("sanitation: companies", 0.0)
        conn.execute(
            sa.text(
                "DELETE FROM fixes f USING sanitation_trackers t WHERE "
                "f.district_code = t.district_code AND f.supervisor_id = t.id"
            )
        )
        conn.execute(
            sa.text("DELETE FROM sanitation_companies WHERE district_code = :d"),
            {"d": district_code},
        )
        register_companies(conn, demo.companies, shown="demo companies")
        store_areas(conn, demo.areas, shown="demo areas")
        replace_segments(conn, demo.segments)
        register_trackers(conn, demo.trackers, shown="demo vehicles and crews")
        report("sanitation: responsibility rules", 0.1)
        digest = hashlib.sha256(demo.rules.drop(columns="geometry").to_csv().encode()).hexdigest()
        plan = plan_responsibility_update(
            conn,
            RuleUpload(demo.rules, "demo sanitation rules", digest, "EPSG:4326"),
            catalogue=catalogue,
            created_by="demo",
            tz=tz,
        )
        apply_responsibility_update(conn, plan.id, decided_by="demo")
        report("sanitation: dispatching cases", 0.2)
        dispatched = conn.execute(
            sa.text(_DISPATCH.format(matches=dispatch_table(_SANITATION_CASES))),
            {"d": district_code, "subs": list(SANITATION_SUB_CLASSES)},
        ).rowcount
        stored = 0
        for k, first in enumerate(days):
            report("sanitation: vehicle tracks", 0.3 + 0.7 * k / max(len(days), 1))
            part = fixes[(day == first).to_numpy()]
            stored += store_fixes(conn, part, district_code=district_code).inserted
        conn.execute(sa.text("ANALYZE fixes, cases, sanitation_segments"))
    report("sanitation: done", 1.0)
    return {
        "companies": len(demo.companies),
        "areas": len(demo.areas),
        "segments": len(demo.segments),
        "trackers": len(demo.trackers),
        "sanitation_rules": len(demo.rules),
        "sanitation_cases": int(dispatched),
        "tracker_fixes": stored,
    }
