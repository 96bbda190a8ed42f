"""Response time of supervisors sent to a place (DOMAIN.md §5: reach it within 20 minutes).

A task sends a supervisor to a location at a dispatch time. The response time is the time from
dispatch until the supervisor's track first comes within ``radius_m`` (50 m) of the location:
the track runs straight between consecutive usable fixes less than ``max_gap_s`` apart, so the
moment is interpolated on the segment that enters the circle (to the second); an isolated fix
counts at its own time. The search ends with the local day of dispatch; a task not reached by
then is ``reached: false``.

Tasks come from the cases (the supervisor assigned to the case's grid on that day, dispatched
within their shift): ``verify`` (核实) tasks for cases reported by the public, the hotline or a
community, dispatched when reported; ``check`` (核查) tasks for every handled case, dispatched
when the department reported it handled. A client may also send its own tasks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.indicators.rules import rate
from geogrid.io.tables import Sheet, csv_lines, write_xlsx
from geogrid.patrol.coverage import metric_transformer, read_day_tracks
from geogrid.patrol.tracks import day_bounds

RADIUS_M = 50.0
TARGET_S = 20 * 60
KINDS = {"verify": "核实", "check": "核查", "manual": "指派"}


@dataclass(frozen=True)
class Task:
    """A supervisor sent to (lon, lat) at ``dispatched_at`` (aware) for a case."""

    case_id: str
    supervisor_id: str
    lon: float
    lat: float
    dispatched_at: datetime
    kind: str = "manual"


_FROM_CASES = """
WITH tasks AS (
    SELECT district_code, case_id, 'verify' AS kind,
           coalesce(reported_at, registered_at) AS dispatched_at, geom, grid_code
    FROM cases
    WHERE source IN ('public', 'hotline', 'community')
      AND coalesce(reported_at, registered_at) >= :t0
      AND coalesce(reported_at, registered_at) < :t1
    UNION ALL
    SELECT district_code, case_id, 'check', handled_at, geom, grid_code
    FROM cases WHERE handled_at >= :t0 AND handled_at < :t1
), posted AS (
    SELECT t.*, sg.supervisor_id, (t.dispatched_at AT TIME ZONE :tz) AS local_at
    FROM tasks t
    JOIN supervisor_grids sg ON sg.district_code = t.district_code
     AND sg.grid_code = t.grid_code
     AND sg.valid_from <= (t.dispatched_at AT TIME ZONE :tz)::date
     AND (sg.valid_to IS NULL OR sg.valid_to > (t.dispatched_at AT TIME ZONE :tz)::date)
    WHERE t.geom IS NOT NULL
      AND (CAST(:supervisor AS text) IS NULL OR sg.supervisor_id = :supervisor)
)
SELECT p.case_id, p.kind, p.supervisor_id, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,
       p.dispatched_at
FROM posted p
JOIN supervisors s ON s.district_code = p.district_code AND s.id = p.supervisor_id
LEFT JOIN supervisor_shifts h ON h.district_code = p.district_code
     AND h.supervisor_id = p.supervisor_id AND h.day = p.local_at::date
WHERE p.local_at::time >= coalesce(h.shift_start, s.shift_start)
  AND p.local_at::time < coalesce(h.shift_end, s.shift_end)
ORDER BY p.dispatched_at, p.case_id, p.kind
"""


def tasks_from_cases(
    conn: Connection,
    first: date,
    last: date,
    *,
    supervisor: str | None = None,
    tz: str = "Asia/Shanghai",
) -> list[Task]:
    """The verification tasks the cases of ``first``..``last`` gave to supervisors in shift."""
    t0, _ = day_bounds(first, tz)
    _, t1 = day_bounds(last, tz)
    rows = conn.execute(
        sa.text(_FROM_CASES), {"t0": t0, "t1": t1, "tz": tz, "supervisor": supervisor}
    ).mappings()
    return [
        Task(r["case_id"], r["supervisor_id"], r["lon"], r["lat"], r["dispatched_at"], r["kind"])
        for r in rows
    ]


def first_within(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    start: float,
    cx: float,
    cy: float,
    radius: float,
    max_gap_s: float,
) -> float | None:
    """Earliest time ≥ ``start`` when the track (fixes ``t, x, y`` sorted by time, metres)
    is within ``radius`` of (cx, cy); None when it never is.

    Positions between two fixes at most ``max_gap_s`` apart are interpolated linearly.
    """
    k = max(int(np.searchsorted(t, start, side="right")) - 1, 0)
    tt, xx, yy = t[k:], x[k:], y[k:]
    if len(tt) == 0:
        return None
    near = np.hypot(xx - cx, yy - cy) <= radius
    after = tt >= start
    candidates = np.nonzero(near & after)[0]
    # the segment running through ``start``, when ``start`` falls between two linked fixes
    if len(tt) > 1 and tt[0] < start < tt[1] and tt[1] - tt[0] <= max_gap_s:
        hit = _entry(tt[0], xx[0], yy[0], tt[1], xx[1], yy[1], cx, cy, radius, start)
        if hit is not None:
            return hit
    if not len(candidates):
        return None
    j = int(candidates[0])
    if j > 0 and tt[j] - tt[j - 1] <= max_gap_s:
        hit = _entry(tt[j - 1], xx[j - 1], yy[j - 1], tt[j], xx[j], yy[j], cx, cy, radius, start)
        if hit is not None:
            return hit
    return float(tt[j])


def _entry(
    t0: float,
    x0: float,
    y0: float,
    t1: float,
    x1: float,
    y1: float,
    cx: float,
    cy: float,
    radius: float,
    start: float,
) -> float | None:
    """Earliest time in [max(t0, start), t1] when the point moving x0,y0 → x1,y1 is in the
    circle; None when it is not during that interval."""
    s_min = max((start - t0) / (t1 - t0), 0.0) if t1 > t0 else 0.0
    dx, dy = x1 - x0, y1 - y0
    fx, fy = x0 - cx, y0 - cy
    a = dx * dx + dy * dy
    b = 2 * (fx * dx + fy * dy)
    c = fx * fx + fy * fy - radius * radius
    if a == 0:
        return max(t0, start) if c <= 0 else None
    disc = b * b - 4 * a * c
    if disc < 0:
        return None
    root = disc**0.5
    s_in, s_out = (-b - root) / (2 * a), (-b + root) / (2 * a)
    if s_out < s_min or s_in > 1:
        return None
    s = max(s_in, s_min)
    return float(t0 + s * (t1 - t0))


@dataclass
class ResponseTable:
    """Each task with its response, per supervisor figures and the totals."""

    tasks: list[dict[str, Any]]
    supervisors: list[dict[str, Any]]
    totals: dict[str, Any]


def _summary(rows: list[dict[str, Any]], target_s: int) -> dict[str, Any]:
    times = [r["response_s"] for r in rows if r["reached"]]
    within = sum(1 for s in times if s <= target_s)
    return {
        "tasks": len(rows),
        "reached": len(times),
        "within_target": within,
        "within_target_rate": rate(within, len(rows)),
        "median_response_s": round(median(times)) if times else None,
    }


def response_times(
    conn: Connection,
    tasks: list[Task],
    *,
    radius_m: float = RADIUS_M,
    target_s: int = TARGET_S,
    max_gap_s: int = 120,
    tz: str = "Asia/Shanghai",
) -> ResponseTable:
    """The response of every task: reached or not, when, seconds after dispatch."""
    to_metric = metric_transformer(conn)
    zone = ZoneInfo(tz)
    by_day: dict[date, list[int]] = defaultdict(list)
    for n, task in enumerate(tasks):
        by_day[task.dispatched_at.astimezone(zone).date()].append(n)
    reached: dict[int, float | None] = {}
    for day, numbers in sorted(by_day.items()):
        ids = sorted({tasks[n].supervisor_id for n in numbers})
        track = read_day_tracks(conn, ids, day, tz, to_metric)
        starts = np.searchsorted(track.owner, np.arange(len(ids) + 1))
        for n in numbers:
            task = tasks[n]
            o = ids.index(task.supervisor_id)
            part = slice(starts[o], starts[o + 1])
            cx, cy = to_metric.transform(task.lon, task.lat)
            reached[n] = first_within(
                track.t[part],
                track.x[part],
                track.y[part],
                task.dispatched_at.timestamp(),
                cx,
                cy,
                radius_m,
                max_gap_s,
            )
    rows: list[dict[str, Any]] = []
    for n, task in enumerate(tasks):
        at = reached.get(n)
        seconds = None if at is None else int(at - task.dispatched_at.timestamp() + 0.5)
        rows.append(
            {
                "case_id": task.case_id,
                "kind": task.kind,
                "supervisor_id": task.supervisor_id,
                "lon": task.lon,
                "lat": task.lat,
                "dispatched_at": task.dispatched_at.isoformat(),
                "reached": at is not None,
                "reached_at": None
                if at is None
                else datetime.fromtimestamp(round(at), zone).isoformat(),
                "response_s": seconds,
                "within_target": seconds is not None and seconds <= target_s,
            }
        )
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        per[row["supervisor_id"]].append(row)
    supervisors = [{"supervisor_id": sup, **_summary(per[sup], target_s)} for sup in sorted(per)]
    totals = {"radius_m": radius_m, "target_s": target_s, **_summary(rows, target_s)}
    return ResponseTable(rows, supervisors, totals)


TASK_COLUMNS = (
    ("case_id", "案卷号"),
    ("kind", "任务类型"),
    ("supervisor_id", "监督员编号"),
    ("dispatched_at", "派遣时间"),
    ("reached_at", "到达时间"),
    ("response_s", "响应时间(秒)"),
    ("within_target", "20分钟内到达"),
)
SUPERVISOR_COLUMNS = (
    ("supervisor_id", "监督员编号"),
    ("tasks", "任务数"),
    ("reached", "到达数"),
    ("within_target", "按时到达数"),
    ("within_target_rate", "按时到达率(%)"),
    ("median_response_s", "响应时间中位数(秒)"),
)


def _task_cells(table: ResponseTable) -> list[list[object]]:
    return [
        [
            KINDS.get(r[c], r[c])
            if c == "kind"
            else ("是" if r[c] else "否")
            if c == "within_target"
            else r[c]
            for c, _ in TASK_COLUMNS
        ]
        for r in table.tasks
    ]


def response_csv(table: ResponseTable) -> list[str]:
    """The tasks as CSV lines (Chinese headers, UTF-8 with BOM)."""
    return list(csv_lines([label for _, label in TASK_COLUMNS], _task_cells(table)))


def response_xlsx(table: ResponseTable, path: Path) -> None:
    """Per supervisor figures, then every task."""
    write_xlsx(
        [
            Sheet(
                "监督员响应",
                [label for _, label in SUPERVISOR_COLUMNS],
                [[s[c] for c, _ in SUPERVISOR_COLUMNS] for s in table.supervisors],
                widths=[14, 10, 10, 12, 14, 18],
            ),
            Sheet(
                "核实核查任务",
                [label for _, label in TASK_COLUMNS],
                _task_cells(table),
                widths=[20, 10, 12, 26, 26, 14, 14],
            ),
        ],
        path,
    )
