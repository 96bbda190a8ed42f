"""Unit-grid code and numbering rules (DOMAIN.md §1): hand-made cases and properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point

from geogrid.errors import InvalidParameter
from geogrid.grids.rules import (
    GridCode,
    make_grid_code,
    number_grids,
    parse_grid_code,
    street_kind,
)

COMMUNITY = "530114001002"


def test_parse_a_15_digit_code() -> None:
    parsed = parse_grid_code("530114001002017")
    assert parsed == GridCode("530114", "530114001", "530114001002", 17, legacy=False)
    assert parsed.code == "530114001002017"


def test_parse_a_legacy_14_digit_code_keeps_it_as_given() -> None:
    parsed = parse_grid_code("53011400100207")
    assert parsed == GridCode("530114", "530114001", "530114001002", 7, legacy=True)
    assert parsed.code == "53011400100207"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("5301140010020171", "16 digits"),
        ("5301140010020", "13 digits"),
        ("", "0 digits"),
        ("53011400100201a", "digits 0-9 only"),
        ("530114 01002017", "digits 0-9 only"),
        ("５３０１１４００１００２０１７", "digits 0-9 only"),
        ("530114001002000", "sequence 000"),
        ("53011400100200", "sequence 00"),
        ("530114000002017", "town code 000"),
        ("530114001000017", "community part 000"),
    ],
)
def test_parse_rejects_malformed_codes_naming_them(code: str, words: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        parse_grid_code(code)
    assert repr(code) in err.value.message
    assert words in err.value.message


def test_parse_rejects_a_non_string() -> None:
    with pytest.raises(InvalidParameter, match="not text"):
        parse_grid_code(530114001002017)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("530114001", "街道"),
        ("530114099", "街道"),
        ("530114100", "镇"),
        ("530114199", "镇"),
        ("530114200", "乡"),
        ("530114399", "乡"),
        ("012", "街道"),
    ],
)
def test_street_kind_follows_the_town_code_ranges(code: str, kind: str) -> None:
    assert street_kind(code) == kind


@pytest.mark.parametrize("code", ["530114000", "530114400", "530114999", "53011400", "5301140a1"])
def test_street_kind_rejects_codes_outside_the_ranges(code: str) -> None:
    with pytest.raises(InvalidParameter, match=code):
        street_kind(code)


def test_make_grid_code_pads_the_sequence() -> None:
    assert make_grid_code(COMMUNITY, 1) == "530114001002001"
    assert make_grid_code(COMMUNITY, 42) == "530114001002042"
    assert make_grid_code(COMMUNITY, 999) == "530114001002999"


@pytest.mark.parametrize("sequence", [0, -1, 1000, 2.0, True, "7"])
def test_make_grid_code_rejects_sequences_outside_1_999(sequence: object) -> None:
    with pytest.raises(InvalidParameter):
        make_grid_code(COMMUNITY, sequence)  # type: ignore[arg-type]


@pytest.mark.parametrize("community", ["53011400100", "5301140010021", "53011400100a"])
def test_make_grid_code_rejects_malformed_community_codes(community: str) -> None:
    with pytest.raises(InvalidParameter, match=community):
        make_grid_code(community, 1)


def test_number_grids_west_to_east_then_north_to_south() -> None:
    # 2 rows, y slightly uneven inside each row (wobbly roads), given in scrambled order.
    points = [(150, 48), (50, 152), (250, 55), (150, 149), (50, 51), (250, 150)]
    assert number_grids(points, row_tolerance=30) == [5, 1, 6, 2, 4, 3]


def test_number_grids_rows_start_at_the_northernmost_grid() -> None:
    # 95 is within 10 m of the row start 100, 89 is not: it starts the next row.
    points = [(0, 100), (10, 95), (-5, 89), (20, 80)]
    assert number_grids(points, row_tolerance=10) == [1, 2, 3, 4]
    assert number_grids(points, row_tolerance=12) == [2, 3, 1, 4]


def test_number_grids_accepts_shapely_points() -> None:
    points = [Point(200, 0), Point(100, 0), Point(100, 100)]
    assert number_grids(points, row_tolerance=10) == [3, 2, 1]


def test_number_grids_breaks_ties_by_x_then_north_then_input_order() -> None:
    points = [(5, 0), (5, 3), (0, 1), (5, 3)]
    assert number_grids(points, row_tolerance=10) == [4, 2, 1, 3]


def test_number_grids_of_nothing_is_nothing() -> None:
    assert number_grids([], row_tolerance=10) == []


@pytest.mark.parametrize("tolerance", [-1.0, float("nan"), float("inf")])
def test_number_grids_rejects_a_bad_tolerance(tolerance: float) -> None:
    with pytest.raises(InvalidParameter, match="row_tolerance"):
        number_grids([(0, 0)], row_tolerance=tolerance)


@pytest.mark.parametrize("point", [(1.0,), (1.0, float("nan")), Point(), "ab"])
def test_number_grids_rejects_malformed_points(point: object) -> None:
    with pytest.raises(InvalidParameter, match="Point 1"):
        number_grids([(0.0, 0.0), point], row_tolerance=1)


coordinates = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False)


@given(
    points=st.lists(st.tuples(coordinates, coordinates), max_size=60),
    tolerance=st.floats(min_value=0, max_value=1e4),
)
def test_numbering_is_a_permutation(points: list[tuple[float, float]], tolerance: float) -> None:
    assert sorted(number_grids(points, row_tolerance=tolerance)) == list(range(1, len(points) + 1))


@given(
    points=st.lists(st.tuples(coordinates, coordinates), max_size=30),
    tolerance=st.floats(min_value=0, max_value=1e4),
)
def test_numbering_does_not_depend_on_input_order(
    points: list[tuple[float, float]], tolerance: float
) -> None:
    forward = number_grids(points, row_tolerance=tolerance)
    backward = number_grids(points[::-1], row_tolerance=tolerance)
    by_point_forward = sorted(zip(points, forward, strict=True))
    by_point_backward = sorted(zip(points[::-1], backward, strict=True))
    # Equal points may swap numbers; distinct points keep theirs.
    assert [p for p, _ in by_point_forward] == [p for p, _ in by_point_backward]
    assert sorted(n for _, n in by_point_forward) == sorted(n for _, n in by_point_backward)
    distinct = {p for p in points if points.count(p) == 1}
    assert {p: n for p, n in by_point_forward if p in distinct} == {
        p: n for p, n in by_point_backward if p in distinct
    }


@given(
    columns=st.integers(min_value=1, max_value=12),
    rows=st.integers(min_value=1, max_value=12),
    size=st.floats(min_value=20, max_value=500),
    rnd=st.randoms(use_true_random=False),
)
def test_a_regular_lattice_is_numbered_row_major_north_to_south_west_to_east(
    columns: int, rows: int, size: float, rnd: random.Random
) -> None:
    # Cell (row r from the north, column c from the west), centre moved by < 20 % of a cell.
    cells = [(r, c) for r in range(rows) for c in range(columns)]
    points = [
        ((c + 0.5 + rnd.uniform(-0.2, 0.2)) * size, -(r + 0.5 + rnd.uniform(-0.2, 0.2)) * size)
        for r, c in cells
    ]
    shuffled = list(range(len(cells)))
    rnd.shuffle(shuffled)
    numbers = number_grids([points[i] for i in shuffled], row_tolerance=size / 2)
    expected = [cells[i][0] * columns + cells[i][1] + 1 for i in shuffled]
    assert numbers == expected


@given(
    community=st.from_regex(
        r"[0-9]{6}(0[0-9][1-9]|[1-3][0-9]{2})(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})", fullmatch=True
    ),
    sequence=st.integers(min_value=1, max_value=999),
)
def test_parse_make_round_trip(community: str, sequence: int) -> None:
    code = make_grid_code(community, sequence)
    parsed = parse_grid_code(code)
    assert (parsed.community, parsed.sequence, parsed.legacy) == (community, sequence, False)
    assert (parsed.district, parsed.street) == (community[:6], community[:9])
    assert parsed.code == code
