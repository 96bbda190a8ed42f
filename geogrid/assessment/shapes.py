"""The scoring shapes of assessment rules (DOMAIN.md §7, §7b), each a small pure function.

A shape turns an item's input (a rate, a count, a manual judgement) into points and says, in
Chinese, why every point was lost or gained ("按期结案率 78.30% 低于 80%，每低 5% 扣 1 分：扣 1
分"). Shapes know nothing of rule files or databases: :mod:`geogrid.assessment.registry`
reads their parameters from a rule file and the engine feeds them the inputs.

Common to all: ``max_points`` is the item's points; a deduction never exceeds them and points
never go below 0 unless a parameter says so (``floor`` of :func:`occurrence_points`); the
points are rounded by the rule set's ``rounding``; ``label`` names the item in sentences and
``unit`` is the unit of the input (``%`` for rates). An input a shape cannot score (a negative
count, more qualified cases than sampled) raises ``ValueError`` with a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from geogrid.assessment.figures import (
    Number,
    Rounding,
    StepRounding,
    bound,
    count_steps,
    dec,
    fmt,
    gap_unit,
    show,
)

_ZERO = Decimal(0)
#: The default rounding of a shape's points: half up to 2 decimals.
HALF_UP = Rounding()
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Scored:
    """The points of one item for one unit, and a sentence for every point lost or gained."""

    points: float
    reasons: tuple[str, ...] = ()


def _scored(points: Decimal, *reasons: str) -> Scored:
    return Scored(float(points), tuple(reasons))


def _lost(top: Decimal, points: Decimal) -> str:
    return f"得 {fmt(points)} 分，扣 {fmt(top - points)} 分"


def direct_points(
    value: Number, *, max_points: Number, label: str, rounding: Rounding = HALF_UP
) -> Scored:
    """Points judged by the assessor and entered by hand (人工评分).

    ``value`` must lie in 0..``max_points``: a judgement beyond the item's points is an input
    error, not a score to cap.
    """
    v, top = dec(value), dec(max_points)
    if v < 0 or v > top:
        raise ValueError(f"{label}的评分 {fmt(v)} 不在 0 至 {fmt(top)} 分之间。")
    points = rounding.apply(v)
    if points >= top:
        return _scored(points)
    return _scored(
        points, f"{label}评定 {fmt(points)} 分（满分 {fmt(top)} 分）：扣 {fmt(top - points)} 分"
    )


def ratio_points(
    value: Number,
    *,
    max_points: Number,
    label: str,
    factor: Number | None = None,
    scale: Number = 100,
    complement: bool = False,
    unit: str = "%",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """Points × ratio, capped at the item's points (DOMAIN.md §7: 1 分 × 结案数 / 应结案数).

    ``value / scale`` is the ratio (``scale`` 100 for a rate in percent); with ``complement``
    the ratio is ``1 − value / scale`` (漏报率 3 % keeps 97 % of the points). ``factor``
    defaults to ``max_points``. 9,318 of 9,324 closed is 99.936 %; × 1 point, truncated,
    0.99.
    """
    v, top, s = dec(value), dec(max_points), dec(scale)
    f = top if factor is None else dec(factor)
    share = (s - v) / s if complement else v / s
    points = rounding.apply(min(top, max(_ZERO, f * share)))
    if points >= top:
        return _scored(points)
    if complement:
        formula = f"{fmt(f)} 分 ×（{bound(s, unit)} − {show(v, unit)}）"
    elif unit != "%" and s != 1:
        formula = f"{fmt(f)} 分 × {show(v, unit)} / {fmt(s)} "
    else:
        formula = f"{fmt(f)} 分 × {show(v, unit)} "
    return _scored(points, f"{label} {show(v, unit)}，按 {formula}计：{_lost(top, points)}")


def threshold_points(
    value: Number,
    *,
    max_points: Number,
    label: str,
    threshold: Number,
    step: Number,
    per_step: Number,
    step_rounding: StepRounding,
    direction: str = "at_least",
    zero_beyond: Number | None = None,
    max_deduction: Number | None = None,
    unit: str = "%",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """Full points at a threshold, ``per_step`` off per ``step`` beyond it, 0 past a floor.

    ``direction`` ``at_least``: full at ``value ≥ threshold`` (按期结案率 ≥ 80 %); ``at_most``:
    full at ``value ≤ threshold`` (返工率 ≤ 2 %). The steps beyond are counted by
    ``step_rounding`` (:func:`~geogrid.assessment.figures.count_steps`). Strictly beyond
    ``zero_beyond`` (below 60 %, or above for ``at_most``) the item scores 0. The deduction
    is capped at ``max_deduction`` and at ``max_points``.
    """
    v, top, t = dec(value), dec(max_points), dec(threshold)
    at_least = direction == "at_least"
    worse = "低于" if at_least else "高于"
    gap = t - v if at_least else v - t
    if gap <= 0:
        return _scored(rounding.apply(top))
    if zero_beyond is not None and (v < dec(zero_beyond) if at_least else v > dec(zero_beyond)):
        return _scored(
            _ZERO,
            f"{label} {show(v, unit)} {worse} {bound(zero_beyond, unit)}：不得分，扣 {fmt(top)} 分",
        )
    cut = count_steps(gap, step, step_rounding) * dec(per_step)
    limit = top if max_deduction is None else min(top, dec(max_deduction))
    capped = cut >= limit and limit == top and cut > 0
    points = rounding.apply(top - min(cut, limit))
    if points >= top:
        return _scored(points)
    each = "每低" if at_least else "每高"
    return _scored(
        points,
        f"{label} {show(v, unit)} {worse} {bound(t, unit)}，{each} {bound(step, unit)} "
        f"扣 {fmt(per_step)} 分：扣 {fmt(top - points)} 分" + ("（扣完为止）" if capped else ""),
    )


def baseline_points(
    value: Number,
    *,
    label: str,
    base: Number,
    base_points: Number,
    above_step: Number,
    above_points: Number,
    below_step: Number,
    below_points: Number,
    step_rounding: StepRounding,
    max_bonus: Number | None = None,
    max_deduction: Number | None = None,
    relative: bool = False,
    unit: str = "件",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """``base_points`` at a base, a bonus per step above it and a deduction per step below.

    DOMAIN.md §7 (town event reporting): 600 routine events per grid → 8 points, +1 per 100
    above (no cap: ``max_bonus`` None), −1 per 50 below (at most −8). With ``relative`` the
    steps are percent of the base (办结数量: +1 per 10 % above, −1 per 5 % below). The
    deduction is capped at ``max_deduction`` (default ``base_points``): never below 0.
    """
    v, b, start = dec(value), dec(base), dec(base_points)
    if v == b:
        return _scored(rounding.apply(start))
    gap = abs(v - b) / b * _HUNDRED if relative else abs(v - b)
    gap_text = f" {show(gap, '%')}" if relative else ""
    step_text = bound(above_step if v > b else below_step, "%" if relative else unit)
    where = f"{label} {show(v, unit)}，{'高于' if v > b else '低于'}基数 {show(b, unit)}{gap_text}"
    if v > b:
        bonus = count_steps(gap, above_step, step_rounding) * dec(above_points)
        capped = max_bonus is not None and bonus > dec(max_bonus)
        if max_bonus is not None:
            bonus = min(bonus, dec(max_bonus))
        points = rounding.apply(start + bonus)
        if points == start:
            return _scored(points)
        return _scored(
            points,
            f"{where}，每高 {step_text} 加 {fmt(above_points)} 分：加 {fmt(points - start)} 分"
            + (f"（最多加 {fmt(dec(max_bonus or 0))} 分）" if capped else ""),
        )
    limit = start if max_deduction is None else min(start, dec(max_deduction))
    cut = count_steps(gap, below_step, step_rounding) * dec(below_points)
    note = "" if cut < limit or cut == 0 else "（扣完为止）"
    if note and limit < start:
        note = f"（最多扣 {fmt(limit)} 分）"
    points = rounding.apply(start - min(cut, limit))
    if points == start:
        return _scored(points)
    return _scored(
        points,
        f"{where}，每低 {step_text} 扣 {fmt(below_points)} 分：扣 {fmt(start - points)} 分{note}",
    )


def average_points(
    values: Mapping[str, Number],
    *,
    max_points: Number,
    label: str,
    per_point: Number,
    base_points: Number = 0,
    below_per_point: Number = 0,
    unit: str = "%",
    rounding: Rounding = HALF_UP,
) -> dict[str, Scored]:
    """Points relative to the average of all units (DOMAIN.md §7, template-2022 结案率).

    The average is the plain mean of the units' values, rounded half up to 2 decimals (as a
    published average is). A unit scores ``base_points`` + ``per_point`` per unit of its value
    above the average (+0.5 per percentage point), capped at ``max_points``, and
    ``base_points`` − ``below_per_point`` per unit below, never below 0.
    """
    if not values:
        return {}
    top, start = dec(max_points), dec(base_points)
    mean = sum((dec(v) for v in values.values()), _ZERO) / len(values)
    avg = mean.quantize(Decimal("0.01"), ROUND_HALF_UP)
    scored = {}
    for unit_key, value in values.items():
        v = dec(value)
        diff = v - avg
        raw = start + dec(per_point) * diff if diff > 0 else start + dec(below_per_point) * diff
        points = rounding.apply(min(top, max(_ZERO, raw)))
        if points >= top:
            scored[unit_key] = _scored(points)
            continue
        where = f"{label} {show(v, unit)}"
        if diff > 0:
            why = (
                f"{where} 高于各单位平均 {show(avg, unit)} {fmt(diff)} {gap_unit(unit)}，"
                f"每高 1 {gap_unit(unit)}得 {fmt(per_point)} 分"
            )
        elif diff == 0 or dec(below_per_point) == 0:
            why = f"{where} 不高于各单位平均 {show(avg, unit)}"
        else:
            why = (
                f"{where} 低于各单位平均 {show(avg, unit)} {fmt(-diff)} {gap_unit(unit)}，"
                f"每低 1 {gap_unit(unit)}扣 {fmt(below_per_point)} 分"
            )
        scored[unit_key] = _scored(points, f"{why}：{_lost(top, points)}")
    return scored


@dataclass(frozen=True)
class Band:
    """One band of a tiered rule: its points and the bounds a value must meet (all given)."""

    points: float
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None

    def holds(self, value: Number) -> bool:
        """Whether ``value`` lies in the band."""
        v = dec(value)
        return (
            (self.at_least is None or v >= dec(self.at_least))
            and (self.above is None or v > dec(self.above))
            and (self.at_most is None or v <= dec(self.at_most))
            and (self.below is None or v < dec(self.below))
        )

    def describe(self, unit: str) -> str:
        """The band in words: ≤ 20%, > 30%, ≥ 6 且 < 12; 其他 when unbounded."""
        parts = [
            f"{sign} {bound(limit, unit)}"
            for sign, limit in (
                ("≥", self.at_least),
                (">", self.above),
                ("≤", self.at_most),
                ("<", self.below),
            )
            if limit is not None
        ]
        return " 且 ".join(parts) or "其他"


def band_points(
    value: Number,
    *,
    max_points: Number,
    label: str,
    bands: Sequence[Band],
    unit: str = "%",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """Tiered bands: the points of the first band the value lies in, 0 if none.

    DOMAIN.md §7: simple and self-handled cases ≤ 10 % → 3; 11–20 % → 2; 21–30 % → 1;
    > 30 % → 0, written as the bands ≤ 10, ≤ 20, ≤ 30, other (10.5 % is in the second).
    """
    top, v = dec(max_points), dec(value)
    band = next((b for b in bands if b.holds(v)), None)
    points = rounding.apply(min(top, dec(band.points))) if band else _ZERO
    if points >= top:
        return _scored(points)
    where = f"（{band.describe(unit)}）" if band else "（不在任何档内）"
    return _scored(points, f"{label} {show(v, unit)}{where}：{_lost(top, points)}")


def level_points(
    level: Number,
    *,
    max_points: Number,
    label: str,
    points: Sequence[Number],
    rounding: Rounding = HALF_UP,
) -> Scored:
    """A level judged by the assessor (第 1 档, 第 2 档, …) → the points of that level.

    template-2022 分中心建设: levels 1, 2, 3 → 4, 3, 0 points.
    """
    n = dec(level)
    if n != n.to_integral_value() or not 1 <= n <= len(points):
        raise ValueError(f"{label}的档次须为 1 至 {len(points)} 的整数，收到 {fmt(n)}。")
    top = dec(max_points)
    got = rounding.apply(min(top, dec(points[int(n) - 1])))
    if got >= top:
        return _scored(got)
    return _scored(got, f"{label}评为第 {int(n)} 档：{_lost(top, got)}")


def competition_ranks(values: Mapping[str, Number], *, descending: bool = True) -> dict[str, int]:
    """Rank of each key, best first; equal values share a rank and the next is skipped (1, 1, 3)."""
    ordered = sorted((dec(v) for v in values.values()), reverse=descending)
    first: dict[Decimal, int] = {}
    for i, v in enumerate(ordered, start=1):
        first.setdefault(v, i)
    return {k: first[dec(v)] for k, v in values.items()}


def ranking_points(
    values: Mapping[str, Number],
    *,
    max_points: Number,
    label: str,
    tier_points: Sequence[Number],
    descending: bool = True,
    unit: str = "%",
    rounding: Rounding = HALF_UP,
) -> dict[str, Scored]:
    """Ranking tiers: units ranked on a value, split into as many tiers as points given.

    DOMAIN.md §7: tiers 1..6 → 5, 4, 3, 2, 1, 0. Of ``n`` ranked units, rank ``r`` (ties
    share a rank) falls in tier ``⌊(r − 1) × k / n⌋ + 1`` of ``k``: the tiers split the
    ranking evenly and the last rank is in the last tier whenever ``n ≥ k``.
    """
    ranks = competition_ranks(values, descending=descending)
    n, k, top = len(values), len(tier_points), dec(max_points)
    scored = {}
    for unit_key, rank in ranks.items():
        tier = min(k - 1, (rank - 1) * k // n)
        points = rounding.apply(min(top, dec(tier_points[tier])))
        if points >= top:
            scored[unit_key] = _scored(points)
            continue
        scored[unit_key] = _scored(
            points,
            f"{label} {show(values[unit_key], unit)} 在 {n} 个单位中排第 {rank} 名"
            f"（第 {tier + 1} 档）：{_lost(top, points)}",
        )
    return scored


def sample_points(
    qualified: Number,
    sampled: Number,
    *,
    max_points: Number,
    label: str,
    factor: Number | None = None,
    when_none_sampled: str = "full",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """Sample-based share: ``factor`` × qualified / sampled (DOMAIN.md §7: 5 × 合格 / 抽查).

    ``factor`` defaults to ``max_points``. No case sampled scores full points (or 0 with
    ``when_none_sampled='zero'``).
    """
    q, s, top = dec(qualified), dec(sampled), dec(max_points)
    if q < 0 or s < 0 or q > s:
        raise ValueError(f"{label}：合格 {fmt(q)} 件、抽查 {fmt(s)} 件不成立。")
    if s == 0:
        if when_none_sampled == "full":
            return _scored(rounding.apply(top))
        return _scored(_ZERO, f"{label}本期未抽查：不得分，扣 {fmt(top)} 分")
    f = top if factor is None else dec(factor)
    points = rounding.apply(min(top, f * q / s))
    if points >= top:
        return _scored(points)
    return _scored(
        points,
        f"{label}抽查 {fmt(s)} 件，合格 {fmt(q)} 件（合格率 {show(q / s * _HUNDRED, '%')}），"
        f"按 {fmt(f)} 分 × 合格率计：{_lost(top, points)}",
    )


def occurrence_points(
    counts: Mapping[str, Number],
    *,
    label: str,
    deduct: Mapping[str, Number],
    add: Mapping[str, Number] | None = None,
    labels: Mapping[str, str] | None = None,
    start: Number,
    floor: Number | None = 0,
    ceiling: Number | None = None,
    unit: str = "次",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """Per-occurrence deductions (and additions) from ``start`` until the item is used up.

    DOMAIN.md §7 (扣完为止): each missed case −1, each missed major safety case −5. Every kind
    of occurrence ``r`` counted in ``counts[r]`` costs ``deduct[r]`` or earns ``add[r]``; the
    result is kept within ``floor``..``ceiling`` (None: unbounded on that side).
    """
    names = labels or {}
    total = dec(start)
    reasons = []
    for role, count in counts.items():
        n = dec(count)
        if n < 0:
            raise ValueError(f"{label}：{names.get(role, role)}次数 {fmt(n)} 不能为负。")
        if n == 0:
            continue
        what = f"{names.get(role, label)} {fmt(n)} {unit}"
        if role in deduct:
            cut = n * dec(deduct[role])
            total -= cut
            reasons.append(f"{what}，每{unit}扣 {fmt(deduct[role])} 分：扣 {fmt(cut)} 分")
        if add and role in add:
            gain = n * dec(add[role])
            total += gain
            reasons.append(f"{what}，每{unit}加 {fmt(add[role])} 分：加 {fmt(gain)} 分")
    if floor is not None and total < dec(floor):
        total = dec(floor)
        reasons.append(f"{label}合计扣 {fmt(dec(start) - total)} 分（扣完为止）")
    if ceiling is not None and total > dec(ceiling):
        total = dec(ceiling)
        reasons.append(f"{label}最多得 {fmt(total)} 分")
    return _scored(rounding.apply(total), *reasons)


@dataclass(frozen=True)
class Term:
    """One part of a weighted composite: ``weight × value / scale``, full at ``value = full``."""

    weight: float
    full: float
    scale: float = 1.0
    label: str = ""
    unit: str = ""

    @property
    def max_points(self) -> Decimal:
        """The term's points at ``full``."""
        return dec(self.weight) * dec(self.full) / dec(self.scale)


def composite_points(
    values: Mapping[str, Number],
    *,
    max_points: Number,
    label: str,
    terms: Mapping[str, Term],
    rounding: Rounding = HALF_UP,
) -> Scored:
    """A weighted composite of parts: the sum of ``weight × value / scale`` of each term.

    DOMAIN.md §7: total = 60 % grid-management score + 40 % third-party street-environment
    score (weights 0.6 and 0.4, full at 100); 1+5+X: 1 point × self-handled closure rate +
    0.5 × spot checks + …. Each term is rounded and capped at its full value; the sum is capped
    at ``max_points``.
    """
    top = dec(max_points)
    total = _ZERO
    reasons = []
    for role, term in terms.items():
        v = dec(values[role])
        got = rounding.apply(dec(term.weight) * min(v, dec(term.full)) / dec(term.scale))
        got = max(_ZERO, got)
        total += got
        full = rounding.apply(term.max_points)
        if got < full:
            reasons.append(
                f"{term.label or role} {show(v, term.unit)}：得 {fmt(got)} 分"
                f"（满分 {fmt(full)} 分），扣 {fmt(full - got)} 分"
            )
    points = rounding.apply(min(top, total))
    return _scored(points, *reasons)


def allocate_quota(
    total: Number,
    population: Mapping[str, Number],
    area: Mapping[str, Number],
    *,
    population_weight: Number = Decimal("0.6"),
    area_weight: Number = Decimal("0.4"),
) -> dict[str, Decimal]:
    """Case quota of each unit by its shares of population and area (DOMAIN.md §7).

    ``quota_i = T × 0.6 × pop_i / Σpop + T × 0.4 × area_i / Σarea``; the quotas add up to
    ``T``. Exact (Decimal), not rounded.
    """
    pop_sum = sum((dec(p) for p in population.values()), _ZERO)
    area_sum = sum((dec(a) for a in area.values()), _ZERO)
    if pop_sum <= 0 or area_sum <= 0:
        raise ValueError("分配案件定额需要各单位的人口和面积，且合计大于 0。")
    t = dec(total)
    return {
        key: t * dec(population_weight) * dec(population[key]) / pop_sum
        + t * dec(area_weight) * dec(area[key]) / area_sum
        for key in population
    }


def case_quantity_points(
    done: Number,
    quota: Number,
    last_year: Number | None = None,
    *,
    label: str = "案件数量",
    max_points: Number = 30,
    base_points: Number = 24,
    above_step: Number = 10,
    above_points: Number = 1,
    above_max: Number = 3,
    growth_step: Number = 5,
    growth_points: Number = 1,
    growth_max: Number = 3,
    step_rounding: StepRounding = "whole_step",
    rounding: Rounding = HALF_UP,
) -> Scored:
    """The case-quantity rule of DOMAIN.md §7 (template-2022 案件数量).

    ``min(24, done / quota × 24)``; +1 per 10 percentage points of the quota above 100 %
    (at most +3); +1 per 5 % above the same month last year (at most +3); at most 30 in all.
    No last-year figure (or 0) earns no growth bonus.
    """
    d, q, top, start = dec(done), dec(quota), dec(max_points), dec(base_points)
    if q <= 0:
        raise ValueError(f"{label}的定额须大于 0，收到 {fmt(q)}。")
    share = d / q * _HUNDRED
    base = min(start, start * d / q)
    reasons = []
    rounded_base = rounding.apply(base)
    if rounded_base < start:
        reasons.append(
            f"{label} {fmt(d)} 件，为定额 {fmt(q.quantize(Decimal('0.01'), ROUND_HALF_UP))} 件的 "
            f"{show(share, '%')}，按 {fmt(start)} 分 × 完成比例计 {fmt(rounded_base)} 分：扣 "
            f"{fmt(start - rounded_base)} 分"
        )
    excess = share - _HUNDRED
    over = min(dec(above_max), count_steps(excess, above_step, step_rounding) * dec(above_points))
    if over < dec(above_max):
        if excess <= 0:
            reasons.append(f"未超出定额：无超额加分（最多 {fmt(above_max)} 分）")
        else:
            reasons.append(
                f"超出定额 {fmt(excess.quantize(Decimal('0.01')))} 个百分点，每 {fmt(above_step)} "
                f"个百分点加 {fmt(above_points)} 分：加 {fmt(over)} 分（最多 {fmt(above_max)} 分）"
            )
    growth = _ZERO
    if last_year is not None and dec(last_year) > 0:
        rise = (d - dec(last_year)) / dec(last_year) * _HUNDRED
        growth = min(
            dec(growth_max), count_steps(rise, growth_step, step_rounding) * dec(growth_points)
        )
        if growth < dec(growth_max):
            earlier = f"较去年同期 {fmt(last_year)} 件"
            reasons.append(
                f"{earlier}增长 {show(rise, '%')}，每 {fmt(growth_step)}% 加 {fmt(growth_points)} "
                f"分：加 {fmt(growth)} 分（最多 {fmt(growth_max)} 分）"
                if rise > 0
                else f"{earlier}未增长：无增长加分（最多 {fmt(growth_max)} 分）"
            )
    else:
        reasons.append(f"无去年同期案件数：无增长加分（最多 {fmt(growth_max)} 分）")
    points = rounding.apply(min(top, base + over + growth))
    return _scored(points, *reasons) if points < top else _scored(points)


def annual_score(
    monthly: Sequence[Number],
    evaluation: Number,
    *,
    monthly_weight: Number = Decimal("0.9"),
    evaluation_weight: Number = Decimal("0.1"),
    rounding: Rounding = HALF_UP,
) -> float:
    """Annual score = mean of the monthly scores × 0.9 + management evaluation × 0.1 (§7)."""
    if not monthly:
        raise ValueError("年度得分需要至少一个月的得分。")
    mean = sum((dec(m) for m in monthly), _ZERO) / len(monthly)
    return float(
        rounding.apply(mean * dec(monthly_weight) + dec(evaluation) * dec(evaluation_weight))
    )
