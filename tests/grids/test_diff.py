"""Grid-update changes (DOMAIN.md §1b): hand-made old/new grids, properties, 10,000 vs 10,000.

Grids are drawn in metres in CGCS2000 / 3-degree Gauss–Krüger CM 102°E (EPSG:4543), near
呈贡 (Kunming), and transformed to EPSG:4326 as the function gets them. The default square is
100 m × 100 m at column/row positions of a 100 m lattice.
"""

from __future__ import annotations

import itertools
import random
import time

import geopandas as gpd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box, shape

from geogrid.errors import CRSMismatch, InvalidParameter, ValidationFailed
from geogrid.grids.diff import (
    KIND_LABELS,
    KINDS,
    GridChange,
    GridDiff,
    changes_to_geojson,
    classify_changes,
)

GK = "EPSG:4543"
X0, Y0, SIDE = 581_000.0, 2_752_000.0, 100.0
C1, C2, C3 = "530114001001", "530114001002", "530114002001"
"""Communities 1 and 2 lie in street 530114001, community 3 in street 530114002."""


def _code(community: str, sequence: int) -> str:
    return f"{community}{sequence:03d}"


A, B, C, D = (_code(C1, i) for i in (1, 2, 3, 4))


def square(col: float, row: float, width: float = SIDE, height: float = SIDE) -> Polygon:
    """A rectangle in metres whose south-west corner is lattice position (col, row)."""
    x, y = X0 + col * SIDE, Y0 + row * SIDE
    return box(x, y, x + width, y + height)


def strips(col: float, row: float, cuts: list[float]) -> list[Polygon]:
    """The square at (col, row) cut into vertical strips at ``cuts`` metres from its west side."""
    edges = [0.0, *sorted(cuts), SIDE]
    x, y = X0 + col * SIDE, Y0 + row * SIDE
    return [box(x + w, y, x + e, y + SIDE) for w, e in itertools.pairwise(edges)]


def grids(rows: list[tuple[str, Polygon]], *, with_parents: bool = True) -> gpd.GeoDataFrame:
    """Grids (code, polygon in EPSG:4543 metres) as the EPSG:4326 frame the function takes."""
    codes = [code for code, _ in rows]
    columns: dict[str, list[str]] = {"code": codes}
    if with_parents:
        columns["community_code"] = [code[:12] for code in codes]
        columns["street_code"] = [code[:9] for code in codes]
    frame = gpd.GeoDataFrame(columns, geometry=[polygon for _, polygon in rows], crs=GK)
    return frame.to_crs(4326)


def kinds(diff: GridDiff) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return [(change.kind, change.old_codes, change.new_codes) for change in diff.changes]


def only(diff: GridDiff) -> GridChange:
    assert len(diff.changes) == 1, diff.changes
    return diff.changes[0]


def test_the_same_grid_is_unchanged() -> None:
    diff = classify_changes(grids([(A, square(0, 0))]), grids([(A, square(0, 0))]))

    change = only(diff)
    assert (change.kind, change.old_codes, change.new_codes) == ("unchanged", (A,), (A,))
    assert change.iou == pytest.approx(1.0)
    assert (change.street_code, change.community_code) == ("530114001", C1)
    assert change.old_area_m2 == pytest.approx(10_000, rel=1e-3)
    assert change.new_area_m2 == change.old_area_m2


def test_a_grid_ten_percent_bigger_is_reshaped() -> None:
    diff = classify_changes(grids([(A, square(0, 0))]), grids([(A, square(0, 0, width=110))]))

    change = only(diff)
    assert (change.kind, change.old_codes, change.new_codes) == ("reshaped", (A,), (A,))
    assert change.iou == pytest.approx(1 / 1.1, rel=1e-6)
    assert change.new_area_m2 == pytest.approx(1.1 * change.old_area_m2, rel=1e-6)  # type: ignore[operator]


def test_the_same_square_with_a_new_code_is_recoded() -> None:
    diff = classify_changes(grids([(A, square(0, 0))]), grids([(B, square(0, 0))]))

    change = only(diff)
    assert (change.kind, change.old_codes, change.new_codes) == ("recoded", (A,), (B,))
    assert change.iou == pytest.approx(1.0)


def test_a_new_code_on_a_new_shape_is_reshaped_with_both_codes() -> None:
    diff = classify_changes(grids([(A, square(0, 0))]), grids([(B, square(0, 0, width=110))]))

    assert kinds(diff) == [("reshaped", (A,), (B,))]


def test_a_grid_overlapping_no_old_grid_is_added() -> None:
    old = grids([(A, square(0, 0))])
    new = grids([(A, square(0, 0)), (B, square(1, 0))])  # B only touches A

    diff = classify_changes(old, new)

    assert kinds(diff) == [("unchanged", (A,), (A,)), ("added", (), (B,))]
    added = diff.changes[1]
    assert added.iou is None
    assert added.old_area_m2 is None
    assert added.new_area_m2 == pytest.approx(10_000, rel=1e-3)


def test_an_old_grid_overlapping_no_new_grid_is_removed() -> None:
    old = grids([(A, square(0, 0)), (B, square(3, 0))])
    new = grids([(A, square(0, 0))])

    diff = classify_changes(old, new)

    assert kinds(diff) == [("unchanged", (A,), (A,)), ("removed", (B,), ())]
    assert diff.changes[1].new_area_m2 is None
    assert diff.changes[1].iou is None


@pytest.mark.parametrize(
    "pieces",
    [
        [square(0, 0, width=50), square(0.5, 0, width=50)],
        [square(col, row, 50, 50) for col in (0, 0.5) for row in (0, 0.5)],
    ],
    ids=["into 2", "into 4"],
)
def test_one_grid_cut_into_pieces_is_split(pieces: list[Polygon]) -> None:
    new_codes = tuple(_code(C1, 10 + i) for i in range(len(pieces)))

    diff = classify_changes(
        grids([(A, square(0, 0))]), grids(list(zip(new_codes, pieces, strict=True)))
    )

    change = only(diff)
    assert (change.kind, change.old_codes, change.new_codes) == ("split", (A,), new_codes)
    assert change.iou == pytest.approx(1.0)


def test_two_grids_made_one_are_merged() -> None:
    old = grids([(A, square(0, 0)), (B, square(1, 0))])
    new = grids([(C, square(0, 0, width=200))])

    assert kinds(classify_changes(old, new)) == [("merged", (A, B), (C,))]


def test_two_strips_redrawn_as_three_are_redrawn() -> None:
    old = grids([(A, square(0, 0, width=50)), (B, square(0.5, 0, width=50))])
    new = grids(list(zip((C, D, _code(C1, 5)), strips(0, 0, [100 / 3, 200 / 3]), strict=True)))

    change = only(classify_changes(old, new))
    assert (change.kind, change.old_codes, change.new_codes) == (
        "redrawn",
        (A, B),
        (C, D, _code(C1, 5)),
    )
    assert change.iou == pytest.approx(1.0)


def test_a_sliver_of_half_a_square_metre_does_not_link() -> None:
    """B is redrawn 5 mm further west along its 100 m edge: 0.5 m² of A."""
    old = grids([(A, square(0, 0)), (B, square(1, 0))])
    new = grids([(A, square(0, 0)), (B, square(0.99995, 0, width=100.005))])

    expected = [("unchanged", (A,), (A,)), ("unchanged", (B,), (B,))]
    assert kinds(classify_changes(old, new)) == expected
    assert kinds(classify_changes(old, new, min_share=0.0)) == expected  # tolerance alone
    # Linked by a lower tolerance, the pair still keeps its codes and shapes: unchanged.
    assert kinds(classify_changes(old, new, min_share=0.0, tolerance_m2=0.1)) == expected


def test_a_boundary_moved_by_4_m_reshapes_both_grids() -> None:
    """B takes 4 % of A (400 m²): above the tolerance, below ``min_share`` of the smaller."""
    old = grids([(A, square(0, 0)), (B, square(1, 0))])
    new = grids([(A, square(0, 0, width=96)), (B, square(0.96, 0, width=104))])

    assert kinds(classify_changes(old, new)) == [
        ("reshaped", (A,), (A,)),
        ("reshaped", (B,), (B,)),
    ]
    # Linked when min_share is lowered, the same-code pairs keep most of their shape:
    # still two reshaped grids, not a redrawn area.
    assert [c.kind for c in classify_changes(old, new, min_share=0.03).changes] == [
        "reshaped",
        "reshaped",
    ]


def test_a_boundary_moved_by_20_m_reshapes_both_grids_not_redrawn() -> None:
    old = grids([(A, square(0, 0)), (B, square(1, 0))])
    new = grids([(A, square(0, 0, width=120)), (B, square(1.2, 0, width=80))])
    changes = classify_changes(old, new).changes
    assert [(c.kind, c.old_codes) for c in changes] == [("reshaped", (A,)), ("reshaped", (B,))]
    assert changes[0].iou == pytest.approx(100 / 120, rel=1e-3)
    assert changes[1].iou == pytest.approx(80 / 100, rel=1e-3)


def test_counts_per_kind_street_and_community() -> None:
    e, f = _code(C2, 1), _code(C3, 1)
    g, h, k = _code(C3, 2), _code(C3, 3), _code(C3, 4)
    old = grids(
        [
            (A, square(0, 0)),
            (B, square(1, 0)),
            (f, square(5, 0)),
            (g, square(6, 0)),
            (h, square(7, 0)),
        ]
    )
    new = grids(
        [
            (A, square(0, 0)),
            (C, square(1, 0, width=50)),
            (D, square(1.5, 0, width=50)),
            (e, square(3, 0)),
            (k, square(6, 0, width=200)),
        ]
    )

    diff = classify_changes(old, new)

    assert kinds(diff) == [
        ("unchanged", (A,), (A,)),
        ("split", (B,), (C, D)),
        ("added", (), (e,)),
        ("removed", (f,), ()),
        ("merged", (g, h), (k,)),
    ]
    zero = dict.fromkeys(KINDS, 0)
    assert diff.counts() == {
        **zero,
        "unchanged": 1,
        "split": 1,
        "added": 1,
        "removed": 1,
        "merged": 1,
    }
    assert list(diff.counts()) == list(KINDS)
    assert diff.counts_by("street") == {
        "530114001": {**zero, "unchanged": 1, "split": 1, "added": 1},
        "530114002": {**zero, "removed": 1, "merged": 1},
    }
    assert diff.counts_by("community") == {
        C1: {**zero, "unchanged": 1, "split": 1},
        C2: {**zero, "added": 1},
        C3: {**zero, "removed": 1, "merged": 1},
    }
    with pytest.raises(InvalidParameter, match="grid"):
        diff.counts_by("grid")  # type: ignore[arg-type]


def test_new_grids_without_street_or_community_take_them_from_the_code() -> None:
    new = grids([(_code(C3, 1), square(0, 0))], with_parents=False)

    change = only(classify_changes(grids([]), new))

    assert (change.kind, change.street_code, change.community_code) == ("added", "530114002", C3)


def test_a_change_lies_where_most_of_its_new_area_is() -> None:
    old = grids([(A, square(0, 0)), (_code(C2, 1), square(1, 0))])
    new = grids([(_code(C2, 2), square(0, 0, width=200))])

    change = only(classify_changes(old, new))

    assert (change.kind, change.community_code) == ("merged", C2)


def test_no_grids_no_changes() -> None:
    diff = classify_changes(grids([]), grids([]))

    assert diff.changes == []
    assert diff.counts() == dict.fromkeys(KINDS, 0)
    assert diff.counts_by("street") == {}


def test_unusable_grids_are_all_reported() -> None:
    bow_tie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    old = grids([(A, square(0, 0)), (A, square(1, 0))])
    new = grids([(B, bow_tie), (C, square(2, 0))])
    new.loc[1, "geometry"] = None

    with pytest.raises(ValidationFailed) as raised:
        classify_changes(old, new)

    assert [(p.where, p.rule) for p in raised.value.problems] == [
        (f"old grid 1 ({A})", "duplicate_code"),
        (f"new grid 0 ({B})", "invalid_geometry"),
        (f"new grid 1 ({C})", "no_geometry"),
    ]


def test_projected_grids_are_refused() -> None:
    projected = grids([(A, square(0, 0))]).to_crs(GK)

    with pytest.raises(CRSMismatch, match="EPSG:4326"):
        classify_changes(projected, grids([(A, square(0, 0))]))


@pytest.mark.parametrize(
    "options",
    [{"iou_unchanged": 0.0}, {"iou_unchanged": 1.5}, {"min_share": -0.1}, {"tolerance_m2": -1}],
)
def test_thresholds_out_of_range_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(InvalidParameter):
        classify_changes(grids([]), grids([]), **options)


def test_geojson_has_one_feature_per_change_and_old_outlines() -> None:
    old = grids([(A, square(0, 0)), (B, square(1, 0)), (C, square(3, 0))])
    new = grids(
        [(A, square(0, 0)), (D, square(1, 0, width=50)), (_code(C1, 5), square(1.5, 0, 50))]
    )
    diff = classify_changes(old, new)

    collection = changes_to_geojson(diff, old, new)

    features = collection["features"]
    assert collection["type"] == "FeatureCollection"
    summary = [(f["properties"]["kind"], f["properties"]["role"]) for f in features]
    assert summary == [
        ("unchanged", "change"),
        ("split", "change"),
        ("split", "old"),
        ("removed", "change"),
    ]
    split, outline, removed = features[1], features[2], features[3]
    assert split["properties"]["old_codes"] == [B]
    assert split["properties"]["new_codes"] == [D, _code(C1, 5)]
    assert split["properties"]["iou"] == 1.0
    assert split["properties"]["old_area_m2"] == pytest.approx(10_000, rel=1e-3)
    assert split["geometry"]["type"] == "MultiPolygon"
    parts = shape(split["geometry"])
    assert isinstance(parts, MultiPolygon)
    assert len(parts.geoms) == 2
    assert shape(outline["geometry"]).equals(old.geometry[1])
    assert shape(removed["geometry"]).equals(old.geometry[2])
    assert removed["properties"]["new_codes"] == []
    assert removed["properties"]["iou"] is None
    assert removed["properties"]["new_area_m2"] is None
    assert set(split["properties"]) == {
        "kind",
        "old_codes",
        "new_codes",
        "iou",
        "street_code",
        "community_code",
        "old_area_m2",
        "new_area_m2",
        "role",
    }


def test_geojson_needs_the_diffs_inputs() -> None:
    old = grids([(A, square(0, 0))])
    diff = classify_changes(old, grids([(B, square(0, 0))]))

    with pytest.raises(ValueError, match=B):
        changes_to_geojson(diff, old, old)


def test_every_kind_has_a_chinese_label() -> None:
    assert set(KIND_LABELS) == set(KINDS)


_cuts = (
    st.lists(st.floats(min_value=0.5, max_value=99.5), min_size=1, max_size=9, unique=True)
    .map(sorted)
    .filter(lambda cuts: all(b - a >= 0.5 for a, b in itertools.pairwise(cuts)))
)


@given(cuts=_cuts)
@settings(max_examples=60, deadline=None)
def test_any_cut_into_vertical_strips_is_one_split(cuts: list[float]) -> None:
    pieces = strips(0, 0, cuts)
    new_codes = tuple(_code(C1, 10 + i) for i in range(len(pieces)))

    diff = classify_changes(
        grids([(A, square(0, 0))]), grids(list(zip(new_codes, pieces, strict=True)))
    )

    change = only(diff)
    assert (change.kind, change.old_codes, change.new_codes) == ("split", (A,), new_codes)
    assert len(change.new_codes) == len(cuts) + 1
    assert change.iou == pytest.approx(1.0)


_lattices = st.tuples(
    st.lists(st.floats(min_value=5, max_value=200), min_size=1, max_size=6),
    st.lists(st.floats(min_value=5, max_value=200), min_size=1, max_size=6),
)


def _lattice(widths: list[float], heights: list[float]) -> list[tuple[str, Polygon]]:
    rows: list[tuple[str, Polygon]] = []
    y = Y0
    for height in heights:
        x = X0
        for width in widths:
            rows.append((_code(C1, len(rows) + 1), box(x, y, x + width, y + height)))
            x += width
        y += height
    return rows


@given(lattice=_lattices, order=st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_identical_grids_are_all_unchanged(
    lattice: tuple[list[float], list[float]], order: random.Random
) -> None:
    rows = _lattice(*lattice)
    shuffled = list(rows)
    order.shuffle(shuffled)

    diff = classify_changes(grids(rows), grids(shuffled))

    assert diff.counts() == {**dict.fromkeys(KINDS, 0), "unchanged": len(rows)}
    assert all(c.old_codes == c.new_codes and len(c.old_codes) == 1 for c in diff.changes)


@given(lattice=_lattices, order=st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_renumbered_grids_are_recoded_or_unchanged(
    lattice: tuple[list[float], list[float]], order: random.Random
) -> None:
    rows = _lattice(*lattice)
    codes = [code for code, _ in rows]
    order.shuffle(codes)
    renumbered = dict(zip((code for code, _ in rows), codes, strict=True))

    diff = classify_changes(grids(rows), grids([(renumbered[c], p) for c, p in rows]))

    assert len(diff.changes) == len(rows)
    for change in diff.changes:
        (old_code,), (new_code,) = change.old_codes, change.new_codes
        assert new_code == renumbered[old_code]
        assert change.kind == ("unchanged" if new_code == old_code else "recoded")


def test_ten_thousand_against_ten_thousand_in_seconds() -> None:
    """A 100 × 100 lattice against itself with every tenth column split in two."""
    old_rows, new_rows = [], []
    for row in range(100):
        for col in range(100):
            community = f"530114{1 + col // 10:03d}{1 + row // 10:03d}"
            code = _code(community, (row % 10) * 10 + col % 10 + 1)
            old_rows.append((code, square(col, row)))
            if col % 10:
                new_rows.append((code, square(col, row)))
            else:
                halves = [square(col, row, width=50), square(col + 0.5, row, width=50)]
                new_rows += [(code, halves[0]), (f"{code[:12]}{int(code[12:]) + 100}", halves[1])]
    old, new = grids(old_rows), grids(new_rows)

    start = time.perf_counter()
    diff = classify_changes(old, new)
    elapsed = time.perf_counter() - start

    assert diff.counts() == {**dict.fromkeys(KINDS, 0), "unchanged": 9_000, "split": 1_000}
    assert len(diff.counts_by("community")) == 100
    assert elapsed < 30, f"{elapsed:.1f} s"  # about 1 s on a 2-core machine
