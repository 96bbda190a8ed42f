"""The indicators a rule set may name, and how each is computed per unit for a period.

Every value comes from the core functions of geogrid: :func:`~geogrid.indicators.
compute_indicators` at the unit's level (with a source filter where the indicator is about one
source), :func:`~geogrid.patrol.summary.coverage_table` for patrol, and a few counts of the
territory and case tables. Only the groups of indicators a rule set uses are computed.

Units are keyed by code (district, street, community, grid) or by name (department). Rates
are percentages with 2 decimals, None when there is nothing to divide (DOMAIN.md §4).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import InvalidParameter
from geogrid.indicators import IndicatorQuery, Period, compute_indicators
from geogrid.indicators.engine import IndicatorTable
from geogrid.indicators.rules import rate
from geogrid.patrol.coverage import CoverageRule
from geogrid.patrol.summary import coverage_table
from geogrid.territory.store import district_names

#: Levels of units a rule set may score.
UNIT_LEVELS = ("district", "street", "community", "grid", "department")
UNIT_LABELS = {
    "district": "区",
    "street": "街道（镇）",
    "community": "社区",
    "grid": "网格",
    "department": "部门",
}
TERRITORY = ("district", "street", "community", "grid")
GRID_TYPES = {"city": "城市/商业网格", "rural": "农村网格", "industrial": "厂区网格"}
#: The key column of each level in indicator rows and in the cases table.
KEY_COLUMNS = {
    "district": "district_code",
    "street": "street_code",
    "community": "community_code",
    "grid": "grid_code",
    "department": "department",
}


@dataclass(frozen=True)
class Indicator:
    """An input a rule item may name: Chinese label, unit, and where it is computed."""

    name: str
    label: str
    unit: str
    group: str
    levels: tuple[str, ...] = UNIT_LEVELS
    #: Also given per grid type as ``name@city`` etc., with ``grids@city`` etc.
    by_grid_type: bool = False
    #: Not computed yet: read from the manual inputs under its own name or the item's key.
    manual: bool = False


def _catalogue(*rows: tuple[str, str, str, str]) -> dict[str, Indicator]:
    return {name: Indicator(name, label, unit, group) for name, label, unit, group in rows}


INDICATORS: dict[str, Indicator] = _catalogue(
    ("registered", "立案数", "件", "cases"),
    ("closed", "结案数", "件", "cases"),
    ("closed_on_time", "按期结案数", "件", "cases"),
    ("closed_overdue", "超期结案数", "件", "cases"),
    ("open_overdue", "超期未结案数", "件", "cases"),
    ("open_cumulative", "累计未结案数", "件", "cases"),
    ("returned", "回退数", "件", "cases"),
    ("repeat_cases", "重复案件数", "件", "cases"),
    ("on_time_rate", "按期结案率", "%", "cases"),
    ("closure_rate", "结案率", "%", "cases"),
    ("rework_rate", "返工率", "%", "cases"),
    ("extension_rate", "延期率", "%", "cases"),
    ("repeat_rate", "重复案件率", "%", "cases"),
    ("hotline_registered", "热线立案数", "件", "hotline"),
    ("hotline_on_time_rate", "热线按期结案率", "%", "hotline"),
    ("hotline_closure_rate", "热线结案率", "%", "hotline"),
    ("self_handled", "网格员自处置案件数", "件", "grid_worker"),
    ("self_handled_share", "网格员自处置案件占比", "%", "grid_worker"),
    ("self_handled_closure_rate", "网格员自处置结案率", "%", "grid_worker"),
    ("community_reports", "社区上报案件数", "件", "community"),
    ("discovery_rate", "自主发现率", "%", "community"),
    ("registered_last_year", "去年同期立案数", "件", "last_year"),
    ("satisfaction_rate", "满意率", "%", "satisfaction"),
    ("registration_rate", "立案率", "%", "registration"),
) | {
    "supervisor_reports": Indicator(
        "supervisor_reports", "区级监督员立案数", "件", "supervisor", TERRITORY
    ),
    "daily_reports_rate": Indicator(
        "daily_reports_rate", "日均有效上报数占网格数比例", "%", "supervisor", TERRITORY
    ),
    "grids": Indicator("grids", "网格数", "个", "territory", TERRITORY),
    "area_km2": Indicator("area_km2", "面积", "km²", "territory", TERRITORY),
    "reports_per_grid": Indicator(
        "reports_per_grid", "网格平均立案数", "件", "per_grid", TERRITORY, by_grid_type=True
    ),
    "coverage_rate": Indicator(
        "coverage_rate", "巡查覆盖率", "%", "patrol", ("district", "street", "community")
    ),
    "online_rate": Indicator(
        "online_rate", "上线率", "%", "patrol", ("district", "street", "community")
    ),
    "off_post_minutes": Indicator(
        "off_post_minutes", "脱岗时长", "分钟", "patrol", ("district", "street", "community")
    ),
    "satellite_onsite_rate": Indicator(
        "satellite_onsite_rate", "卫星图斑实地处置率", "%", "manual", manual=True
    ),
    "satellite_score": Indicator(
        "satellite_score", "卫星遥感监测得分", "分", "satellite", ("district", "street")
    ),
}
#: Counts and rates copied from the all-source indicator table.
_CASE_COLUMNS = [n for n, i in INDICATORS.items() if i.group == "cases"]


@dataclass(frozen=True)
class UnitInputs:
    """The values of a period per unit, the units' names, and the period."""

    level: str
    period: Period
    values: dict[str, dict[str, float | None]]
    names: dict[str, str] = field(default_factory=dict)


@dataclass
class _Resolver:
    conn: Connection
    level: str
    period: Period
    options: Mapping[str, Any]
    coverage_rule: CoverageRule
    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    tables: dict[tuple[str | None, str], IndicatorTable] = field(default_factory=dict)

    def query(self, source: str | None = None, denominator: str | None = None) -> IndicatorTable:
        key = (source, denominator or "")
        if key not in self.tables:
            query = IndicatorQuery.parse(
                level=self.level,
                start=self.period.start.isoformat(),
                end=self.period.end.isoformat(),
                cutoff=self.period.cutoff.isoformat(),
                source=source,
                denominator=denominator,
                **self.options,
            )
            self.tables[key] = compute_indicators(self.conn, query)
        return self.tables[key]

    def rows(self, table: IndicatorTable) -> dict[str, dict[str, Any]]:
        column = KEY_COLUMNS[self.level]
        return {str(r[column]): r for r in table.rows if r[column] is not None}

    def units(self) -> None:
        table = self.query()
        names = district_names(self.conn) if self.level == "district" else {}
        name_column = {"street": "street_name", "community": "community_name"}.get(self.level)
        for unit, row in self.rows(table).items():
            self.values.setdefault(unit, {})
            self.names[unit] = str(
                names.get(unit) or (row.get(name_column) if name_column else None) or unit
            )

    def set(self, name: str, per_unit: Mapping[str, float | None]) -> None:
        for unit in self.values:
            self.values[unit][name] = per_unit.get(unit)


def _cases(r: _Resolver) -> None:
    rows = r.rows(r.query())
    for column in _CASE_COLUMNS:
        r.set(column, {u: row[column] for u, row in rows.items()})


def _registered(rows: Mapping[str, Mapping[str, Any]], unit: str) -> int:
    return int(rows[unit]["registered"]) if unit in rows else 0


def _hotline(r: _Resolver) -> None:
    rows = r.rows(r.query("hotline"))
    r.set("hotline_registered", {u: row["registered"] for u, row in rows.items()})
    r.set("hotline_on_time_rate", {u: row["on_time_rate"] for u, row in rows.items()})
    r.set("hotline_closure_rate", {u: row["closure_rate"] for u, row in rows.items()})


def _grid_worker(r: _Resolver) -> None:
    # 1 分 × 结案数 / 应结案数 (DOMAIN.md §7): the closure rate of the due cases
    own = r.rows(r.query("grid_worker", "due"))
    everything = r.rows(r.query())
    r.set("self_handled", {u: row["registered"] for u, row in own.items()})
    r.set("self_handled_closure_rate", {u: row["closure_rate"] for u, row in own.items()})
    r.set(
        "self_handled_share",
        {u: rate(_registered(own, u), row["registered"]) for u, row in everything.items()},
    )


def _community(r: _Resolver) -> None:
    community = r.rows(r.query("community"))
    own = r.rows(r.query("grid_worker"))
    everything = r.rows(r.query())
    r.set("community_reports", {u: row["registered"] for u, row in community.items()})
    r.set(
        "discovery_rate",
        {
            u: rate(_registered(own, u) + _registered(community, u), row["registered"])
            for u, row in everything.items()
        },
    )


def _grid_counts(r: _Resolver) -> dict[str, dict[str, int]]:
    """Current grids per unit and grid type ('' = all types)."""
    column = {"district": "district_code", "street": "street_code"}.get(r.level)
    column = column or {"community": "community_code", "grid": "code"}[r.level]
    sql = f"SELECT {column} AS unit, grid_type FROM grids WHERE valid_to IS NULL"
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for unit, grid_type in r.conn.execute(sa.text(sql)):
        counts[str(unit)][""] += 1
        counts[str(unit)][str(grid_type)] += 1
    return counts


def _supervisor(r: _Resolver) -> None:
    """Supervisors' cases per day against the grids (DOMAIN.md §5, collection volume)."""
    rows = r.rows(r.query("district_supervisor"))
    grids = _grid_counts(r)
    days = (r.period.end - r.period.start).days + 1
    r.set("supervisor_reports", {u: row["registered"] for u, row in rows.items()})
    r.set(
        "daily_reports_rate",
        {u: rate(row["registered"], days * grids[u][""]) for u, row in rows.items()},
    )


_When = TypeVar("_When", date, datetime)


def _year_before(moment: _When) -> _When:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - 1, day=28)


def _last_year(r: _Resolver) -> None:
    """立案数 of the same period one year earlier (DOMAIN.md §7, case quantity)."""
    period = r.period
    earlier = Period(
        _year_before(period.start),
        _year_before(period.end),
        _year_before(period.cutoff),
        period.tz,
    )
    before = dataclasses.replace(r, period=earlier, tables={})
    rows = before.rows(before.query())
    r.set("registered_last_year", {u: row["registered"] for u, row in rows.items()})


def _territory(r: _Resolver) -> None:
    grids = _grid_counts(r)
    table = {"district": "districts", "street": "streets", "community": "communities"}
    sql = f"SELECT code, area_m2 FROM {table.get(r.level, 'grids')}" + (
        " WHERE valid_to IS NULL" if r.level != "district" else ""
    )
    areas = {str(code): float(area) for code, area in r.conn.execute(sa.text(sql))}
    r.set("grids", {u: c[""] for u, c in grids.items()})
    r.set("area_km2", {u: round(a / 1e6, 4) for u, a in areas.items()})
    for grid_type in GRID_TYPES:
        r.set(f"grids@{grid_type}", {u: c[grid_type] for u, c in grids.items()})


def _per_grid(r: _Resolver) -> None:
    """Cases registered per grid of the unit, overall and per grid type (DOMAIN.md §7)."""
    grid_level = dataclasses.replace(r, level="grid", tables={})
    reports = {code: row["registered"] for code, row in grid_level.rows(grid_level.query()).items()}
    sql = "SELECT code, grid_type FROM grids WHERE valid_to IS NULL"
    types: dict[str, str] = {str(c): str(t) for c, t in r.conn.execute(sa.text(sql))}
    width = {"district": 6, "street": 9, "community": 12, "grid": 15}[r.level]
    sums: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for code, grid_type in types.items():
        unit = code if r.level == "grid" else code[:width]
        for key in ("", grid_type):
            sums[unit][key][0] += reports.get(code, 0)
            sums[unit][key][1] += 1
    for key in ("", *GRID_TYPES):
        name = "reports_per_grid" + (f"@{key}" if key else "")
        r.set(name, {u: round(s[key][0] / s[key][1], 2) for u, s in sums.items() if s[key][1]})
        if key:
            r.set(f"grids@{key}", {u: s[key][1] for u, s in sums.items()})


def _case_ratio(r: _Resolver, name: str, select: str, where: str) -> None:
    column = KEY_COLUMNS[r.level]
    sql = f"SELECT f.{column} AS unit, {select} FROM cases f WHERE {where} GROUP BY 1"
    bound = {"t0": r.period.t0, "t1": r.period.t1, "c": r.period.cutoff}
    result = {str(u): rate(int(n), int(d)) for u, n, d in r.conn.execute(sa.text(sql), bound)}
    r.set(name, result)


def _satisfaction(r: _Resolver) -> None:
    """满意率 = (满意 + 基本满意) / evaluated public and hotline cases (DOMAIN.md §4)."""
    _case_ratio(
        r,
        "satisfaction_rate",
        "count(*) FILTER (WHERE satisfaction IN ('满意', '基本满意')), count(*)",
        "f.registered_at >= :t0 AND f.registered_at < :t1 AND f.registered_at <= :c "
        "AND f.source IN ('public', 'hotline') AND f.satisfaction IS NOT NULL",
    )


def _registration(r: _Resolver) -> None:
    """立案率 = registered reports / all reports of supervisors in the period (DOMAIN.md §4)."""
    _case_ratio(
        r,
        "registration_rate",
        "count(*) FILTER (WHERE registered_at IS NOT NULL AND registered_at <= :c), count(*)",
        "coalesce(f.reported_at, f.registered_at) >= :t0 "
        "AND coalesce(f.reported_at, f.registered_at) < :t1 "
        "AND coalesce(f.reported_at, f.registered_at) <= :c "
        "AND f.source IN ('city_supervisor', 'district_supervisor')",
    )


def _patrol(r: _Resolver) -> None:
    table = coverage_table(
        r.conn,
        r.period.start,
        r.period.end,
        level=r.level,
        rule=r.coverage_rule,
        tz=r.period.tz,
    )
    rows = {row["code"]: row for row in table.rows}
    for name in ("coverage_rate", "online_rate", "off_post_minutes"):
        r.set(name, {u: row[name] for u, row in rows.items()})


def _satellite(r: _Resolver) -> None:
    """The satellite indicator's score (geogrid.satellite.scoring, default rule) of the
    batches dispatched in the period; None for a unit without patches."""
    from geogrid.satellite.scoring import score_patches

    exists = r.conn.execute(sa.text("SELECT to_regclass('patch_batches') IS NOT NULL")).scalar()
    if not exists:
        r.set("satellite_score", {})
        return
    scored = score_patches(
        r.conn, dispatched_from=r.period.t0, dispatched_to=r.period.t1, at=r.period.cutoff
    )
    if r.level == "street":
        r.set(
            "satellite_score",
            {s["street_code"]: s["score"] for s in scored["streets"] if s["patches"]},
        )
    else:
        district = scored["district"]
        r.set("satellite_score", {u: district["score"] for u in r.values if district["patches"]})


_GROUPS: dict[str, Callable[[_Resolver], None]] = {
    "cases": _cases,
    "hotline": _hotline,
    "grid_worker": _grid_worker,
    "community": _community,
    "supervisor": _supervisor,
    "last_year": _last_year,
    "territory": _territory,
    "per_grid": _per_grid,
    "satisfaction": _satisfaction,
    "registration": _registration,
    "patrol": _patrol,
    "satellite": _satellite,
}


def resolve_inputs(
    conn: Connection,
    names: Iterable[str],
    *,
    level: str,
    period: Period,
    indicator_options: Mapping[str, Any] | None = None,
    coverage_rule: CoverageRule | None = None,
) -> UnitInputs:
    """The values of the indicators ``names`` for every unit of ``level`` in ``period``.

    Parameters
    ----------
    conn
        Any connection (read only).
    names
        Indicator names of :data:`INDICATORS`; manual ones are skipped (they come with the
        manual inputs).
    level
        One of :data:`UNIT_LEVELS`. The units are those the indicator table of the level lists:
        every current territory unit, or every department with cases.
    period
        Days and cut-off of the counts (local time of ``period.tz``).
    indicator_options
        Options of ``IndicatorQuery.parse`` (``Settings.indicator_options()``: accumulation
        start, repeat distance, default denominator, extension exclusions).
    coverage_rule
        Parameters of patrol coverage (DOMAIN.md §5).

    Returns
    -------
    UnitInputs
        Unit → indicator name → value (None when the unit has no value).
    """
    if level not in UNIT_LEVELS:
        raise InvalidParameter(f"Parameter 'level' must be one of {', '.join(UNIT_LEVELS)}.")
    wanted = {n: INDICATORS[n] for n in names if n in INDICATORS}
    unknown = sorted(set(names) - set(INDICATORS))
    if unknown:
        raise InvalidParameter(f"Unknown indicator(s): {', '.join(unknown)}.")
    for indicator in wanted.values():
        if level not in indicator.levels:
            raise InvalidParameter(
                f"Indicator '{indicator.name}' ({indicator.label}) cannot be computed per "
                f"{level}; it can per {', '.join(indicator.levels)}."
            )
    options = {k: v for k, v in (indicator_options or {}).items()}
    options.setdefault("tz", period.tz)
    resolver = _Resolver(conn, level, period, options, coverage_rule or CoverageRule())
    resolver.units()
    for group in sorted({i.group for i in wanted.values() if not i.manual}):
        _GROUPS[group](resolver)
    return UnitInputs(level, period, dict(resolver.values), resolver.names)


def period_of(month: str, *, tz: str) -> Period:
    """The calendar month ``YYYY-MM``, or the calendar year ``YYYY``, cut off at its end."""
    text = month.strip()
    if len(text) == 4 and text.isdigit():
        first = date(int(text), 1, 1)
        return Period.parse(first.isoformat(), date(int(text), 12, 31).isoformat(), tz=tz)
    return Period.month(text, tz=tz)
