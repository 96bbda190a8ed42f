"""Pure rules of the indicators (DOMAIN.md §4): rates, repeat thresholds, grades."""

from __future__ import annotations

#: Cases of one subclass at one place that make them repeat cases, by the nearest road's class.
REPEAT_THRESHOLDS = {"main": 2, "secondary": 3, "alley": 4}
#: Threshold when the place has no road class (no road network loaded): a secondary road.
REPEAT_THRESHOLD_DEFAULT = 3

#: Counts shown to users, in order.
OUTPUT_COUNTS = (
    "registered",
    "closed",
    "closed_on_time",
    "closed_overdue",
    "open_on_time",
    "open_overdue",
    "open_cumulative",
    "returned",
    "repeat_cases",
)
#: Counts behind the rates only: reworked, extended (and its base), due (应结案数).
HELPER_COUNTS = ("reworked", "extended", "extension_base", "due")
#: Every count column of an indicator row.
COUNTS = (*OUTPUT_COUNTS, *HELPER_COUNTS)
#: Rate columns, in order.
RATES = ("on_time_rate", "closure_rate", "rework_rate", "extension_rate", "repeat_rate")


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator × 100`` rounded half up to 2 decimals; None when 0/0.

    A rate with a zero denominator is null, not 0 or 100 (DOMAIN.md §4).
    """
    if denominator == 0:
        return None
    # floor(x + 1/2) of x = numerator × 10000 / denominator, in integers: exact, no float error
    hundredths = (2 * 10_000 * numerator + denominator) // (2 * denominator)
    return hundredths / 100


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
