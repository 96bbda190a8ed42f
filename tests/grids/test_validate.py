"""Validation of an uploaded grid file (DOMAIN.md §1, §1b): one hand-made input per rule.

Every input is drawn in CGCS2000 / 3-degree Gauss–Krüger CM 102E (EPSG:4543) near
102.85E 24.98N and converted to EPSG:4326, like the files users upload. The base community
530114001001 is a 200 m x 200 m square holding four valid 100 m x 100 m grids, numbered
west to east, then north to south:

    y 200 +-----+-----+
          |  1  |  2  |
    y 100 +-----+-----+
          |  3  |  4  |
    y   0 +-----+-----+
        x 0    100   200      (metres from X0, Y0)

Each test breaks exactly one rule (often with a fifth feature, so that the community stays
covered) and expects exactly that one problem.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.affinity import translate
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from geogrid.errors import CRSMismatch, InvalidParameter, Problem
from geogrid.grids.validate import ValidationReport, validate_grids

X0, Y0 = 585_000.0, 2_763_000.0
COMMUNITY = "530114001001"
SQUARES = {
    1: box(0, 100, 100, 200),
    2: box(100, 100, 200, 200),
    3: box(0, 0, 100, 100),
    4: box(100, 0, 200, 100),
}
TO_LONLAT = Transformer.from_crs("EPSG:4543", "EPSG:4326", always_xy=True)
TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:4543", always_xy=True)


def grid_code(sequence: int, community: str = COMMUNITY) -> str:
    return f"{community}{sequence:03d}"


def base_rows() -> list[dict[str, Any]]:
    """The four grids of the base community, geometries in metres from (X0, Y0)."""
    return [
        {"code": grid_code(n), "community_code": COMMUNITY, "geometry": square}
        for n, square in SQUARES.items()
    ]


def to_lonlat(geometry: BaseGeometry) -> BaseGeometry:
    """A geometry drawn in metres from (X0, Y0), in EPSG:4326."""
    moved = translate(geometry, X0, Y0)
    return shapely.transform(moved, lambda xy: np.column_stack(TO_LONLAT.transform(*xy.T)))


def to_metres(geometry: BaseGeometry) -> BaseGeometry:
    """An EPSG:4326 geometry in metres from (X0, Y0)."""
    metres = shapely.transform(geometry, lambda xy: np.column_stack(TO_METRES.transform(*xy.T)))
    return translate(metres, -X0, -Y0)


def frames(
    rows: list[dict[str, Any]],
    communities: dict[str, BaseGeometry] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Grid and community layers as the file reader gives them (EPSG:4326, ``row`` 1-based).

    A row's geometry is in metres from (X0, Y0) unless the row says ``lonlat=True``.
    """
    communities = communities if communities is not None else {COMMUNITY: box(0, 0, 200, 200)}
    grids = gpd.GeoDataFrame(
        [
            {
                "row": n,
                "code": row["code"],
                "community_code": row["community_code"],
                "community_name": "春城社区",
                "grid_type": "city",
                "name": f"网格{n}",
                "geometry": row["geometry"]
                if row.get("lonlat") or not isinstance(row["geometry"], BaseGeometry)
                else to_lonlat(row["geometry"]),
            }
            for n, row in enumerate(rows, start=1)
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    layer = gpd.GeoDataFrame(
        [
            {
                "row": n,
                "code": code,
                "name": "春城社区",
                "street_code": code[:9],
                "street_name": "龙城街道",
                "geometry": to_lonlat(geometry) if geometry is not None else None,
            }
            for n, (code, geometry) in enumerate(communities.items(), start=1)
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    return grids, layer


def validate(rows: list[dict[str, Any]], **kwargs: Any) -> ValidationReport:
    communities = kwargs.pop("communities", None)
    return validate_grids(*frames(rows, communities), **kwargs)


def only_problem(report: ValidationReport) -> Problem:
    """The one problem of a report (error or warning), failing when there are more or none."""
    problems = report.errors + report.warnings
    assert len(problems) == 1, problems
    return problems[0]


def area_in(message: str) -> float:
    """The first area (m²) written in a message."""
    match = re.search(r"([\d,]+(?:\.\d+)?) m²", message)
    assert match, message
    return float(match[1].replace(",", ""))


def in_metres(location: tuple[float, float] | None) -> tuple[float, float]:
    """A problem's (lon, lat) back in metres from (X0, Y0)."""
    assert location is not None
    x, y = TO_METRES.transform(*location)
    return x - X0, y - Y0


def extra(geometry: Any, sequence: int = 5, **row: Any) -> dict[str, Any]:
    """A fifth feature of the base community, leaving the four grids untouched."""
    return {
        "code": grid_code(sequence),
        "community_code": COMMUNITY,
        "geometry": geometry,
        **row,
    }


# --- the valid input -------------------------------------------------------------------


def test_a_valid_community_has_no_problem() -> None:
    report = validate(base_rows())
    assert report.ok
    assert (report.errors, report.warnings, report.fixes) == ([], [], [])
    assert all(isinstance(g, MultiPolygon) for g in report.grids.geometry)
    assert report.grids.crs == "EPSG:4326"
    assert list(report.grids["code"]) == [grid_code(n) for n in SQUARES]


def test_a_legacy_14_digit_code_is_accepted_as_given() -> None:
    rows = base_rows()
    rows[1]["code"] = f"{COMMUNITY}02"
    report = validate(rows)
    assert (report.errors, report.warnings) == ([], [])
    assert report.grids["code"][1] == f"{COMMUNITY}02"


def test_a_collection_of_polygons_is_taken_as_a_multipolygon() -> None:
    rows = base_rows()
    rows[0]["geometry"] = shapely.GeometryCollection([SQUARES[1]])
    report = validate(rows)
    assert (report.errors, report.warnings) == ([], [])
    assert isinstance(report.grids.geometry[0], MultiPolygon)


def test_communities_not_in_the_file_are_not_checked_for_gaps() -> None:
    other = "530114001002"
    report = validate(
        base_rows(),
        communities={COMMUNITY: box(0, 0, 200, 200), other: box(200, 0, 400, 200)},
    )
    assert (report.errors, report.warnings) == ([], [])


# --- one test per rule -----------------------------------------------------------------


@pytest.mark.parametrize("geometry", [None, Polygon()], ids=["missing", "empty"])
def test_empty_geometry(geometry: Polygon | None) -> None:
    problem = only_problem(validate([*base_rows(), extra(geometry)]))
    assert problem.rule == "empty_geometry"
    assert problem.where == f"feature 5 ({grid_code(5)})"
    assert "no geometry" in problem.message


def test_not_polygon() -> None:
    problem = only_problem(validate([*base_rows(), extra(LineString([(10, 10), (90, 90)]))]))
    assert problem.rule == "not_polygon"
    assert problem.where == f"feature 5 ({grid_code(5)})"
    assert "LineString" in problem.message


def test_invalid_geometry_names_the_reason_and_place() -> None:
    rows = base_rows()
    # A zero-width spike drawn up from the top edge of grid 1: invalid, but no area.
    rows[0]["geometry"] = Polygon(
        [(0, 100), (100, 100), (100, 200), (50, 200), (50, 230), (50, 200), (0, 200)]
    )
    report = validate(rows)
    problem = only_problem(report)
    assert problem.rule == "invalid_geometry"
    assert problem.where == f"feature 1 ({grid_code(1)})"
    assert "self-intersection" in problem.message
    x, y = in_metres(problem.location)
    assert (x, y) == pytest.approx((50, 230), abs=0.01)
    assert report.fixes == []


def test_malformed_code() -> None:
    rows = base_rows()
    rows[1]["code"] = "53011400100100X"
    problem = only_problem(validate(rows))
    assert problem.rule == "malformed_code"
    assert problem.where == "feature 2 (53011400100100X)"
    assert "digits 0-9 only" in problem.message


def test_missing_code_is_malformed() -> None:
    rows = base_rows()
    rows[1]["code"] = None
    problem = only_problem(validate(rows))
    assert (problem.rule, problem.where) == ("malformed_code", "feature 2 (no code)")


def test_code_community_mismatch() -> None:
    rows = base_rows()
    rows[3]["code"] = "530114001002004"
    problem = only_problem(validate(rows))
    assert problem.rule == "code_community_mismatch"
    assert problem.where == "feature 4 (530114001002004)"
    assert COMMUNITY in problem.message and "530114001002" in problem.message


def test_unknown_community() -> None:
    stray = "530114001009"
    row = extra(box(200, 0, 300, 100), code=grid_code(1, stray), community_code=stray)
    problem = only_problem(validate([*base_rows(), row]))
    assert problem.rule == "unknown_community"
    assert problem.where == f"feature 5 ({grid_code(1, stray)})"
    assert stray in problem.message


def test_duplicate_code_names_every_row() -> None:
    rows = base_rows()
    rows[1]["code"] = grid_code(1)
    problem = only_problem(validate(rows))
    assert problem.rule == "duplicate_code"
    assert problem.where == f"feature 2 ({grid_code(1)})"
    assert "1 and 2" in problem.message


def test_outside_community_reports_the_area_outside() -> None:
    rows = base_rows()
    rows[3]["geometry"] = box(100, 0, 205, 100)
    problem = only_problem(validate(rows))
    assert problem.rule == "outside_community"
    assert problem.where == f"feature 4 ({grid_code(4)})"
    assert area_in(problem.message) == pytest.approx(500, rel=0.01)
    x, y = in_metres(problem.location)
    assert 200 < x < 205 and 0 < y < 100


def test_overlap_reports_both_codes_area_and_place() -> None:
    rows = base_rows()
    rows[0]["geometry"] = box(0, 100, 105, 200)
    problem = only_problem(validate(rows))
    assert problem.rule == "overlap"
    assert problem.where == f"feature 1 ({grid_code(1)})"
    assert grid_code(2) in problem.message
    assert area_in(problem.message) == pytest.approx(500, rel=0.01)
    x, y = in_metres(problem.location)
    assert 100 < x < 105 and 100 < y < 200


def test_gap_reports_the_community_area_and_place() -> None:
    rows = base_rows()
    rows[3]["geometry"] = box(100, 0, 195, 100)
    problem = only_problem(validate(rows))
    assert problem.rule == "gap"
    assert problem.where == f"community {COMMUNITY}"
    assert area_in(problem.message) == pytest.approx(500, rel=0.01)
    x, y = in_metres(problem.location)
    assert 195 < x < 200 and 0 < y < 100


def test_area_out_of_band_is_a_warning() -> None:
    rows = base_rows()
    rows[0]["geometry"] = box(0, 100, 15, 200)
    rows[1]["geometry"] = box(15, 100, 200, 200)
    report = validate(rows)
    problem = only_problem(report)
    assert report.ok
    assert (problem.rule, problem.severity) == ("area_out_of_band", "warning")
    assert problem.where == f"feature 1 ({grid_code(1)})"
    assert area_in(problem.message) == pytest.approx(1500, rel=0.01)


def test_area_band_is_a_parameter() -> None:
    report = validate(base_rows(), area_band=(2000.0, 9000.0))
    assert report.ok
    assert [p.rule for p in report.warnings] == ["area_out_of_band"] * 4


@pytest.mark.parametrize(
    ("geometry", "words"),
    [
        (box(10, 10, 10.001, 10.001), "outside China"),
        (box(X0, Y0, X0 + 100, Y0 + 100), "projected metres"),
    ],
    ids=["africa", "metres"],
)
def test_outside_china(geometry: Polygon, words: str) -> None:
    problem = only_problem(validate([*base_rows(), extra(geometry, lonlat=True)]))
    assert problem.rule == "outside_china"
    assert problem.where == f"feature 5 ({grid_code(5)})"
    assert words in problem.message


def test_swapped_lon_lat_is_an_error_with_a_hint() -> None:
    lonlat = to_lonlat(SQUARES[1])
    swapped = shapely.transform(lonlat, lambda xy: xy[:, ::-1])
    problem = only_problem(validate([*base_rows(), extra(swapped, lonlat=True)]))
    assert problem.rule == "swapped_lon_lat"
    assert problem.severity == "error"
    assert problem.where == f"feature 5 ({grid_code(5)})"
    assert "swap" in problem.message.lower()
    x, y = in_metres(problem.location)
    assert 0 <= x <= 100 and 100 <= y <= 200


# --- together, fixes, communities, parameters ------------------------------------------


def test_all_problems_are_reported_in_one_pass() -> None:
    rows = base_rows()
    rows[0]["code"] = "5301140010010"
    rows[1]["code"] = "530114001002002"
    rows[3]["geometry"] = box(100, 0, 205, 100)
    report = validate(rows)
    assert [(p.rule, p.where) for p in report.errors] == [
        ("malformed_code", "feature 1 (5301140010010)"),
        ("code_community_mismatch", "feature 2 (530114001002002)"),
        ("outside_community", f"feature 4 ({grid_code(4)})"),
    ]
    assert not report.ok


def bow_tie() -> Polygon:
    return Polygon([(100, 0), (200, 100), (200, 0), (100, 100)])


def test_a_bow_tie_is_an_error_without_fix() -> None:
    rows = base_rows()
    rows[3]["geometry"] = bow_tie()
    report = validate(rows)
    invalid = [p for p in report.errors if p.rule == "invalid_geometry"]
    assert len(invalid) == 1 and report.fixes == []
    assert in_metres(invalid[0].location) == pytest.approx((150, 50), abs=0.01)
    assert report.grids.geometry[3].equals(MultiPolygon([to_lonlat(bow_tie())]))


def test_fix_repairs_a_bow_tie_and_reports_it() -> None:
    rows = base_rows()
    rows[3]["geometry"] = bow_tie()
    report = validate(rows, fix=True)
    assert [p.rule for p in report.errors] == ["gap", "gap"]
    assert [area_in(p.message) for p in report.errors] == pytest.approx([2500, 2500], rel=0.01)
    (fixed,) = report.fixes
    assert (fixed.rule, fixed.where) == ("invalid_geometry", f"feature 4 ({grid_code(4)})")
    assert "repaired with make_valid" in fixed.message
    before, after = re.findall(r"area ([\d,.]+) → ([\d,.]+) m²", fixed.message)[0]
    assert (before, float(after.replace(",", ""))) == ("0", pytest.approx(5000, rel=0.01))
    repaired = report.grids.geometry[3]
    assert isinstance(repaired, MultiPolygon) and repaired.is_valid
    assert to_metres(repaired).area == pytest.approx(5000, rel=0.001)


def test_a_broken_community_geometry_is_named() -> None:
    report = validate(base_rows(), communities={COMMUNITY: None})
    problem = only_problem(report)
    assert (problem.rule, problem.where) == ("empty_geometry", f"community {COMMUNITY}")


@pytest.mark.parametrize(
    "kwargs",
    [{"area_band": (5000.0, 100.0)}, {"tolerance_m2": -1.0}, {"tolerance_m2": float("nan")}],
)
def test_nonsense_parameters_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameter):
        validate(base_rows(), **kwargs)


def test_projected_frames_are_refused() -> None:
    grids, communities = frames(base_rows())
    with pytest.raises(CRSMismatch, match="EPSG:4326"):
        validate_grids(grids.to_crs("EPSG:4543"), communities)


def test_a_lattice_of_400_grids_shows_only_the_shifted_grid() -> None:
    rows, communities = [], {}
    for block in range(16):
        community = f"530114001{block + 1:03d}"
        bx, by = (block % 4) * 500, (block // 4) * 500
        communities[community] = box(bx, by, bx + 500, by + 500)
        cells = [(i, j) for j in range(4, -1, -1) for i in range(5)]
        rows += [
            {
                "code": grid_code(n, community),
                "community_code": community,
                "geometry": box(bx + 100 * i, by + 100 * j, bx + 100 * i + 100, by + 100 * j + 100),
            }
            for n, (i, j) in enumerate(cells, start=1)
        ]
    rows[212]["geometry"] = translate(rows[212]["geometry"], 7, 0)
    report = validate(rows, communities=communities)
    assert [(p.rule, round(area_in(p.message))) for p in report.errors] == [
        ("overlap", 700),
        ("gap", 700),
    ]
    assert report.errors[0].where == f"feature 213 ({rows[212]['code']})"


# --- properties ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.5, 99.5), min_size=1, max_size=7, unique=True))
def test_any_split_into_vertical_strips_is_still_valid(cuts: list[float]) -> None:
    xs = [0.0, *sorted(cuts), 100.0]
    assume(min(b - a for a, b in pairwise(xs)) > 0.01)
    strips = [box(a, 100, b, 200) for a, b in pairwise(xs)]
    geometries = [*strips, SQUARES[2], SQUARES[3], SQUARES[4]]
    rows = [
        {"code": grid_code(n), "community_code": COMMUNITY, "geometry": g}
        for n, g in enumerate(geometries, start=1)
    ]
    report = validate(rows)
    assert report.errors == []
    assert {p.rule for p in report.warnings} <= {"area_out_of_band"}


@settings(max_examples=60, deadline=None)
@given(st.floats(1.0, 60.0), st.sampled_from(["east", "south"]))
def test_shifting_a_grid_by_d_metres_overlaps_d_times_100_m2(d: float, direction: str) -> None:
    rows = base_rows()
    dx, dy = (d, 0.0) if direction == "east" else (0.0, -d)
    rows[0]["geometry"] = translate(SQUARES[1], dx, dy)
    report = validate(rows)
    rules = sorted(p.rule for p in report.errors)
    assert rules == ["gap", "overlap"]
    for problem in report.errors:
        assert area_in(problem.message) == pytest.approx(d * 100, rel=0.01)
    (overlap,) = (p for p in report.errors if p.rule == "overlap")
    neighbour = grid_code(2) if direction == "east" else grid_code(3)
    assert neighbour in overlap.message
