"""Reading a hotspot request from query text, the map page's default period, heat cells."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from geogrid.errors import InvalidParameter
from geogrid.hotspots import parse_hotspot_request
from geogrid.hotspots.points import merge_cells
from geogrid.hotspots.request import default_page_period

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def test_a_full_request_is_read() -> None:
    request = parse_hotspot_request(
        {
            **PERIOD,
            "sub_class": "06010",
            "source": "热线",
            "value": "density",
            "weights": "distance",
            "distance_m": "250",
            "permutations": "999",
            "fdr": "true",
            "boundaries": "registered",
        }
    )
    assert request.cases.start == date(2026, 3, 1) and request.cases.days == 31
    assert (request.cases.sub_class, request.cases.source) == ("06010", "hotline")
    assert (request.value, request.weights, request.distance_m) == ("density", "distance", 250.0)
    assert (request.permutations, request.fdr, request.boundaries) == (999, True, "registered")
    assert request.k is None


def test_defaults() -> None:
    request = parse_hotspot_request({**PERIOD, "sub_class": "", "k": None})
    assert (request.value, request.weights, request.permutations) == ("count", "queen", 0)
    assert (request.fdr, request.boundaries, request.cases.sub_class) == (False, "current", None)
    assert parse_hotspot_request({**PERIOD, "weights": "knn"}).k == 8


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"to": "2026-03-31"}, "'from' is required"),
        ({"from": "2026-03-01"}, "'to' is required"),
        ({"from": "2026/03/01", "to": "2026-03-31"}, "'from' must be a day"),
        ({"from": "2026-03-01", "to": "2026-02-30"}, "'to' must be a day"),
        ({"from": "2026-03-01", "to": "2026-02-28"}, "'to' (2026-02-28) is before 'from'"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "span 367 days"),
        ({**PERIOD, "sub_class": "6010"}, "'sub_class' must be a 5-digit"),
        ({**PERIOD, "source": "radio"}, "'source' must be one of"),
        ({**PERIOD, "value": "sum"}, "'value' must be one of"),
        ({**PERIOD, "weights": "hex"}, "'weights' must be one of"),
        ({**PERIOD, "distance_m": "200"}, "'distance_m' applies only with weights=distance"),
        ({**PERIOD, "weights": "distance", "distance_m": "-5"}, "'distance_m' must lie"),
        ({**PERIOD, "weights": "knn", "k": "2.5"}, "'k' must be a whole number"),
        ({**PERIOD, "permutations": "100000"}, "'permutations' must lie between 0 and 9999"),
        ({**PERIOD, "fdr": "maybe"}, "'fdr' must be true or false"),
        ({**PERIOD, "boundaries": "old"}, "'boundaries' must be one of"),
    ],
)
def test_bad_values_are_refused_naming_the_parameter(values: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_hotspot_request(values)
    assert named in caught.value.message


def test_a_leap_year_is_allowed() -> None:
    assert parse_hotspot_request({"from": "2024-01-01", "to": "2024-12-31"}).cases.days == 366


@pytest.mark.parametrize(
    ("start", "end", "latest", "expected"),
    [
        (None, None, date(2026, 3, 31), (date(2026, 3, 2), date(2026, 3, 31))),
        (None, None, None, None),
        (date(2026, 3, 10), None, date(2026, 3, 31), (date(2026, 3, 10), date(2026, 3, 31))),
        (date(2026, 5, 1), None, date(2026, 3, 31), (date(2026, 5, 1), date(2026, 5, 30))),
        (None, date(2026, 2, 28), None, (date(2026, 1, 30), date(2026, 2, 28))),
        (date(2026, 1, 1), date(2026, 1, 1), None, (date(2026, 1, 1), date(2026, 1, 1))),
    ],
)
def test_the_page_period_defaults_to_30_days_up_to_the_last_case(
    start: date | None,
    end: date | None,
    latest: date | None,
    expected: tuple[date, date] | None,
) -> None:
    assert default_page_period(start, end, latest) == expected


def test_heat_cells_merge_into_blocks_until_under_the_limit() -> None:
    # Four 25 m cells in one 2 x 2 block, and one far away.
    i = np.array([10, 11, 10, 11, 40])
    j = np.array([20, 20, 21, 21, 50])
    n = np.array([1, 2, 3, 4, 5])
    lat = np.array([1.0, 4.0, 9.0, 16.0, 50.0])
    lon = np.array([2.0, 4.0, 6.0, 8.0, 10.0])

    kept, doubled = merge_cells(i, j, n, lat, lon, limit=5)
    assert doubled == 0 and kept[0] == (10.0, 2.0, 5)

    merged, doubled = merge_cells(i, j, n, lat, lon, limit=2)
    assert doubled == 1
    assert merged == [(3.0, 2.0, 10), (10.0, 2.0, 5)]  # mean position of all 10 cases
