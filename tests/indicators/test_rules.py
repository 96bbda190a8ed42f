"""The pure rules of the indicators: rates rounded half up, thresholds, grades."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from geogrid.indicators.rules import grade, rate, rates, repeat_threshold


def test_rate_known_values() -> None:
    assert rate(2, 3) == 66.67
    assert rate(1, 3) == 33.33
    assert rate(1, 8) == 12.5  # 12.500 exactly
    assert rate(1, 80000) == 0.0  # 0.00125 rounds down
    assert rate(1, 16000) == 0.01  # 0.00625 rounds half up
    assert rate(0, 5) == 0.0 and rate(5, 5) == 100.0
    assert rate(0, 0) is None and rate(3, 0) is None  # zero denominator: null, not 0 or 100


@given(st.integers(0, 10**7), st.integers(1, 10**7))
def test_rate_is_decimal_half_up(numerator: int, denominator: int) -> None:
    exact = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert rate(numerator, denominator) == float(exact)


def test_rates_use_the_chosen_denominator() -> None:
    counts = {
        "registered": 5,
        "closed": 2,
        "closed_on_time": 1,
        "reworked": 1,
        "extended": 1,
        "extension_base": 5,
        "due": 4,
        "repeat_cases": 0,
    }
    assert rates(counts) == {
        "on_time_rate": 20.0,
        "closure_rate": 40.0,
        "rework_rate": 50.0,
        "extension_rate": 20.0,
        "repeat_rate": 0.0,
    }
    due = rates(counts, denominator="due")
    assert (due["on_time_rate"], due["closure_rate"]) == (25.0, 50.0)


def test_thresholds_and_grades() -> None:
    assert [repeat_threshold(c) for c in ("main", "secondary", "alley", None)] == [2, 3, 4, 3]
    assert [grade(s) for s in (95, 90, 89.99, 75, 60, 40, 39.9, None)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "D",
        "E",
        None,
    ]
