"""Patrol figures of a period per supervisor, community, street or district (DOMAIN.md §5).

Built from :func:`geogrid.patrol.coverage.patrol_days`. Per row:

- ``assigned_grids``: distinct grids assigned in the period; ``patrolled_grids``: those
  patrolled on at least one day; ``never_patrolled`` the rest (the list in ``grids_never``).
- ``coverage_rate`` = patrolled grid-days / assigned grid-days × 100: the daily coverage
  rate averaged over the period, each day weighted by its assigned grids (for one supervisor
  with a fixed area, the plain mean of the daily rates).
- ``online_rate`` = online shift minutes / shift minutes × 100 (standard ≥ 60 %);
  ``offline_minutes`` the rest of the shift; ``off_post_minutes`` online shift time more than
  100 m outside the assigned grids.
- With ``roads``, the second measure: ``road_coverage_rate`` = road metre-days within the
  buffer of the track / road metre-days in the assigned grids × 100 (null otherwise).

Grids belong to the community and street of their version on the day; a supervisor's online
and off-post time belongs to the unit holding most of their assigned grid-days (their post).
Rates are percentages rounded half up to 2 decimals, null when there is nothing to divide.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter
from geogrid.indicators.rules import rate
from geogrid.io.tables import Sheet, csv_lines, write_xlsx
from geogrid.patrol.coverage import CoverageRule, Progress, SupervisorDay, patrol_days

LEVELS = ("supervisor", "community", "street", "district")
COLUMNS = (
    "code",
    "name",
    "supervisors",
    "days",
    "assigned_grids",
    "patrolled_grids",
    "never_patrolled",
    "grid_days",
    "patrolled_grid_days",
    "coverage_rate",
    "shift_minutes",
    "online_minutes",
    "online_rate",
    "offline_minutes",
    "off_post_minutes",
    "fixes",
    "road_m",
    "road_covered_m",
    "road_coverage_rate",
)
LABELS = {
    "code": "编码",
    "name": "名称",
    "supervisors": "监督员数",
    "days": "在岗天数",
    "assigned_grids": "责任网格数",
    "patrolled_grids": "已巡查网格数",
    "never_patrolled": "未巡查网格数",
    "grid_days": "应巡查网格·天",
    "patrolled_grid_days": "已巡查网格·天",
    "coverage_rate": "巡查覆盖率(%)",
    "shift_minutes": "班次时长(分钟)",
    "online_minutes": "在线时长(分钟)",
    "online_rate": "上线率(%)",
    "offline_minutes": "离线时长(分钟)",
    "off_post_minutes": "脱岗时长(分钟)",
    "fixes": "有效定位点数",
    "road_m": "道路长度(米)",
    "road_covered_m": "巡查道路长度(米)",
    "road_coverage_rate": "道路覆盖率(%)",
}
LEVEL_LABELS = {"supervisor": "监督员", "community": "社区", "street": "街道", "district": "区"}


@dataclass
class CoverageTable:
    """The rows of a period at one level, the district's totals and the rule used."""

    level: str
    first: date
    last: date
    rule: CoverageRule
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


class _Unit:
    def __init__(self) -> None:
        self.supervisors: set[str] = set()
        self.days: set[tuple[str, date]] = set()
        self.assigned: set[str] = set()
        self.patrolled: set[str] = set()
        self.grid_days = 0
        self.patrolled_days = 0
        self.shift_s = 0.0
        self.online_s = 0.0
        self.off_post_s = 0.0
        self.fixes = 0
        self.road_m = 0.0
        self.road_covered_m = 0.0
        self.roads = False

    def add_grids(self, day: SupervisorDay, grids: list[str], min_dwell_s: float) -> None:
        for code in grids:
            self.assigned.add(code)
            self.grid_days += 1
            if day.dwell[code] >= min_dwell_s:
                self.patrolled.add(code)
                self.patrolled_days += 1
            if code in day.roads:
                self.roads = True
                self.road_m += day.roads[code][0]
                self.road_covered_m += day.roads[code][1]

    def add_person(self, day: SupervisorDay) -> None:
        self.supervisors.add(day.supervisor_id)
        self.days.add((day.supervisor_id, day.day))
        self.shift_s += day.shift_s
        self.online_s += min(day.online_s, day.shift_s)
        self.off_post_s += day.off_post_s
        self.fixes += day.fixes

    def row(self, code: str, name: str) -> dict[str, Any]:
        shift, online = round(self.shift_s), round(self.online_s)
        return {
            "code": code,
            "name": name,
            "supervisors": len(self.supervisors),
            "days": len(self.days),
            "assigned_grids": len(self.assigned),
            "patrolled_grids": len(self.patrolled),
            "never_patrolled": len(self.assigned) - len(self.patrolled),
            "grid_days": self.grid_days,
            "patrolled_grid_days": self.patrolled_days,
            "coverage_rate": rate(self.patrolled_days, self.grid_days),
            "shift_minutes": round(self.shift_s / 60, 1),
            "online_minutes": round(self.online_s / 60, 1),
            "online_rate": rate(online, shift),
            "offline_minutes": round((self.shift_s - self.online_s) / 60, 1),
            "off_post_minutes": round(self.off_post_s / 60, 1),
            "fixes": self.fixes,
            "road_m": round(self.road_m, 1) if self.roads else None,
            "road_covered_m": round(self.road_covered_m, 1) if self.roads else None,
            "road_coverage_rate": rate(round(self.road_covered_m), round(self.road_m))
            if self.roads
            else None,
            "grids_never": sorted(self.assigned - self.patrolled),
        }


def _key(day: SupervisorDay, code: str, level: str) -> str:
    community, street = day.units[code]
    return {"community": community, "street": street}.get(level, code[:6])


def _names(conn: Connection, level: str) -> dict[str, str]:
    if level == "supervisor":
        sql = "SELECT id, name FROM supervisors"
    elif level == "district":
        sql = "SELECT code, name FROM districts"
    else:
        table = "communities" if level == "community" else "streets"
        sql = f"SELECT DISTINCT ON (code) code, name FROM {table} ORDER BY code, valid_from DESC"
    return {str(c): str(n) for c, n in conn.execute(sa.text(sql))}


def coverage_table(
    conn: Connection,
    first: date,
    last: date,
    *,
    level: str = "supervisor",
    supervisor: str | None = None,
    rule: CoverageRule = CoverageRule(),
    tz: str = "Asia/Shanghai",
    roads: bool = False,
    progress: Progress | None = None,
) -> CoverageTable:
    """Coverage, online rate and off-post time of ``first``..``last`` per ``level``.

    With ``roads``, also the road coverage (slower: points along every road are tested).
    """
    if level not in LEVELS:
        raise InvalidParameter(f"Parameter 'level' must be one of {', '.join(LEVELS)}.")
    if last < first:
        raise InvalidParameter("Parameter 'to' is before 'from'.")
    days = patrol_days(
        conn, first, last, supervisor=supervisor, rule=rule, tz=tz, roads=roads, progress=progress
    )
    units: dict[str, _Unit] = defaultdict(_Unit)
    whole = _Unit()
    for day in days:
        whole.add_person(day)
        whole.add_grids(day, list(day.dwell), rule.min_dwell_s)
        if level == "supervisor":
            units[day.supervisor_id].add_person(day)
            units[day.supervisor_id].add_grids(day, list(day.dwell), rule.min_dwell_s)
            continue
        grids: dict[str, list[str]] = defaultdict(list)
        for code in day.dwell:
            grids[_key(day, code, level)].append(code)
        for key, codes in grids.items():
            units[key].add_grids(day, codes, rule.min_dwell_s)
    if level != "supervisor":
        # a person's time goes to the unit holding most of their assigned grid-days
        homes: dict[str, Counter[str]] = defaultdict(Counter)
        for day in days:
            homes[day.supervisor_id].update(_key(day, code, level) for code in day.dwell)
        for day in days:
            if homes[day.supervisor_id]:
                home = homes[day.supervisor_id].most_common(1)[0][0]
                units[home].add_person(day)
    names = _names(conn, level)
    rows = [units[key].row(key, names.get(key, "")) for key in sorted(units)]
    totals = whole.row("", "合计")
    return CoverageTable(level, first, last, rule, rows, totals)


def _cells(table: CoverageTable) -> Iterator[Sequence[object]]:
    for row in [*table.rows, table.totals]:
        yield [row[c] for c in COLUMNS]


def _headers(level: str) -> list[str]:
    label = LEVEL_LABELS[level]
    return [f"{label}{LABELS[c]}" if c in ("code", "name") else LABELS[c] for c in COLUMNS]


def coverage_csv(table: CoverageTable) -> Iterator[str]:
    """The table as CSV lines (Chinese headers, UTF-8 with BOM, totals last)."""
    return csv_lines(_headers(table.level), _cells(table))


def coverage_xlsx(table: CoverageTable, path: Path) -> None:
    """The table as an XLSX workbook: the figures, then the grids never patrolled."""
    never = ([row["code"], row["name"], code] for row in table.rows for code in row["grids_never"])
    level = LEVEL_LABELS[table.level]
    write_xlsx(
        [
            Sheet(
                f"巡查覆盖 {table.first}~{table.last}"[:31],
                _headers(table.level),
                _cells(table),
                widths=[18, 14] + [12] * (len(COLUMNS) - 2),
            ),
            Sheet(
                "未巡查网格",
                [f"{level}编码", f"{level}名称", "网格编码"],
                never,
                widths=[18, 14, 18],
            ),
        ],
        path,
    )
