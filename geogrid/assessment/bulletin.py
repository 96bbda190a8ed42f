"""The bulletin (通报) of a stored run, laid out like a government monthly bulletin (DOMAIN.md §7).

Title "XX区数字城管工作月度通报（YYYY年M月）" (年度通报 for a year), then seven sections:

一、总体情况 — the district's case figures of the period and the assessment at a glance;
二、考核得分及排名 — the units' part scores, totals, grades and ranks;
三、案件办理情况 — the department tables of the monthly report (city and district platform,
    sorted by 结案率);
四、问题来源及高发问题 — the sources' shares, the top subclasses, and the hotspot map (Gi* per
    grid, drawn server-side: :mod:`.bulletin_map`);
五、巡查覆盖情况 — patrol coverage per street (:func:`~geogrid.patrol.summary.coverage_table`),
    when supervisors are registered;
六、卫星遥感图斑 — patches dispatched in the period per street, by change type and handling,
    read defensively: without the satellite tables, or without patches, "本月无图斑";
七、主要失分原因 — the items that lost most, and each unit's largest losses with their sentences.

:func:`build_bulletin` gathers the content once; :mod:`.bulletin_files` writes it as HTML and
XLSX and :mod:`.bulletin_docx` as DOCX.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.assessment.bulletin_map import legend, render_hotspot_map
from geogrid.assessment.figures import fmt
from geogrid.assessment.inputs import UNIT_LABELS, period_of
from geogrid.assessment.runs import Run, get_run
from geogrid.cases.columns import PLATFORMS
from geogrid.catalogue import Catalogue
from geogrid.hotspots import CaseFilter, HotspotRequest, HotspotResult, find_hotspots
from geogrid.indicators import IndicatorQuery, Period, compute_indicators
from geogrid.indicators.report import ReportTable, monthly_report
from geogrid.indicators.rules import grade
from geogrid.patrol.coverage import CoverageRule
from geogrid.patrol.summary import coverage_table
from geogrid.territory.store import district_names

#: Each unit's largest losses shown in section 七.
REASONS_PER_UNIT = 3
#: Items named in the summary of section 七.
TOP_LOSSES = 5
CHANGE_TYPES = {
    "building": "房屋建筑变化",
    "dust_source": "地面扬尘源",
    "land_use": "违法用地",
    "other": "其他",
}


@dataclass(frozen=True)
class Figure:
    """An image of a section: the PNG, its size in pixels, caption and legend."""

    png: bytes
    width: int
    height: int
    caption: str
    #: (colour ``#rrggbb``, label, grids) per class.
    legend: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """One numbered section: heading (``一、总体情况``), paragraphs, tables, an image."""

    heading: str
    paragraphs: list[str]
    tables: list[ReportTable] = field(default_factory=list)
    figure: Figure | None = None


@dataclass(frozen=True)
class Bulletin:
    """The content of a bulletin, in reading order."""

    run_id: int
    period: str
    title: str
    issuer: str
    period_label: str
    issued_on: date
    sections: list[Section]

    def file_name(self, extension: str) -> str:
        """The download name: ``bulletin-<run>-<period>.<extension>``."""
        return f"bulletin-{self.run_id}-{self.period}.{extension}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _count(value: Any) -> str:
    return "0" if value is None else f"{int(value)}"


def build_bulletin(
    conn: Connection,
    run_id: int,
    *,
    catalogue: Catalogue,
    indicator_options: Mapping[str, Any] | None = None,
    coverage_rule: CoverageRule | None = None,
    today: date | None = None,
) -> Bulletin:
    """Gather the bulletin of the stored run ``run_id`` (see the module's docstring).

    Parameters
    ----------
    conn
        Any connection (read only).
    catalogue
        Names the subclasses of the top-10 tables.
    indicator_options
        ``Settings.indicator_options()`` (time zone, accumulation start, denominator, …).
    coverage_rule
        Parameters of patrol coverage (DOMAIN.md §5).
    today
        The date printed under the bulletin (default today in the time zone).

    Raises
    ------
    NotFound
        There is no such run.
    """
    run = get_run(conn, run_id)
    options = dict(indicator_options or {})
    tz = str(options.get("tz", "Asia/Shanghai"))
    span = period_of(run.period, tz=tz)
    annual = len(run.period) == 4
    label = f"{span.start.year}年" if annual else f"{span.start.year}年{span.start.month}月"
    district = "、".join(district_names(conn).values()) or "本区"
    query = IndicatorQuery.parse(
        level="department", start=span.start.isoformat(), end=span.end.isoformat(), **options
    )
    report = monthly_report(conn, query, catalogue, month=run.period, district_name=district)
    overall = compute_indicators(conn, dataclasses.replace(query, level="district")).totals
    hotspots = find_hotspots(conn, HotspotRequest(cases=CaseFilter(span.start, span.end)), tz=tz)
    split = len(PLATFORMS)
    this = "本年" if annual else "本月"
    sections = [
        _overview(run, overall, label, tz),
        _scores(run),
        Section(
            "三、案件办理情况",
            [
                "各处置部门案件办理情况如下，按结案率由高到低排列（当期立案案件，统计截止时间为期末）。"
            ],
            report.tables[:split],
        ),
        _sources(report.tables[split:], hotspots, label),
        _patrol(conn, span, coverage_rule or CoverageRule(), tz),
        _satellite(conn, span, this),
        _losses(run),
    ]
    return Bulletin(
        run_id=run.id,
        period=run.period,
        title=f"{district}数字城管工作{'年度' if annual else '月度'}通报（{label}）",
        issuer=f"{district}数字城管监督指挥中心",
        period_label=label,
        issued_on=today or datetime.now(ZoneInfo(tz)).date(),
        sections=sections,
    )


def _overview(run: Run, totals: Mapping[str, Any], label: str, tz: str) -> Section:
    registered = int(totals.get("registered") or 0)
    if registered:
        cases = (
            f"{label}，全区共立案 {registered} 件，结案 {_count(totals.get('closed'))} 件，"
            f"结案率 {_pct(totals.get('closure_rate'))}；按期结案 "
            f"{_count(totals.get('closed_on_time'))} 件，按期结案率 "
            f"{_pct(totals.get('on_time_rate'))}；超期结案 {_count(totals.get('closed_overdue'))} "
            f"件，超期未结案 {_count(totals.get('open_overdue'))} 件；截至统计截止时间累计未结案 "
            f"{_count(totals.get('open_cumulative'))} 件。"
        )
    else:
        cases = f"{label}，全区无立案案件。"
    rs, units = run.rule_set, run.result.units
    kind = UNIT_LABELS.get(run.level, run.level)
    said = f"本期按《{rs.title}》（{rs.name}，第 {rs.version} 版）"
    if not units:
        scores = f"{said}考核，无参加考核的单位。"
    elif len(units) == 1:
        scores = f"{said}对{units[0].name}进行考核，得分 {fmt(units[0].total)} 分。"
    else:
        mean = sum(u.total for u in units) / len(units)
        best, worst = units[0], units[-1]
        scores = (
            f"{said}对 {len(units)} 个{kind}进行考核，平均得分 {fmt(round(mean, 2))} 分，"
            f"{best.name}得分最高（{fmt(best.total)} 分），{worst.name}得分最低"
            f"（{fmt(worst.total)} 分）。"
        )
    scored = run.scored_at.astimezone(ZoneInfo(tz))
    paragraphs = [cases, scores]
    pending = [u for u in units if u.pending]
    if pending:
        count = sum(len(u.pending) for u in pending)
        paragraphs.append(
            f"尚有 {count} 项考核内容待人工录入（涉及 {len(pending)} 个单位），暂不计分，"
            "录入后重新计分。"
        )
    paragraphs.append(f"本通报考核结果为第 {run.scorings} 次计分（{scored:%Y年%m月%d日 %H:%M}）。")
    return Section("一、总体情况", paragraphs)


def _scores(run: Run) -> Section:
    rs, result = run.rule_set, run.result
    headers = [
        "排名",
        "单位名称",
        "单位编码",
        *(f"{p.name}（{fmt(p.points)}）" for p in result.parts),
        "总分",
        "等级",
        "待录入项",
    ]
    rows = [
        [
            u.rank,
            u.name,
            u.unit,
            *(u.parts[p.key] for p in result.parts),
            u.total,
            grade(u.total / rs.total * 100),
            len(u.pending),
        ]
        for u in result.units
    ]
    bonus = f"，另设附加分 {fmt(rs.bonus)} 分" if rs.bonus else ""
    text = (
        f"考核满分 {fmt(rs.total)} 分{bonus}。等级按得分占满分的比例划分："
        "A ≥ 90%，B ≥ 75%，C ≥ 60%，D ≥ 40%，E < 40%。"
    )
    return Section("二、考核得分及排名", [text], [ReportTable("考核得分及排名", headers, rows)])


def _sources(tables: list[ReportTable], hotspots: HotspotResult, label: str) -> Section:
    paragraphs = []
    source_table = tables[0] if tables else None
    if source_table is not None and source_table.rows:
        top = source_table.rows[0]
        paragraphs.append(f"问题来源以{top[0]}为主，立案 {top[1]} 件，占 {_pct(top[2])}。")
    for table in tables[1:]:
        if table.rows:
            first = table.rows[0]
            kind = table.title.removesuffix("案件前十位小类")
            paragraphs.append(
                f"{kind}案件中，{first[2]}最多，立案 {first[3]} 件，占本类 {_pct(first[4])}。"
            )
    figure = None
    image = render_hotspot_map(hotspots.grids)
    summary = hotspots.summary
    if image is not None:
        hot = [summary[c] for c in ("hot_99", "hot_95", "hot_90")]
        cold = sum(summary[c] for c in ("cold_90", "cold_95", "cold_99"))
        if sum(hot):
            paragraphs.append(
                f"案件热点分析（Getis-Ord Gi*）显示：热点网格 {sum(hot)} 个（99% 置信 {hot[0]} 个、"
                f"95% 置信 {hot[1]} 个、90% 置信 {hot[2]} 个），冷点网格 {cold} 个，分布见图 1。"
            )
        else:
            coldly = f"冷点网格 {cold} 个" if cold else "也未发现显著的冷点网格"
            paragraphs.append(
                f"案件热点分析（Getis-Ord Gi*）未发现显著的热点网格，{coldly}，分布见图 1。"
            )
        figure = Figure(
            image.png,
            image.width,
            image.height,
            f"图 1  {label}案件热点分布（按网格，Getis-Ord Gi*）",
            [entry for entry in legend(hotspots.grids) if entry[2]],
        )
    else:
        paragraphs.append("无网格数据，未生成案件热点分布图。")
    if not paragraphs:
        paragraphs.append("本期无立案案件。")
    return Section("四、问题来源及高发问题", paragraphs, tables, figure)


def _patrol(conn: Connection, span: Period, rule: CoverageRule, tz: str) -> Section:
    heading = "五、巡查覆盖情况"
    if not conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM supervisors)")).scalar():
        return Section(heading, ["未登记监督员，本期无巡查覆盖数据。"])
    table = coverage_table(conn, span.start, span.end, level="street", rule=rule, tz=tz)
    totals = table.totals
    if not totals["grid_days"]:
        return Section(heading, ["本期监督员无排班或定位数据，无巡查覆盖数据。"])
    columns = (
        "supervisors",
        "assigned_grids",
        "patrolled_grids",
        "never_patrolled",
        "coverage_rate",
        "online_rate",
        "off_post_minutes",
    )
    headers = [
        "街道",
        "监督员数",
        "责任网格数",
        "已巡查网格数",
        "未巡查网格数",
        "巡查覆盖率（%）",
        "上线率（%）",
        "脱岗时长（分钟）",
    ]
    rows = [[r["name"] or r["code"], *(r[c] for c in columns)] for r in table.rows]
    rows.append(["合计", *(totals[c] for c in columns)])
    text = (
        f"全区 {totals['supervisors']} 名监督员负责网格 {totals['assigned_grids']} 个，"
        f"已巡查 {totals['patrolled_grids']} 个，巡查覆盖率 {_pct(totals['coverage_rate'])}，"
        f"上线率 {_pct(totals['online_rate'])}，脱岗 {fmt(totals['off_post_minutes'])} 分钟。"
    )
    return Section(heading, [text], [ReportTable("巡查覆盖情况（按街道）", headers, rows)])


_SATELLITE_COLUMNS = {
    "patches": ("district_code", "id", "street_code", "change_type", "dispatched_at"),
    "patch_handling": ("district_code", "patch_id", "handling_type", "closes"),
}


def _has_columns(conn: Connection, table: str, columns: tuple[str, ...]) -> bool:
    found = conn.execute(
        sa.text(
            "SELECT count(DISTINCT column_name) FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = :t "
            "AND column_name = ANY(:c)"
        ),
        {"t": table, "c": list(columns)},
    ).scalar()
    return found == len(columns)


def satellite_counts(conn: Connection, span: Period) -> list[dict[str, Any]] | None:
    """Patches dispatched in ``span`` per street, by change type and handling (DOMAIN.md §6).

    Handling: 实地处置 when any record was on site, 材料结案 when closed by documents only,
    未处置 otherwise. None when the satellite tables are missing or not as expected (the
    satellite module is optional); an empty list when there is no patch in the period.
    """
    if not conn.execute(sa.text("SELECT to_regclass('patch_batches') IS NOT NULL")).scalar():
        return None
    if not all(_has_columns(conn, t, c) for t, c in _SATELLITE_COLUMNS.items()):
        return None
    types = ", ".join(f"count(*) FILTER (WHERE p.change_type = '{t}') AS {t}" for t in CHANGE_TYPES)
    sql = f"""
        SELECT p.street_code, coalesce(s.name, p.street_code) AS street, count(*) AS patches,
            {types},
            count(*) FILTER (WHERE h.on_site) AS on_site,
            count(*) FILTER (WHERE NOT coalesce(h.on_site, false) AND h.documents) AS documents
        FROM patches p
        LEFT JOIN LATERAL (
            SELECT bool_or(x.handling_type = 'on_site') AS on_site,
                   bool_or(x.handling_type = 'documents' AND x.closes) AS documents
            FROM patch_handling x
            WHERE x.district_code = p.district_code AND x.patch_id = p.id
        ) h ON true
        LEFT JOIN (
            SELECT DISTINCT ON (code) code, name FROM streets ORDER BY code, valid_from DESC
        ) s ON s.code = p.street_code
        WHERE p.dispatched_at >= :t0 AND p.dispatched_at < :t1
        GROUP BY 1, 2 ORDER BY 1
    """
    rows = conn.execute(sa.text(sql), {"t0": span.t0, "t1": span.t1}).mappings()
    return [{**row, "open": row["patches"] - row["on_site"] - row["documents"]} for row in rows]


def _satellite(conn: Connection, span: Period, this: str) -> Section:
    heading = "六、卫星遥感图斑"
    rows = satellite_counts(conn, span)
    if not rows:
        return Section(heading, [f"{this}无图斑。"])
    columns = ("patches", *CHANGE_TYPES, "on_site", "documents", "open")
    headers = ["街道", "图斑数", *CHANGE_TYPES.values(), "实地处置", "材料结案", "未处置"]
    body = [[r["street"], *(r[c] for c in columns)] for r in rows]
    totals = {c: sum(r[c] for r in rows) for c in columns}
    body.append(["合计", *(totals[c] for c in columns)])
    kinds = "、".join(f"{name} {totals[t]} 件" for t, name in CHANGE_TYPES.items() if totals[t])
    text = (
        f"{this}下发卫星遥感图斑 {totals['patches']} 件（{kinds}），已实地处置 "
        f"{totals['on_site']} 件，材料结案 {totals['documents']} 件，未处置 {totals['open']} 件。"
    )
    return Section(heading, [text], [ReportTable("卫星遥感图斑情况（按街道）", headers, body)])


def _losses(run: Run) -> Section:
    heading = "七、主要失分原因"
    units = run.result.units
    lost: dict[str, float] = defaultdict(float)
    losers: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for unit in units:
        for item in unit.lost_reasons():
            lost[item.key] += item.lost
            losers[item.key] += 1
            names[item.key] = item.name
    if not lost:
        paragraphs = ["本期各单位考核项目均未失分。"]
    else:
        ranked = sorted(lost, key=lambda k: -lost[k])[:TOP_LOSSES]
        named = "、".join(
            f"{names[k]}（{losers[k]} 个单位共扣 {fmt(round(lost[k], 2))} 分）" for k in ranked
        )
        paragraphs = [f"失分较多的项目依次为：{named}。各单位主要失分原因见下表。"]
    pending = [f"{u.name} {len(u.pending)} 项" for u in units if u.pending]
    if pending:
        shown = "、".join(pending[:10]) + ("等" if len(pending) > 10 else "")
        paragraphs.append(f"待人工录入、暂未计分的项目：{shown}。")
    rows = [
        [u.name, i.name, i.max_points, i.points, i.lost, "；".join(i.reasons)]
        for u in units
        for i in u.lost_reasons(REASONS_PER_UNIT)
    ]
    headers = ["单位名称", "项目", "满分", "得分", "扣分", "失分原因"]
    tables = [ReportTable("各单位主要失分项目", headers, rows)] if rows else []
    return Section(heading, paragraphs, tables)
