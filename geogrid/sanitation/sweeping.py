"""Sweeping coverage (道路清扫覆盖) of road segments, day by day (issue 10).

A road segment is measured on points every ``step_m`` along it (each stands for that much road,
like the patrol's road coverage, :func:`geogrid.patrol.coverage.road_cover`). A *track line*
joins two consecutive usable fixes of a sweeping vehicle or crew of the segment's own company
less than ``max_gap_s`` apart; it sweeps when its speed is at most ``max_speed_kmh``. A point
is swept by a track line that passes beside it: the point's foot on the line lies between the
line's two fixes, at most ``lateral_m`` away, and the line runs along the road there (within
``max_angle_deg``). A line that stops short of a point does not reach it, so a track covering
60 % of a segment sweeps 60 % of it. Visits of one tracker to a point more than
``pass_gap_s`` apart count as separate sweeps.

Per segment and day: the metres swept at least once (``swept_m``), the number of complete
sweeps (the largest *k* such that at least ``min_share`` of the length was swept *k* times),
the sweep-metres done towards the required sweeps (``fulfilled_m``: each point counts up to
the required number) and a status: done, short (fewer sweeps than required) or missed.

Fixes are read with a binary COPY (:func:`geogrid.db.binary.read_columns`), projected to
metres around the district's centre, and every test is a numpy array operation after one
shapely ``STRtree`` ``dwithin`` query per company.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Connection

from geogrid.db.binary import read_columns
from geogrid.errors import NotFound
from geogrid.patrol.coverage import metric_transformer
from geogrid.patrol.tracks import day_bounds
from geogrid.sanitation.areas import REQUIRED_SQL
from geogrid.sanitation.rules import SweepRule, sweep_status

Progress = Callable[[str, float], None]
#: Most sweeps counted per point and segment (beyond it, more sweeps change nothing).
MAX_COUNTED_SWEEPS = 9


# --- pure geometry -------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadSamples:
    """Points along road segments (metres): position, unit tangent, metres each stands for."""

    x: np.ndarray
    y: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    weight: np.ndarray
    segment: np.ndarray  # index of the segment of each point


def sample_roads(lines: np.ndarray, step_m: float) -> RoadSamples:
    """Points at the middles of equal pieces of at most ``step_m`` along each line (metres).

    A line of length L gets ``ceil(L / step_m)`` points at ``(k + ½) × L / n``; each stands for
    ``L / n`` metres and carries the direction of the line there. All in numpy: the vertices of
    every line are laid end to end and each point finds its piece by one binary search.
    """
    n_lines = len(lines)
    empty = np.zeros(0)
    if n_lines == 0:
        return RoadSamples(empty, empty, empty, empty, empty, np.zeros(0, np.intp))
    coords, which = shapely.get_coordinates(lines, return_index=True)
    dx, dy = np.diff(coords[:, 0]), np.diff(coords[:, 1])
    within = which[1:] == which[:-1]
    piece = np.where(within, np.hypot(dx, dy), 0.0)
    along = np.concatenate([[0.0], np.cumsum(piece)])
    first = np.searchsorted(which, np.arange(n_lines))
    last = np.searchsorted(which, np.arange(n_lines), "right") - 1
    length = along[last] - along[first]
    count = np.maximum(np.ceil(length / step_m), 1).astype(np.intp)
    segment = np.repeat(np.arange(n_lines), count)
    rank = np.arange(len(segment)) - np.repeat(np.cumsum(count) - count, count)
    weight = (length / count)[segment]
    at = along[first[segment]] + (rank + 0.5) * weight
    k = np.searchsorted(along, at, "right") - 1
    k = np.clip(k, first[segment], np.maximum(last[segment] - 1, first[segment]))
    k = np.minimum(k, len(piece) - 1) if len(piece) else k
    size = piece[k] if len(piece) else np.zeros(len(k))
    safe = np.where(size > 0, size, 1.0)
    frac = np.where(size > 0, (at - along[k]) / safe, 0.0)
    kx = dx[k] if len(dx) else np.zeros(len(k))
    ky = dy[k] if len(dy) else np.zeros(len(k))
    return RoadSamples(
        coords[k, 0] + frac * kx,
        coords[k, 1] + frac * ky,
        np.where(size > 0, kx / safe, 0.0),
        np.where(size > 0, ky / safe, 0.0),
        weight,
        segment,
    )


@dataclass(frozen=True)
class TrackLines:
    """Sweeping track lines (metres): owner (tracker index), start time, start and end."""

    owner: np.ndarray
    t0: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray


def sweeping_lines(
    owner: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    sweeps: np.ndarray,
    rule: SweepRule,
) -> TrackLines:
    """The track lines that may sweep, from fixes sorted by owner then time (metres, s).

    Two consecutive fixes of one owner form a line when ``sweeps[owner]`` (its kind sweeps),
    they are 0 < Δt ≤ ``max_gap_s`` apart, the line has a length and its speed is at most
    ``max_speed_kmh``.
    """
    if len(owner) < 2:
        empty = np.zeros(0)
        return TrackLines(np.zeros(0, np.intp), empty, empty, empty, empty, empty)
    i = np.flatnonzero((owner[:-1] == owner[1:]) & sweeps[owner[:-1]])
    dt = t[i + 1] - t[i]
    metres = np.hypot(x[i + 1] - x[i], y[i + 1] - y[i])
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (dt > 0) & (dt <= rule.max_gap_s) & (metres > 0)
        keep &= metres <= rule.max_speed_mps * dt
    i = i[keep]
    return TrackLines(owner[i], t[i], x[i], y[i], x[i + 1], y[i + 1])


def sweep_passes(
    samples: RoadSamples,
    sample_group: np.ndarray,
    lines: TrackLines,
    line_group: np.ndarray,
    rule: SweepRule,
) -> np.ndarray:
    """Sweeps of each road point: distinct visits by track lines of its own group (company).

    A line visits a point when the point lies within ``lateral_m`` of it, its foot falls
    between the line's ends and the line runs within ``max_angle_deg`` of the road; visits of
    one owner more than ``pass_gap_s`` apart are separate sweeps.
    """
    passes = np.zeros(len(samples.x), dtype=np.int64)
    if len(samples.x) == 0 or len(lines.owner) == 0:
        return passes
    found_p, found_l = [], []
    for group in np.intersect1d(sample_group, line_group):
        pick_p = np.flatnonzero(sample_group == group)
        pick_l = np.flatnonzero(line_group == group)
        coords = np.stack(
            [lines.ax[pick_l], lines.ay[pick_l], lines.bx[pick_l], lines.by[pick_l]], axis=1
        )
        tree = shapely.STRtree(shapely.linestrings(coords.reshape(-1, 2, 2)))
        points = shapely.points(samples.x[pick_p], samples.y[pick_p])
        p, q = tree.query(points, predicate="dwithin", distance=rule.lateral_m)
        found_p.append(pick_p[p])
        found_l.append(pick_l[q])
    if not found_p:
        return passes
    p, q = np.concatenate(found_p), np.concatenate(found_l)
    vx, vy = lines.bx[q] - lines.ax[q], lines.by[q] - lines.ay[q]
    size = np.hypot(vx, vy)
    foot = ((samples.x[p] - lines.ax[q]) * vx + (samples.y[p] - lines.ay[q]) * vy) / size**2
    along = np.abs(vx * samples.ux[p] + vy * samples.uy[p]) / size
    beside = (foot >= 0) & (foot <= 1) & (along >= np.cos(np.radians(rule.max_angle_deg)) - 1e-9)
    p, q = p[beside], q[beside]
    if len(p) == 0:
        return passes
    owner, t0 = lines.owner[q], lines.t0[q]
    order = np.lexsort((t0, owner, p))
    p, owner, t0 = p[order], owner[order], t0[order]
    new = np.ones(len(p), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (owner[1:] != owner[:-1]) | (t0[1:] - t0[:-1] > rule.pass_gap_s)
    return np.bincount(p[new], minlength=len(samples.x)).astype(np.int64)


def segment_sweeps(
    samples: RoadSamples,
    passes: np.ndarray,
    n_segments: int,
    required: np.ndarray,
    min_share: float,
) -> dict[str, np.ndarray]:
    """Per segment: ``share`` swept at least once (0–1), complete ``sweeps``, and
    ``fulfilled`` (0–1: the sweeps done towards the required, each point counting up to it)."""
    seg, w = samples.segment, samples.weight
    total = np.bincount(seg, weights=w, minlength=n_segments)
    safe = np.where(total > 0, total, 1.0)
    once = np.bincount(seg, weights=w * (passes >= 1), minlength=n_segments) / safe
    sweeps = np.zeros(n_segments, dtype=np.int64)
    top = min(int(passes.max(initial=0)), MAX_COUNTED_SWEEPS)
    for k in range(1, top + 1):
        share = np.bincount(seg, weights=w * (passes >= k), minlength=n_segments) / safe
        sweeps += share >= min_share - 1e-9
    need = required[seg]
    done = np.bincount(seg, weights=w * np.minimum(passes, need), minlength=n_segments)
    fulfilled = np.where(required > 0, done / (safe * np.maximum(required, 1)), 1.0)
    return {"share": once, "sweeps": sweeps, "fulfilled": fulfilled}


# --- reading the database --------------------------------------------------------------------

_SEGMENTS = f"""
SELECT s.id, s.area_id, a.name AS area_name, a.company_id, c.name AS company,
       s.road_class, s.road_name, s.length_m, {REQUIRED_SQL} AS required,
       c.contract_from, c.contract_to, ST_AsBinary(s.geom) AS wkb
FROM sanitation_segments s
JOIN sanitation_areas a ON a.district_code = s.district_code AND a.id = s.area_id
JOIN sanitation_companies c ON c.district_code = a.district_code AND c.id = a.company_id
WHERE CAST(:company AS text) IS NULL OR c.id = :company
ORDER BY s.id
"""

_TRACKERS = """
SELECT t.district_code, t.id, t.company_id, t.kind FROM sanitation_trackers t
WHERE CAST(:company AS text) IS NULL OR t.company_id = :company
ORDER BY t.id
"""

_FIXES = """
SELECT s.n::int4 AS owner, extract(epoch FROM f.fixed_at)::float8 AS t,
       ST_X(f.geom)::float8 AS lon, ST_Y(f.geom)::float8 AS lat
FROM unnest(%(ids)s::text[], %(districts)s::text[]) WITH ORDINALITY AS s(id, d, n)
JOIN fixes f ON f.district_code = s.d AND f.supervisor_id = s.id
 AND f.fixed_at >= %(t0)s AND f.fixed_at < %(t1)s
WHERE cardinality(f.flags) = 0
"""


@dataclass(frozen=True)
class Segments:
    """The segments measured (of one company or all), their figures' labels and samples."""

    table: pd.DataFrame  # id, area_id, area_name, company_id, company, road_class, …
    company_index: np.ndarray  # per segment: index in ``companies``
    companies: list[str]
    samples: RoadSamples


def resolve_company(conn: Connection, company: str | None) -> str | None:
    """A company's id from its id or name (None stays None); NotFound when unknown."""
    if company is None:
        return None
    found = conn.execute(
        sa.text("SELECT id FROM sanitation_companies WHERE id = :c OR name = :c ORDER BY id"),
        {"c": company},
    ).scalar()
    if found is None:
        raise NotFound(f"There is no sanitation company '{company}'.")
    return str(found)


def load_segments(
    conn: Connection, to_metric: Transformer, *, company: str | None, step_m: float
) -> Segments:
    """The segments (of ``company``, an id) with their labels, in metres, sampled."""
    rows = conn.execute(sa.text(_SEGMENTS), {"company": company}).mappings().all()
    table = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "wkb"} for r in rows],
        columns=[
            "id", "area_id", "area_name", "company_id", "company", "road_class", "road_name",
            "length_m", "required", "contract_from", "contract_to",
        ],
    )  # fmt: skip
    geoms = np.array([shapely.from_wkb(bytes(r["wkb"])) for r in rows], dtype=object)
    if len(geoms):
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(to_metric.transform(*xy.T)))
    companies = sorted(set(table["company_id"]))
    index = np.searchsorted(companies, table["company_id"].to_numpy(dtype=object))
    return Segments(table, index.astype(np.intp), companies, sample_roads(geoms, step_m))


@dataclass(frozen=True)
class Trackers:
    """The trackers whose fixes are read: ids, districts, company index, whether they sweep."""

    ids: list[str]
    districts: list[str]
    company_index: np.ndarray
    sweeps: np.ndarray


def load_trackers(
    conn: Connection, companies: list[str], *, company: str | None, rule: SweepRule
) -> Trackers:
    rows = conn.execute(sa.text(_TRACKERS), {"company": company}).all()
    rows = [r for r in rows if r.company_id in companies]
    index = np.searchsorted(companies, [r.company_id for r in rows]).astype(np.intp)
    return Trackers(
        [r.id for r in rows],
        [r.district_code for r in rows],
        index,
        np.array([r.kind in rule.kinds for r in rows], dtype=bool),
    )


@dataclass(frozen=True)
class DayFixes:
    """Usable fixes of one day, sorted by owner (tracker index) then time; metres."""

    owner: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray


def read_day_fixes(
    conn: Connection, trackers: Trackers, day: date, tz: str, to_metric: Transformer
) -> DayFixes:
    """The usable fixes of the trackers on local ``day`` (binary COPY), projected."""
    t0, t1 = day_bounds(day, tz)
    cols = read_columns(
        conn,
        _FIXES,
        {"ids": trackers.ids, "districts": trackers.districts, "t0": t0, "t1": t1},
        [("owner", "int4"), ("t", "float8"), ("lon", "float8"), ("lat", "float8")],
    )
    order = np.lexsort((cols["t"], cols["owner"]))
    x, y = to_metric.transform(cols["lon"][order], cols["lat"][order])
    owner = (cols["owner"][order] - 1).astype(np.intp)
    return DayFixes(owner, cols["t"][order], np.asarray(x), np.asarray(y))


def measure_day(
    segments: Segments, trackers: Trackers, fixes: DayFixes, rule: SweepRule
) -> dict[str, np.ndarray]:
    """The day's figures of every segment (pure): share, sweeps, fulfilled (see module)."""
    lines = sweeping_lines(fixes.owner, fixes.t, fixes.x, fixes.y, trackers.sweeps, rule)
    samples = segments.samples
    passes = sweep_passes(
        samples,
        segments.company_index[samples.segment],
        lines,
        trackers.company_index[lines.owner],
        rule,
    )
    required = segments.table["required"].to_numpy(dtype=np.int64)
    return segment_sweeps(samples, passes, len(segments.table), required, rule.min_share)


def _due(table: pd.DataFrame, day: date) -> np.ndarray:
    """Segments due on ``day``: their company under contract and at least one sweep required."""
    start = table["contract_from"].to_numpy(dtype=object)
    end = table["contract_to"].to_numpy(dtype=object)
    under = np.array(
        [
            s <= day and (e is None or pd.isna(e) or day <= e)
            for s, e in zip(start, end, strict=True)
        ],
        dtype=bool,
    )
    return under & (table["required"].to_numpy(dtype=np.int64) > 0)


DAY_COLUMNS = (
    "day", "segment_id", "company_id", "company", "area_id", "area_name", "road_class",
    "road_name", "length_m", "required", "swept_m", "swept_share", "sweeps", "fulfilled_m",
    "fulfilment", "status",
)  # fmt: skip


def sweep_days(
    conn: Connection,
    first: date,
    last: date,
    *,
    company: str | None = None,
    rule: SweepRule | None = None,
    tz: str = "Asia/Shanghai",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Every segment on every local day of ``first``..``last`` its company was due to sweep it.

    Parameters
    ----------
    company
        A company's id or name; None: every company.
    rule
        When a road counts as swept (:class:`geogrid.sanitation.rules.SweepRule` defaults).

    Returns
    -------
    DataFrame
        One row per segment-day, columns :data:`DAY_COLUMNS`: lengths in metres (the
        segment's geodesic length), ``swept_share`` and ``fulfilment`` in percent (2
        decimals), ``status`` done, short or missed.
    """
    rule = rule or SweepRule()
    report = progress or (lambda stage, fraction: None)
    company_id = resolve_company(conn, company)
    to_metric = metric_transformer(conn)
    segments = load_segments(conn, to_metric, company=company_id, step_m=rule.step_m)
    trackers = load_trackers(conn, segments.companies, company=company_id, rule=rule)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    frames: list[pd.DataFrame] = []
    if segments.table.empty:
        report("done", 1.0)
        return pd.DataFrame(columns=list(DAY_COLUMNS))
    # the next day's fixes are read on a second connection while this one's are measured
    with conn.engine.connect() as side, ThreadPoolExecutor(1) as reader:
        pending = reader.submit(read_day_fixes, side, trackers, days[0], tz, to_metric)
        for k, day in enumerate(days):
            report(f"sweeping {day.isoformat()}", k / len(days))
            fixes = pending.result()
            if k + 1 < len(days):
                pending = reader.submit(read_day_fixes, side, trackers, days[k + 1], tz, to_metric)
            figures = measure_day(segments, trackers, fixes, rule)
            frames.append(_day_frame(segments.table, day, figures))
    report("done", 1.0)
    return pd.concat(frames, ignore_index=True)


def _day_frame(table: pd.DataFrame, day: date, figures: dict[str, np.ndarray]) -> pd.DataFrame:
    due = _due(table, day)
    t = table[due]
    length = t["length_m"].to_numpy(dtype=float)
    share = figures["share"][due]
    fulfilled = figures["fulfilled"][due]
    required = t["required"].to_numpy(dtype=np.int64)
    sweeps = figures["sweeps"][due]
    return pd.DataFrame(
        {
            "day": day,
            "segment_id": t["id"].to_numpy(),
            "company_id": t["company_id"].to_numpy(),
            "company": t["company"].to_numpy(),
            "area_id": t["area_id"].to_numpy(),
            "area_name": t["area_name"].to_numpy(),
            "road_class": t["road_class"].to_numpy(),
            "road_name": t["road_name"].to_numpy(),
            "length_m": np.round(length, 1),
            "required": required,
            "swept_m": np.round(share * length, 1),
            "swept_share": np.round(share * 100, 2),
            "sweeps": sweeps,
            "fulfilled_m": np.round(fulfilled * length * required, 1),
            "fulfilment": np.round(fulfilled * 100, 2),
            "status": [sweep_status(int(s), int(r)) for s, r in zip(sweeps, required, strict=True)],
        },
        columns=list(DAY_COLUMNS),
    )


def tracker_count(conn: Connection) -> dict[str, Any]:
    """Trackers per kind (for notices: no sweeping vehicle registered)."""
    rows = conn.execute(sa.text("SELECT kind, count(*) FROM sanitation_trackers GROUP BY kind"))
    return {str(k): int(n) for k, n in rows}
