"""Pure rules of the indicators (DOMAIN.md §4): rates, repeat thresholds, grades."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: Cases of one subclass at one place that make them repeat cases, by the nearest road's class.
REPEAT_THRESHOLDS = {"main": 2, "secondary": 3, "alley": 4}
#: Threshold when the place has no road class (no road network loaded): a secondary road.
REPEAT_THRESHOLD_DEFAULT = 3

#: Count columns of an indicator row, in order.
COUNTS = (
    "registered",
    "closed",
    "closed_on_time",
    "closed_overdue",
    "open_on_time",
    "open_overdue",
    "open_cumulative",
    "reworked",
    "extended",
    "extension_base",
    "due",
    "returned",
    "repeat_cases",
)
#: Rate columns, in order.
RATES = ("on_time_rate", "closure_rate", "rework_rate", "extension_rate", "repeat_rate")


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator × 100`` rounded half up to 2 decimals; None when 0/0.

    A rate with a zero denominator is null, not 0 or 100 (DOMAIN.md §4).
    """
    if denominator == 0:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def repeat_threshold(road_class: str | None) -> int:
    """Cases at one place from which they count as repeat cases (DOMAIN.md §4)."""
    return REPEAT_THRESHOLDS.get(road_class or "", REPEAT_THRESHOLD_DEFAULT)


def rates(counts: dict[str, int], *, denominator: str = "registered") -> dict[str, float | None]:
    """The rates of one row of counts (DOMAIN.md §4).

    ``denominator`` is ``registered`` (立案数) or ``due`` (应结案数, CJ/T 292: cases due by
    the cut-off plus cases closed before their due time) for the on-time and closure rates.
    """
    base = counts["due"] if denominator == "due" else counts["registered"]
    return {
        "on_time_rate": rate(counts["closed_on_time"], base),
        "closure_rate": rate(counts["closed"], base),
        "rework_rate": rate(counts["reworked"], counts["closed"]),
        "extension_rate": rate(counts["extended"], counts["extension_base"]),
        "repeat_rate": rate(counts["repeat_cases"], counts["registered"]),
    }


def grade(score: float | None) -> str | None:
    """A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below (DOMAIN.md §4)."""
    if score is None:
        return None
    for letter, floor in (("A", 90), ("B", 75), ("C", 60), ("D", 40)):
        if score >= floor:
            return letter
    return "E"
