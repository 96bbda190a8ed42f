"""Scoring a rule set (DOMAIN.md §7): pure :func:`score` over values, :func:`assess_month` on data.

Items are scored in dependency order (an item may read another item's points or a part's
total), each for all units at once so that shapes comparing units (ranking, average, quota)
see them all. An input without value follows the item's ``when_missing``: ``pending`` leaves
the item without points (待定) until the manual input arrives, ``full`` and ``zero`` score it.
Parts add up their items' points and the total adds up the parts (bonus parts included);
units are ranked on the total, ties sharing a rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from geogrid.assessment.figures import Number, Rounding, dec, fmt
from geogrid.assessment.inputs import GRID_TYPES, INDICATORS, period_of, resolve_inputs
from geogrid.assessment.manual import Manual, check_manual
from geogrid.assessment.registry import SHAPES, Context
from geogrid.assessment.result import AssessmentResult, ItemResult, PartInfo, UnitResult
from geogrid.assessment.rules import Item, RuleSet
from geogrid.assessment.shapes import Scored, annual_score, competition_ranks
from geogrid.errors import InvalidParameter, Problem, ValidationFailed
from geogrid.indicators import Period
from geogrid.patrol.coverage import CoverageRule

Inputs = Mapping[str, Mapping[str, float | None]]
_Done = dict[str, dict[str, ItemResult]]


def _value(
    item: Item, role: str, source: str, unit: str, inputs: Inputs, manual: Manual, done: _Done
) -> float | None:
    kind, _, key = source.partition(":")
    if source == "manual":
        return manual.get(unit, {}).get(item.manual_key(role))
    if kind == "item":
        return done[unit][key].points
    if kind == "part":
        members = [r.points for r in done[unit].values() if r.part == key]
        return None if any(p is None for p in members) else float(_sum(members))
    if INDICATORS[source].manual:
        given = manual.get(unit, {})
        return given.get(source, given.get(item.manual_key(role)))
    return inputs.get(unit, {}).get(source)


def _sum(values: Sequence[float | None]) -> Decimal:
    return sum((dec(v) for v in values if v is not None), Decimal(0))


def _why_missing(item: Item, roles: list[str]) -> str:
    parts = []
    for role in roles:
        source = item.sources[role]
        if source == "manual" or (source in INDICATORS and INDICATORS[source].manual):
            parts.append("未录入" + ("" if role == "value" else f"（{role}）"))
        elif source in INDICATORS:
            parts.append(f"{INDICATORS[source].label}无数据")
        else:
            parts.append(f"{source} 待定")
    return "、".join(parts)


def _missing(item: Item, roles: list[str], rounding: Rounding) -> tuple[float | None, str]:
    why = f"{item.name}：{_why_missing(item, roles)}"
    if item.when_missing == "full":
        return float(rounding.apply(item.points)), f"{why}，按满分计"
    if item.when_missing == "zero":
        return 0.0, f"{why}，不得分：扣 {fmt(item.points)} 分"
    return None, f"{why}，待定"


def _by_grid_type(
    item: Item, inputs: Mapping[str, float | None], ctx: Context, unit: str
) -> Scored | None:
    """Each grid type scored with its parameters, averaged over the unit's grids (§7)."""
    shape = SHAPES[item.shape]
    assert shape.run is not None
    weighted, grids = Decimal(0), Decimal(0)
    reasons: list[str] = []
    overrides_of: dict[str, dict[str, Any]] = {
        str(t): o for t, o in (item.by_grid_type or {}).items()
    }
    for grid_type in GRID_TYPES:
        overrides = overrides_of.get(grid_type, {})
        count = inputs.get(f"grids@{grid_type}")
        value = inputs.get(f"{item.input}@{grid_type}")
        if not count:
            continue
        if value is None:
            return None
        label = f"{item.name}（{GRID_TYPES[grid_type]} {fmt(count)} 个）"
        typed = Context(label, ctx.max_points, ctx.rounding, ctx.step_rounding, ctx.names)
        scored = shape.run({"value": dec(value)}, item.shape_params(overrides), typed, unit)
        weighted += dec(scored.points) * dec(count)
        grids += dec(count)
        reasons += scored.reasons
    if grids == 0:
        return None
    points = ctx.rounding.apply(weighted / grids)
    if len(reasons) > 0:
        reasons.append(f"各类网格得分按网格数加权平均：得 {fmt(points)} 分")
    return Scored(float(points), tuple(reasons))


def _score_item(
    rule_set: RuleSet,
    item: Item,
    units: list[str],
    gathered: dict[str, dict[str, float | None]],
    names: Mapping[str, str],
    problems: list[Problem],
    inputs: Inputs,
) -> dict[str, Scored]:
    shape = SHAPES[item.shape]
    params = item.shape_params()
    ctx = Context(item.name, item.points, rule_set.score_rounding, rule_set.step_rounding, names)
    optional = set(shape.optional_roles)
    ready = {
        u: {r: dec(v) for r, v in values.items() if v is not None}
        for u, values in gathered.items()
        if all(v is not None for r, v in values.items() if r not in optional)
    }
    if shape.cross is not None:
        try:
            return shape.cross(ready, params, ctx)
        except ValueError as exc:
            problems.append(Problem(f"item '{item.key}'", "invalid_input", f"{item.name}：{exc}"))
            return {}
    assert shape.run is not None
    scored: dict[str, Scored] = {}
    for unit in units:
        try:
            if item.by_grid_type is not None:
                typed = _by_grid_type(item, inputs.get(unit, {}), ctx, unit)
                if typed is not None:
                    scored[unit] = typed
            elif unit in ready:
                scored[unit] = shape.run(ready[unit], params, ctx, unit)
        except ValueError as exc:
            problems.append(
                Problem(
                    f"unit '{unit}', item '{item.key}'",
                    "invalid_input",
                    f"{names.get(unit, unit)}，{item.name}：{exc}",
                )
            )
    return scored


def score(
    rule_set: RuleSet,
    inputs: Inputs,
    manual: Manual | None = None,
    *,
    names: Mapping[str, str] | None = None,
    level: str | None = None,
    period: str = "",
) -> AssessmentResult:
    """Score every unit of ``inputs`` (and of ``manual``) by ``rule_set``; pure.

    Parameters
    ----------
    rule_set
        A loaded rule set (:func:`~geogrid.assessment.rules.load_rule_set`).
    inputs
        Unit → indicator name → value (None: no value), as
        :func:`~geogrid.assessment.inputs.resolve_inputs` gives them; per grid type also
        ``name@city`` and ``grids@city`` for items scored ``by_grid_type``.
    manual
        Unit → manual field (item key, or ``key.role``) → value.
    names
        Unit → name shown in results (default the unit's key).
    level, period
        Shown in the result (level default the rule set's units).

    Returns
    -------
    AssessmentResult
        Per unit and item: input values, points (None when pending), explanation sentences;
        part points, totals and ranks (ties share a rank), units best first.

    Raises
    ------
    ValidationFailed
        A manual input is unknown to the rule set or is not a number, or a shape cannot use a
        value (a level out of range, more qualified than sampled); each problem names the
        unit and the item.
    """
    manual = manual or {}
    check_manual(manual, rule_set)
    names = dict(names or {})
    units = list(dict.fromkeys([*inputs, *manual]))
    rounding = rule_set.score_rounding
    part_of = {item.key: part.key for part, item in rule_set.items()}
    done: _Done = {u: {} for u in units}
    problems: list[Problem] = []
    for item in rule_set.order():
        gathered = {
            u: {
                role: _value(item, role, source, u, inputs, manual, done)
                for role, source in item.sources.items()
            }
            for u in units
        }
        scored = _score_item(rule_set, item, units, gathered, names, problems, inputs)
        for unit in units:
            values = gathered[unit]
            if item.by_grid_type is not None:
                values = {k: v for k, v in inputs.get(unit, {}).items() if "@" in k}
            if unit in scored:
                points: float | None = scored[unit].points
                reasons = scored[unit].reasons
            else:
                absent = [r for r, v in gathered[unit].items() if v is None] or ["value"]
                points, why = _missing(item, absent, rounding)
                reasons = (why,)
            done[unit][item.key] = ItemResult(
                item.key, item.name, part_of[item.key], item.points, values, points, reasons
            )
    if problems:
        raise ValidationFailed(
            f"Rule set '{rule_set.name}' cannot score some inputs: {problems[0].message}",
            problems,
        )
    return _assemble(rule_set, units, done, names, level or rule_set.units, period)


def _assemble(
    rule_set: RuleSet,
    units: list[str],
    done: _Done,
    names: Mapping[str, str],
    level: str,
    period: str,
) -> AssessmentResult:
    rounding = rule_set.score_rounding
    order = [item.key for _, item in rule_set.items()]
    totals: dict[str, Decimal] = {}
    parts: dict[str, dict[str, float]] = {}
    for unit in units:
        parts[unit] = {
            p.key: float(rounding.apply(_sum([done[unit][i.key].points for i in p.items])))
            for p in rule_set.parts
        }
        totals[unit] = rounding.apply(_sum(list(parts[unit].values())))
    ranks = competition_ranks(totals)
    results = [
        UnitResult(
            unit,
            names.get(unit, unit),
            tuple(done[unit][key] for key in order),
            parts[unit],
            float(totals[unit]),
            ranks[unit],
        )
        for unit in units
    ]
    results.sort(key=lambda r: (r.rank, r.unit))
    return AssessmentResult(
        rule_set.name,
        rule_set.version,
        rule_set.title,
        level,
        period,
        tuple(PartInfo(p.key, p.name, p.points, p.bonus) for p in rule_set.parts),
        tuple(results),
    )


def _match_units(manual: Manual, names: Mapping[str, str]) -> dict[str, Mapping[str, float | None]]:
    """Manual inputs keyed by unit code, whether given by code or by name."""
    by_name: dict[str, list[str]] = {}
    for code, name in names.items():
        by_name.setdefault(name, []).append(code)
    matched: dict[str, Mapping[str, float | None]] = {}
    problems = []
    for key, values in manual.items():
        if key in names:
            matched[key] = values
        elif len(by_name.get(key, [])) == 1:
            matched[by_name[key][0]] = values
        else:
            problems.append(
                Problem(
                    f"unit '{key}'",
                    "unknown_unit",
                    f"Manual inputs name unit '{key}', which is no unit assessed here"
                    + (" (the name is ambiguous)." if key in by_name else "."),
                )
            )
    if problems:
        raise ValidationFailed(problems[0].message, problems)
    return matched


def assess_period(
    conn: Connection,
    rule_set: RuleSet,
    period: Period,
    *,
    level: str | None = None,
    manual: Manual | None = None,
    indicator_options: Mapping[str, Any] | None = None,
    coverage_rule: CoverageRule | None = None,
    label: str = "",
) -> AssessmentResult:
    """Score ``rule_set`` on the data of ``period``: resolve the inputs, then :func:`score`.

    ``level`` overrides the rule set's units; ``manual`` may name units by code or name.
    """
    level = level or rule_set.units
    found = resolve_inputs(
        conn,
        sorted(rule_set.indicators()),
        level=level,
        period=period,
        indicator_options=indicator_options,
        coverage_rule=coverage_rule,
    )
    matched = _match_units(manual or {}, found.names)
    shown = label or f"{period.start} – {period.end}"
    return score(rule_set, found.values, matched, names=found.names, level=level, period=shown)


def assess_month(
    conn: Connection,
    rule_set: RuleSet,
    month: str,
    *,
    level: str | None = None,
    manual: Manual | None = None,
    indicator_options: Mapping[str, Any] | None = None,
    coverage_rule: CoverageRule | None = None,
) -> AssessmentResult:
    """Score ``rule_set`` for the month ``YYYY-MM`` (or the year ``YYYY``) on the database.

    Parameters
    ----------
    conn
        Any connection (read only).
    rule_set
        The rule set; its indicators are computed per unit of ``level``.
    month
        ``YYYY-MM``; ``YYYY`` scores a calendar year (annual rule sets such as
        ``dongying-2018``).
    level
        The units scored (district, street, community, grid, department); default the rule
        set's.
    manual
        Manual inputs, unit (code or name) → field → value.
    indicator_options
        ``Settings.indicator_options()``: time zone, accumulation start, repeat distance,
        default denominator, extension exclusions.
    coverage_rule
        Parameters of patrol coverage (DOMAIN.md §5).
    """
    tz = str((indicator_options or {}).get("tz", "Asia/Shanghai"))
    return assess_period(
        conn,
        rule_set,
        period_of(month, tz=tz),
        level=level,
        manual=manual,
        indicator_options=indicator_options,
        coverage_rule=coverage_rule,
        label=month.strip(),
    )


def annual_totals(
    rule_set: RuleSet,
    monthly: Sequence[AssessmentResult],
    *,
    evaluation: Mapping[str, Number] | None = None,
    year_end: AssessmentResult | None = None,
) -> dict[str, float]:
    """The year's score of each unit from its monthly results (DOMAIN.md §7, §7b).

    ``weighted_mean`` (the default): mean of the monthly totals × 0.9 + the management
    evaluation × 0.1 (``evaluation``, unit → score). ``year_end_parts``: the parts of the
    ``year_end`` run, except ``monthly_parts``, which are the mean of the monthly runs.
    """
    spec = rule_set.annual
    rounding = rule_set.score_rounding
    if not monthly:
        raise InvalidParameter("The year's score needs at least one monthly result.")
    units = [u.unit for u in monthly[-1].units]
    if spec is None or spec.method == "weighted_mean":
        given = evaluation or {}
        missing = [u for u in units if u not in given]
        if missing:
            raise InvalidParameter(f"No management evaluation for unit(s) {', '.join(missing)}.")
        return {
            u: annual_score(
                [m.unit(u).total for m in monthly if any(x.unit == u for x in m.units)],
                given[u],
                monthly_weight=dec(spec.monthly_weight if spec else 0.9),
                evaluation_weight=dec(spec.evaluation_weight if spec else 0.1),
                rounding=rounding,
            )
            for u in units
        }
    if year_end is None:
        raise InvalidParameter(f"Rule set '{rule_set.name}' needs the year-end run.")
    totals = {}
    for unit in year_end.units:
        points = Decimal(0)
        for part in rule_set.parts:
            if part.key in spec.monthly_parts:
                months = [m.unit(unit.unit).parts[part.key] for m in monthly]
                points += _sum(months) / len(months)
            else:
                points += dec(unit.parts[part.key])
        totals[unit.unit] = float(rounding.apply(points))
    return totals
