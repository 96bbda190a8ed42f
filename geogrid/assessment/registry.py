"""The scoring shapes a rule file may name: their parameters, their inputs, and the call.

Each shape of :mod:`geogrid.assessment.shapes` is listed once in :data:`SHAPES` with a pydantic
model of its parameters (an unknown or missing parameter is an error of the rule file), the
roles of its inputs (``value`` for the one input of most shapes) and whether it compares the
units with each other (ranking, average, quota).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from geogrid.assessment import shapes
from geogrid.assessment.figures import Number, Rounding, StepRounding, dec
from geogrid.assessment.shapes import Band, Scored, Term

_POSITIVE = Field(gt=0)
_NON_NEGATIVE = Field(ge=0)


class Params(BaseModel):
    """Parameters of a shape, as written under ``params:`` of an item."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Stepped(Params):
    #: How steps beyond a threshold count; default the rule set's ``step_rounding``.
    step_rounding: StepRounding | None = None


class DirectParams(Params):
    """``direct``: the assessor's points, entered by hand."""


class RatioParams(Params):
    """``ratio``: ``factor × value / scale`` (or ``× (1 − value / scale)``), capped."""

    factor: float | None = Field(None, ge=0)
    scale: float = Field(100.0, gt=0)
    complement: bool = False
    unit: str = "%"


class ThresholdParams(_Stepped):
    """``threshold``: full points at a threshold, a deduction per step beyond, 0 past a floor."""

    direction: Literal["at_least", "at_most"]
    threshold: float
    step: float = _POSITIVE
    per_step: float = _POSITIVE
    zero_beyond: float | None = None
    max_deduction: float | None = Field(None, ge=0)
    unit: str = "%"

    @model_validator(mode="after")
    def _floor_beyond_threshold(self) -> ThresholdParams:
        z = self.zero_beyond
        if z is not None and (
            z > self.threshold if self.direction == "at_least" else z < self.threshold
        ):
            raise ValueError(
                f"zero_beyond ({z}) must lie on the failing side of threshold ({self.threshold})"
            )
        return self


class BaselineParams(_Stepped):
    """``baseline``: base points at a base, a bonus per step above and a deduction below."""

    base: float | None = Field(None, gt=0)
    #: Base by unit code or name (办结数量: 500 / 700 / 900 / 1,100 by town); ``base`` for the rest.
    base_by_unit: dict[str, float] = Field(default_factory=dict)
    base_points: float | None = Field(None, ge=0)
    above_step: float = _POSITIVE
    above_points: float = _NON_NEGATIVE
    below_step: float = _POSITIVE
    below_points: float = _NON_NEGATIVE
    #: None: no cap on the bonus (the points may exceed the item's).
    max_bonus: float | None = Field(None, ge=0)
    max_deduction: float | None = Field(None, ge=0)
    relative: bool = False
    unit: str = "件"

    @model_validator(mode="after")
    def _some_base(self) -> BaselineParams:
        if self.base is None and not self.base_by_unit:
            raise ValueError("give base, base_by_unit or both")
        if any(b <= 0 for b in self.base_by_unit.values()):
            raise ValueError("every base of base_by_unit must be greater than 0")
        return self


class AverageParams(Params):
    """``relative_to_average``: points per unit of the value above the average of all units."""

    per_point: float = _POSITIVE
    base_points: float = Field(0.0, ge=0)
    below_per_point: float = Field(0.0, ge=0)
    unit: str = "%"


class BandParams(Params):
    """One band: its points and its bounds (all given must hold)."""

    points: float = _NON_NEGATIVE
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None


class BandsParams(Params):
    """``bands``: the points of the first band the value lies in."""

    bands: list[BandParams] = Field(min_length=1)
    unit: str = "%"


class LevelsParams(Params):
    """``levels``: a level judged by hand (1, 2, …) → its points."""

    points: list[float] = Field(min_length=1)


class RankingParams(Params):
    """``ranking``: units ranked on the value, tiers of the ranking → points."""

    tier_points: list[float] = Field(min_length=2)
    order: Literal["desc", "asc"] = "desc"
    unit: str = "%"


class SampleParams(Params):
    """``sample_share``: ``factor × qualified / sampled``."""

    factor: float | None = Field(None, ge=0)
    when_none_sampled: Literal["full", "zero"] = "full"


class OccurrenceParams(Params):
    """``occurrences``: points per occurrence of each kind, within a floor and a ceiling.

    ``per`` is the deduction per occurrence of the item's one input; ``deduct`` and ``add``
    name kinds of occurrence, each an input role. ``start`` defaults to the item's points
    when anything is deducted, else 0; ``floor`` to 0 and ``ceiling`` to the item's points
    (an explicit null: no bound on that side).
    """

    per: float | None = Field(None, gt=0)
    deduct: dict[str, float] = Field(default_factory=dict)
    add: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    start: float | None = None
    floor: float | None = 0.0
    ceiling: float | None = None
    unit: str = "次"

    @model_validator(mode="after")
    def _something_counts(self) -> OccurrenceParams:
        if self.per is None and not self.deduct and not self.add:
            raise ValueError("give per, deduct or add")
        if self.per is not None and (self.deduct or self.add):
            raise ValueError("give either per (one input) or deduct/add (named inputs)")
        if any(v < 0 for v in [*self.deduct.values(), *self.add.values()]):
            raise ValueError("points per occurrence must not be negative")
        return self

    def roles(self) -> tuple[str, ...]:
        """The input roles: ``value`` with ``per``, else the kinds of ``deduct`` and ``add``."""
        if self.per is not None:
            return ("value",)
        return tuple(dict.fromkeys([*self.deduct, *self.add]))


class TermParams(Params):
    """One term of a composite: ``weight × value / scale``, full at ``value = full``."""

    weight: float = _POSITIVE
    full: float = _POSITIVE
    scale: float = Field(1.0, gt=0)
    label: str = ""
    unit: str = ""


class CompositeParams(Params):
    """``composite``: the sum of weighted terms, one input role per term."""

    terms: dict[str, TermParams] = Field(min_length=1)


class CaseQuantityParams(_Stepped):
    """``case_quantity``: done vs a quota by population and area, with two bonuses."""

    #: The district's quota T to share out, or ``sum``: the units' done cases added up.
    quota_total: float | Literal["sum"]
    population_weight: float = Field(0.6, ge=0)
    area_weight: float = Field(0.4, ge=0)
    base_points: float = Field(24.0, ge=0)
    above_step: float = Field(10.0, gt=0)
    above_points: float = Field(1.0, ge=0)
    above_max: float = Field(3.0, ge=0)
    growth_step: float = Field(5.0, gt=0)
    growth_points: float = Field(1.0, ge=0)
    growth_max: float = Field(3.0, ge=0)

    @model_validator(mode="after")
    def _weights(self) -> CaseQuantityParams:
        if abs(self.population_weight + self.area_weight - 1) > 1e-9:
            raise ValueError("population_weight and area_weight must add up to 1")
        if isinstance(self.quota_total, float) and self.quota_total <= 0:
            raise ValueError("quota_total must be greater than 0 or 'sum'")
        return self


@dataclass(frozen=True)
class Context:
    """What a shape needs beyond its inputs: the item, the rounding, the units' names."""

    label: str
    max_points: float
    rounding: Rounding
    step_rounding: StepRounding
    names: Mapping[str, str] = field(default_factory=dict)


Values = Mapping[str, Decimal]
UnitRun = Callable[[Values, Params, Context, str], Scored]
CrossRun = Callable[[Mapping[str, Values], Params, Context], dict[str, Scored]]


@dataclass(frozen=True)
class Shape:
    """A scoring shape as a rule file names it."""

    name: str
    title: str
    params: type[Params]
    roles: Callable[[Params], tuple[str, ...]]
    run: UnitRun | None = None
    cross: CrossRun | None = None
    optional_roles: tuple[str, ...] = ()

    @property
    def cross_unit(self) -> bool:
        """Whether the shape compares the units with each other."""
        return self.cross is not None


def _one(_: Params) -> tuple[str, ...]:
    return ("value",)


def _steps(p: _Stepped, ctx: Context) -> StepRounding:
    return p.step_rounding or ctx.step_rounding


def _direct(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    return shapes.direct_points(
        v["value"], max_points=ctx.max_points, label=ctx.label, rounding=ctx.rounding
    )


def _ratio(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, RatioParams)
    return shapes.ratio_points(
        v["value"],
        max_points=ctx.max_points,
        label=ctx.label,
        factor=p.factor,
        scale=p.scale,
        complement=p.complement,
        unit=p.unit,
        rounding=ctx.rounding,
    )


def _threshold(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, ThresholdParams)
    return shapes.threshold_points(
        v["value"],
        max_points=ctx.max_points,
        label=ctx.label,
        threshold=p.threshold,
        step=p.step,
        per_step=p.per_step,
        step_rounding=_steps(p, ctx),
        direction=p.direction,
        zero_beyond=p.zero_beyond,
        max_deduction=p.max_deduction,
        unit=p.unit,
        rounding=ctx.rounding,
    )


def base_of(p: BaselineParams, unit: str, names: Mapping[str, str]) -> float | None:
    """The base of ``unit``: by its code, then its name, then the default ``base``."""
    by_unit = p.base_by_unit
    return by_unit.get(unit, by_unit.get(names.get(unit, ""), p.base))


def _baseline(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, BaselineParams)
    base = base_of(p, unit, ctx.names)
    if base is None:
        raise ValueError(f"{ctx.label}：未设定本单位的基数（base_by_unit 中没有，也没有 base）。")
    return shapes.baseline_points(
        v["value"],
        label=ctx.label,
        base=base,
        base_points=ctx.max_points if p.base_points is None else p.base_points,
        above_step=p.above_step,
        above_points=p.above_points,
        below_step=p.below_step,
        below_points=p.below_points,
        step_rounding=_steps(p, ctx),
        max_bonus=p.max_bonus,
        max_deduction=p.max_deduction,
        relative=p.relative,
        unit=p.unit,
        rounding=ctx.rounding,
    )


def _bands(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, BandsParams)
    return shapes.band_points(
        v["value"],
        max_points=ctx.max_points,
        label=ctx.label,
        bands=[Band(**b.model_dump()) for b in p.bands],
        unit=p.unit,
        rounding=ctx.rounding,
    )


def _levels(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, LevelsParams)
    return shapes.level_points(
        v["value"],
        max_points=ctx.max_points,
        label=ctx.label,
        points=p.points,
        rounding=ctx.rounding,
    )


def _sample(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, SampleParams)
    return shapes.sample_points(
        v["qualified"],
        v["sampled"],
        max_points=ctx.max_points,
        label=ctx.label,
        factor=p.factor,
        when_none_sampled=p.when_none_sampled,
        rounding=ctx.rounding,
    )


def _occurrences(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, OccurrenceParams)
    deduct = {"value": p.per} if p.per is not None else p.deduct
    given = p.model_fields_set
    start = p.start if p.start is not None else (ctx.max_points if deduct else 0.0)
    return shapes.occurrence_points(
        v,
        label=ctx.label,
        deduct=deduct,
        add=p.add,
        labels=p.labels,
        start=start,
        floor=p.floor if "floor" in given else 0.0,
        ceiling=p.ceiling if "ceiling" in given else ctx.max_points,
        unit=p.unit,
        rounding=ctx.rounding,
    )


def _composite(v: Values, p: Params, ctx: Context, unit: str) -> Scored:
    assert isinstance(p, CompositeParams)
    return shapes.composite_points(
        v,
        max_points=ctx.max_points,
        label=ctx.label,
        terms={role: Term(**t.model_dump()) for role, t in p.terms.items()},
        rounding=ctx.rounding,
    )


def _average(values: Mapping[str, Values], p: Params, ctx: Context) -> dict[str, Scored]:
    assert isinstance(p, AverageParams)
    return shapes.average_points(
        {u: v["value"] for u, v in values.items()},
        max_points=ctx.max_points,
        label=ctx.label,
        per_point=p.per_point,
        base_points=p.base_points,
        below_per_point=p.below_per_point,
        unit=p.unit,
        rounding=ctx.rounding,
    )


def _ranking(values: Mapping[str, Values], p: Params, ctx: Context) -> dict[str, Scored]:
    assert isinstance(p, RankingParams)
    return shapes.ranking_points(
        {u: v["value"] for u, v in values.items()},
        max_points=ctx.max_points,
        label=ctx.label,
        tier_points=p.tier_points,
        descending=p.order == "desc",
        unit=p.unit,
        rounding=ctx.rounding,
    )


def _case_quantity(values: Mapping[str, Values], p: Params, ctx: Context) -> dict[str, Scored]:
    assert isinstance(p, CaseQuantityParams)
    if not values:
        return {}
    done = {u: v["done"] for u, v in values.items()}
    total: Number = sum(done.values(), Decimal(0)) if p.quota_total == "sum" else dec(p.quota_total)
    quotas = shapes.allocate_quota(
        total,
        {u: v["population"] for u, v in values.items()},
        {u: v["area"] for u, v in values.items()},
        population_weight=dec(p.population_weight),
        area_weight=dec(p.area_weight),
    )
    return {
        u: shapes.case_quantity_points(
            done[u],
            quotas[u],
            v.get("last_year"),
            label=ctx.label,
            max_points=ctx.max_points,
            base_points=p.base_points,
            above_step=p.above_step,
            above_points=p.above_points,
            above_max=p.above_max,
            growth_step=p.growth_step,
            growth_points=p.growth_points,
            growth_max=p.growth_max,
            step_rounding=_steps(p, ctx),
            rounding=ctx.rounding,
        )
        for u, v in values.items()
    }


def _occurrence_roles(p: Params) -> tuple[str, ...]:
    assert isinstance(p, OccurrenceParams)
    return p.roles()


def _term_roles(p: Params) -> tuple[str, ...]:
    assert isinstance(p, CompositeParams)
    return tuple(p.terms)


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape("direct", "人工评分", DirectParams, _one, _direct),
        Shape("ratio", "比例计分", RatioParams, _one, _ratio),
        Shape("threshold", "达标扣分", ThresholdParams, _one, _threshold),
        Shape("baseline", "基数加减分", BaselineParams, _one, _baseline),
        Shape("bands", "分档计分", BandsParams, _one, _bands),
        Shape("levels", "评定档次", LevelsParams, _one, _levels),
        Shape(
            "sample_share", "抽查合格率", SampleParams, lambda _: ("qualified", "sampled"), _sample
        ),
        Shape("occurrences", "按次扣分", OccurrenceParams, _occurrence_roles, _occurrences),
        Shape("composite", "加权合成", CompositeParams, _term_roles, _composite),
        Shape("relative_to_average", "与平均值比较", AverageParams, _one, cross=_average),
        Shape("ranking", "排名分档", RankingParams, _one, cross=_ranking),
        Shape(
            "case_quantity",
            "案件数量（定额）",
            CaseQuantityParams,
            lambda _: ("done", "population", "area", "last_year"),
            cross=_case_quantity,
            optional_roles=("last_year",),
        ),
    )
}
