"""Exact arithmetic and Chinese wording of the figures of an assessment (DOMAIN.md §7).

Scores are computed in :class:`~decimal.Decimal` from the decimal text of every number, so that
a truncated figure is the published one (0.57 × 100 is 57, not 56.99999…), and rounded once,
by the rule set's :class:`Rounding`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

Number = int | float | Decimal
StepRounding = Literal["started_step", "whole_step", "proportional"]
STEP_ROUNDINGS: tuple[StepRounding, ...] = ("started_step", "whole_step", "proportional")
#: Differences below this are arithmetic noise (a quotient such as 2/3 × 3), not score.
_NOISE = Decimal("1e-12")


def dec(value: Number | str) -> Decimal:
    """``value`` as a Decimal of its shortest decimal text (0.1 is 0.1, not 0.1000…055…)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Rounding:
    """How a rule set rounds scores: ``truncate`` or ``half_up``, to ``decimals`` places.

    Published figures are often truncated, not rounded (0.99936 → 0.99, DOMAIN.md §7). Noise
    below 10⁻¹² is removed first, so that a quotient that should be exact stays exact.
    """

    mode: Literal["truncate", "half_up"] = "half_up"
    decimals: int = 2

    def apply(self, value: Number) -> Decimal:
        """``value`` rounded by this rule."""
        exact = dec(value).quantize(_NOISE, ROUND_HALF_UP)
        step = Decimal(1).scaleb(-self.decimals)
        return exact.quantize(step, ROUND_DOWN if self.mode == "truncate" else ROUND_HALF_UP)


def count_steps(gap: Number, step: Number, rounding: StepRounding) -> Decimal:
    """How many steps of ``step`` a ``gap`` beyond a threshold makes (DOMAIN.md §7).

    "−1 per 5 % below" is read three ways: 78.3 % against 80 % is 1 step when a started step
    counts (``started_step``), 0 with whole steps only (``whole_step``) and 0.34 of a step
    (``proportional``). A gap of 0 or less is no step.
    """
    g, s = dec(gap), dec(step)
    if g <= 0:
        return Decimal(0)
    quotient = (g / s).quantize(_NOISE, ROUND_HALF_UP)
    if rounding == "started_step":
        return quotient.to_integral_value(ROUND_CEILING)
    if rounding == "whole_step":
        return quotient.to_integral_value(ROUND_FLOOR)
    return quotient


def fmt(value: Number) -> str:
    """A number as published: no trailing zeros, no exponent (1, 0.34, 0.5, 600)."""
    d = dec(value)
    if d.is_infinite():
        return "∞" if d > 0 else "-∞"
    d = d.quantize(Decimal("1e-6"), ROUND_HALF_UP).normalize()
    text = format(d, "f")
    return "0" if text in ("-0", "0") else text


def show(value: Number, unit: str) -> str:
    """An input value with its unit: rates with 2 decimals (78.30%), counts plain (450 件)."""
    if unit == "%":
        return f"{dec(value).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    return fmt(value) if not unit else f"{fmt(value)} {unit}"


def bound(value: Number, unit: str) -> str:
    """A threshold or a step with its unit, without padding zeros (80%, 5%, 0.1, 50 件)."""
    if unit == "%":
        return f"{fmt(value)}%"
    return show(value, unit)


def gap_unit(unit: str) -> str:
    """The unit of a difference of two values: percentage points for rates."""
    return "个百分点" if unit == "%" else unit
