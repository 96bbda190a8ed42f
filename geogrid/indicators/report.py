"""The monthly tables a centre publishes (DOMAIN.md §4), and indicator tables as files.

Department tables (city-platform and district-platform cases apart, sorted by closure rate),
the source table and the top-10 subclass tables of each case type, then the satellite
patches of the batches dispatched in the month with the satellite indicator's score
(DOMAIN.md §6, :mod:`geogrid.satellite.scoring`); written as XLSX here and as HTML by
:mod:`geogrid.indicators.html`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from geogrid.cases.columns import CASE_TYPES, PLATFORMS
from geogrid.catalogue import Catalogue
from geogrid.errors import InvalidParameter
from geogrid.indicators.engine import IndicatorTable, compute_indicators
from geogrid.indicators.layers import LABELS
from geogrid.indicators.params import IndicatorQuery, Period
from geogrid.indicators.shares import compute_shares
from geogrid.io.tables import Sheet, csv_lines, write_xlsx
from geogrid.sanitation.indicators import COMPANY_TITLE, company_indicators, self_handling_table
from geogrid.satellite.scoring import LABELS as SATELLITE_LABELS
from geogrid.satellite.scoring import satellite_tables_exist, score_patches

KEY_LABELS = {
    "grid_code": "网格编码",
    "community_code": "社区编码",
    "community_name": "社区名称",
    "street_code": "街道编码",
    "street_name": "街道名称",
    "district_code": "区编码",
    "department": "处置部门",
    "company": "环卫公司",
    "source": "来源",
    "source_name": "来源名称",
    "platform": "平台",
    "platform_name": "平台名称",
    "case_type": "类型",
    "sub_class": "小类编码",
    "sub_class_name": "小类名称",
}
#: The columns of the published department tables (and of the terminal summary).
MAIN_COLUMNS = (
    "registered",
    "closed_on_time",
    "closed_overdue",
    "open_on_time",
    "open_overdue",
    "open_cumulative",
    "on_time_rate",
    "closure_rate",
)


@dataclass(frozen=True)
class ReportTable:
    """One titled table of the monthly report."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    empty: str = "本月无数据。"


@dataclass(frozen=True)
class MonthlyReport:
    """The month's case tables in publication order, then the satellite patches' table."""

    month: str
    title: str
    tables: list[ReportTable]
    satellite: ReportTable | None = None
    #: The sanitation companies' tables (issue 10), published after the case tables.
    sanitation: list[ReportTable] = field(default_factory=list)

    @property
    def published(self) -> list[ReportTable]:
        """Every table of the report, in publication order."""
        satellite = [self.satellite] if self.satellite else []
        return [*self.tables, *self.sanitation, *satellite]


def label(column: str) -> str:
    """The Chinese header of an indicator table column."""
    return KEY_LABELS.get(column) or LABELS.get(column) or column


def _by_closure(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        rows,
        key=lambda r: (r["closure_rate"] is None, -(r["closure_rate"] or 0), -r["registered"]),
    )


def department_table(table: IndicatorTable, title: str, *, unit: str = "处置部门") -> ReportTable:
    """Departments (or the level's units) sorted by closure rate (descending, no-case ones last)."""
    key = table.keys[0]
    rows = [r for r in table.rows if r["registered"] or r["open_cumulative"]]
    body = [[r[key] or "（未指定）", *(r[c] for c in MAIN_COLUMNS)] for r in _by_closure(rows)]
    total = table.totals
    body.append(["合计", *(total[c] for c in MAIN_COLUMNS)])
    return ReportTable(title, [unit, *(label(c) for c in MAIN_COLUMNS)], body)


def monthly_report(
    conn: Connection,
    query: IndicatorQuery,
    catalogue: Catalogue,
    *,
    month: str,
    district_name: str = "",
) -> MonthlyReport:
    """The month's department, source and top-10 subclass tables (DOMAIN.md §4)."""
    tables: list[ReportTable] = []
    for platform, platform_label in PLATFORMS.items():
        q = dataclasses.replace(query, level="department", platform=platform)
        tables.append(
            department_table(compute_indicators(conn, q), f"{platform_label}案件处置情况（按部门）")
        )
    sources = compute_indicators(conn, dataclasses.replace(query, level="source"))
    shares = compute_shares(conn, query, catalogue, top=10)
    share_of = {s["source"]: s["share"] for s in shares.sources}
    tables.append(
        ReportTable(
            "案件来源统计",
            ["来源", "立案数", "占比（%）", "结案数", "按期结案率", "结案率"],
            [
                [
                    r["source_name"],
                    r["registered"],
                    share_of.get(r["source"]),
                    r["closed"],
                    r["on_time_rate"],
                    r["closure_rate"],
                ]
                for r in sorted(sources.rows, key=lambda r: -r["registered"])
                if r["registered"]
            ],
        )
    )
    for case_type, type_label in CASE_TYPES.items():
        top = [t for t in shares.top_sub_classes if t["case_type"] == case_type]
        tables.append(
            ReportTable(
                f"{type_label}类案件前十位小类",
                ["排名", "小类编码", "小类名称", "立案数", "占本类比例（%）"],
                [
                    [t["rank"], t["sub_class"], t["sub_class_name"], t["registered"], t["share"]]
                    for t in top
                ],
            )
        )
    # the sanitation companies (issue 10): their department table, then self-handled cases
    company = company_indicators(conn, query)
    sanitation = [
        department_table(company, COMPANY_TITLE, unit="环卫公司"),
        ReportTable(*self_handling_table(conn, query)),
    ]
    title = f"{district_name}城市管理案件月度统计（{month}）"
    return MonthlyReport(month, title, tables, satellite_table(conn, query.period), sanitation)


#: The columns of the satellite table (keys of :func:`geogrid.satellite.scoring.score_patches`).
SATELLITE_COLUMNS = (
    "patches",
    "due",
    "on_site",
    "documents",
    "pending",
    "verified",
    "not_verified",
    "overdue",
    "dust_area_covered_m2",
    "documents_share",
    "deduction",
    "score",
)


def satellite_table(conn: Connection, period: Period) -> ReportTable:
    """卫星遥感图斑: the batches dispatched in ``period`` per street and in total, with scores.

    Counts at the period's cut-off, verdicts as last verified, the default deduction rule of
    :class:`geogrid.satellite.scoring.ScoreRule`; "本月无图斑" when no batch was dispatched (or
    the database has no satellite tables).
    """
    headers = ["街道", *(SATELLITE_LABELS[c] for c in SATELLITE_COLUMNS)]
    scores = None
    if satellite_tables_exist(conn):
        try:
            scores = score_patches(
                conn, dispatched_from=period.t0, dispatched_to=period.t1, at=period.cutoff
            )
        except InvalidParameter:  # not exactly one district: no patches either
            scores = None
    if scores is None or not scores["streets"]:
        return ReportTable("卫星遥感图斑", headers, [], "本月无图斑。")
    rows = [[s["street_name"], *(s[c] for c in SATELLITE_COLUMNS)] for s in scores["streets"]]
    rows.append(["合计", *(scores["district"][c] for c in SATELLITE_COLUMNS)])
    points = scores["district"]["points"]
    title = f"卫星遥感图斑（批次 {'、'.join(scores['batches'])}；卫星遥感监测体系 {points:g} 分）"
    return ReportTable(title, headers, rows, "本月无图斑。")


def write_report_xlsx(report: MonthlyReport, path: Path) -> None:
    """The monthly report as a workbook, one sheet per table (the satellite one's: 卫星遥感图斑)."""
    sheets = [
        Sheet(t.title[:31], t.headers, t.rows, widths=[max(10, len(h) * 2 + 2) for h in t.headers])
        for t in [*report.tables, *report.sanitation]
    ]
    if report.satellite is not None:
        t = report.satellite
        sheets.append(
            Sheet(
                "卫星遥感图斑",
                t.headers,
                t.rows or [[t.empty]],
                widths=[max(10, len(h) * 2 + 2) for h in t.headers],
            )
        )
    write_xlsx(sheets, path)


def indicator_rows(table: IndicatorTable) -> tuple[list[str], Iterator[list[Any]]]:
    """Chinese headers and value rows of an indicator table, with the totals row last."""
    columns = table.columns
    headers = [label(c) for c in columns]

    def rows() -> Iterator[list[Any]]:
        for row in table.rows:
            yield [row.get(c) for c in columns]
        first = [c for c in columns if c in table.totals]
        yield [
            "合计" if i == 0 else table.totals.get(c) if c in first else None
            for i, c in enumerate(columns)
        ]

    return headers, rows()


def indicator_csv(table: IndicatorTable) -> Iterator[str]:
    """An indicator table as CSV lines (UTF-8 with BOM for Excel)."""
    headers, rows = indicator_rows(table)
    return csv_lines(headers, rows)


def indicator_xlsx(table: IndicatorTable, path: Path) -> None:
    """An indicator table as a one-sheet workbook."""
    headers, rows = indicator_rows(table)
    write_xlsx([Sheet(f"{table.query.level} indicators", headers, rows)], path)
