"""Sweeping coverage of a period per company, area and road class, and the segments missed.

Built on :func:`geogrid.sanitation.sweeping.sweep_days` (one row per segment and day); written
as JSON-ready rows, CSV (every segment-day) and XLSX (the summaries and the segment-days).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from geogrid.io.tables import Sheet, csv_lines, write_xlsx
from geogrid.sanitation.rules import ROAD_CLASSES, STATUS_LABELS, SweepRule
from geogrid.sanitation.sweeping import DAY_COLUMNS, Progress, sweep_days

#: Rows listed as missed in JSON (the CSV and XLSX hold every segment-day).
MAX_MISSED = 5000
LABELS = {
    "day": "日期",
    "segment_id": "路段编号",
    "company_id": "公司编号",
    "company": "环卫公司",
    "area_id": "责任区编号",
    "area_name": "责任区",
    "road_class": "道路等级",
    "road_name": "路段名称",
    "length_m": "长度（米）",
    "required": "应扫遍数",
    "swept_m": "已扫长度（米）",
    "swept_share": "清扫覆盖率（%）",
    "sweeps": "完成遍数",
    "fulfilled_m": "完成作业量（米）",
    "fulfilment": "作业完成率（%）",
    "status": "状态",
    "segments": "路段数",
    "segment_days": "路段·日",
    "length_km": "道路长度（公里）",
    "swept_km": "已扫长度（公里）",
    "done": "达标",
    "short": "遍数不足",
    "missed": "漏扫",
    "done_rate": "达标率（%）",
}
SUMMARY = (
    "segments", "segment_days", "length_km", "swept_km", "swept_share", "fulfilment", "done",
    "short", "missed", "done_rate",
)  # fmt: skip
GROUPS = {
    "companies": ("company_id", "company"),
    "areas": ("company_id", "company", "area_id", "area_name"),
    "road_classes": ("company_id", "company", "road_class"),
    "groups": ("company_id", "company", "area_id", "area_name", "road_class"),
}


def _percent(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else round(numerator / denominator * 100, 2)


def summarise(days: pd.DataFrame) -> dict[str, Any]:
    """The summary figures of some segment-days (see :data:`SUMMARY`)."""
    length = float(days["length_m"].sum())
    work = float((days["length_m"] * days["required"]).sum())
    distinct = days.drop_duplicates("segment_id")
    status = days["status"].value_counts()
    n = len(days)
    return {
        "segments": len(distinct),
        "segment_days": n,
        "length_km": round(float(distinct["length_m"].sum()) / 1000, 3),
        "swept_km": round(float(days["swept_m"].sum()) / 1000, 3),
        "swept_share": _percent(float(days["swept_m"].sum()), length),
        "fulfilment": _percent(float(days["fulfilled_m"].sum()), work),
        "done": int(status.get("done", 0)),
        "short": int(status.get("short", 0)),
        "missed": int(status.get("missed", 0)),
        "done_rate": _percent(float(status.get("done", 0)), n),
    }


def _grouped(days: pd.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for values, part in days.groupby(list(keys), sort=True, dropna=False):
        row = dict(zip(keys, values if isinstance(values, tuple) else (values,), strict=True))
        if "road_class" in row:
            row["road_class_name"] = ROAD_CLASSES.get(str(row["road_class"]), row["road_class"])
        rows.append(row | summarise(part))
    return rows


@dataclass(frozen=True)
class SweepTable:
    """A period's sweeping coverage: every segment-day and its summaries."""

    first: date
    last: date
    company: str | None
    rule: SweepRule
    days: pd.DataFrame  # columns DAY_COLUMNS

    @property
    def totals(self) -> dict[str, Any]:
        return summarise(self.days)

    def summary(self, name: str) -> list[dict[str, Any]]:
        """Rows of ``companies``, ``areas``, ``road_classes`` or ``groups`` (all three keys)."""
        return _grouped(self.days, GROUPS[name]) if len(self.days) else []

    def missed(self, limit: int = MAX_MISSED) -> list[dict[str, Any]]:
        """The segment-days not done (short or missed), worst first."""
        bad = self.days[self.days["status"] != "done"]
        bad = bad.sort_values(["day", "swept_share", "segment_id"]).head(limit)
        return [_plain(r) for r in bad.to_dict("records")]

    def as_json(self) -> dict[str, Any]:
        bad = int((self.days["status"] != "done").sum())
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "company": self.company,
            "rule": self.rule.as_dict(),
            "totals": self.totals,
            "companies": self.summary("companies"),
            "areas": self.summary("areas"),
            "road_classes": self.summary("road_classes"),
            "groups": self.summary("groups"),
            "missed_count": bad,
            "missed": self.missed(),
        }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()
    }
    out["day"] = row["day"].isoformat()
    for k in ("required", "sweeps"):
        out[k] = int(row[k])
    return out


def sweep_table(
    conn: Connection,
    first: date,
    last: date,
    *,
    company: str | None = None,
    rule: SweepRule | None = None,
    tz: str = "Asia/Shanghai",
    progress: Progress | None = None,
) -> SweepTable:
    """Sweeping coverage of ``first``..``last`` (local days), of one company or all."""
    rule = rule or SweepRule()
    days = sweep_days(conn, first, last, company=company, rule=rule, tz=tz, progress=progress)
    return SweepTable(first, last, company, rule, days)


def _cell(column: str, value: Any) -> Any:
    if column == "road_class":
        return ROAD_CLASSES.get(str(value), value)
    if column == "status":
        return STATUS_LABELS.get(str(value), value)
    if column == "day":
        return value.isoformat()
    return value


def _day_rows(table: SweepTable) -> Iterator[list[Any]]:
    for row in table.days.itertuples(index=False):
        yield [_cell(c, getattr(row, c)) for c in DAY_COLUMNS]


def sweep_csv(table: SweepTable) -> Iterator[str]:
    """Every segment-day as CSV lines (Chinese headers, UTF-8 with BOM)."""
    return csv_lines([LABELS[c] for c in DAY_COLUMNS], _day_rows(table))


def _summary_sheet(table: SweepTable, name: str, title: str) -> Sheet:
    keys = [k for k in GROUPS[name] if k != "company_id"]
    headers = [LABELS[k] for k in keys] + [LABELS[c] for c in SUMMARY]
    rows = [[_cell(k, r[k]) for k in keys] + [r[c] for c in SUMMARY] for r in table.summary(name)]
    total = table.totals
    rows.append(["合计", *([""] * (len(keys) - 1)), *(total[c] for c in SUMMARY)])
    return Sheet(title, headers, rows, widths=[max(10, len(h) * 2 + 2) for h in headers])


def sweep_xlsx(table: SweepTable, path: Path) -> None:
    """The summaries (by company, area, road class) and every segment-day as a workbook."""
    write_xlsx(
        [
            _summary_sheet(table, "companies", "按公司"),
            _summary_sheet(table, "areas", "按责任区"),
            _summary_sheet(table, "road_classes", "按道路等级"),
            Sheet("路段明细", [LABELS[c] for c in DAY_COLUMNS], _day_rows(table)),
        ],
        path,
    )
