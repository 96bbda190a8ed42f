"""The synthetic demo district: geometry, codes, determinism and loading into PostGIS."""

from __future__ import annotations

import itertools
import time

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from geopandas.testing import assert_geodataframe_equal
from sqlalchemy.engine import Engine

from geogrid.demo import DemoDistrict, DemoSpec, build_district, load_demo
from geogrid.demo.district import PROJECTED_CRS
from geogrid.errors import InvalidParameter
from geogrid.grids.rules import parse_grid_code, street_kind

# 2 streets × 2 communities × about 16 grids of 100 m × 100 m, north-east corner cut away.
TINY = DemoSpec(
    "tiny",
    800,
    800,
    street_columns=2,
    street_rows=1,
    main_spacing_m=800,
    secondary_spacing_m=400,
)
TABLES = ("district", "streets", "communities", "grids", "roads")


@pytest.fixture(scope="module")
def tiny() -> DemoDistrict:
    return build_district(TINY, seed=7)


def metres(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(PROJECTED_CRS)


def test_the_same_seed_builds_the_same_district(tiny: DemoDistrict) -> None:
    again = build_district(TINY, seed=7)
    for table in TABLES:
        assert_geodataframe_equal(getattr(tiny, table), getattr(again, table))
    other = build_district(TINY, seed=8)
    assert not other.grids.geometry.geom_equals_exact(tiny.grids.geometry, 1e-9).all()


def test_tiny_has_two_streets_of_two_communities(tiny: DemoDistrict) -> None:
    assert tiny.counts["districts"] == 1
    assert tiny.counts["streets"] == 2
    assert tiny.counts["communities"] == 4
    assert 55 <= tiny.counts["grids"] <= 64
    assert set(tiny.communities.groupby("street_code").size()) == {2}


def test_frames_have_the_columns_of_the_tables(tiny: DemoDistrict) -> None:
    assert list(tiny.district.columns) == ["code", "name", "geom"]
    assert list(tiny.grids.columns) == [
        "district_code",
        "code",
        "version",
        "community_code",
        "street_code",
        "grid_type",
        "name",
        "geom",
        "valid_from",
        "valid_to",
        "change_id",
    ]
    assert list(tiny.roads.columns) == ["district_code", "name", "road_class", "geom"]
    for table in TABLES:
        frame = getattr(tiny, table)
        assert frame.crs.to_epsg() == 4326
        assert frame.geometry.is_valid.all()
        kinds = {"roads": {"LineString"}}.get(table, {"MultiPolygon"})
        assert set(frame.geom_type) == kinds


def test_every_grid_lies_in_exactly_its_community(tiny: DemoDistrict) -> None:
    grids, communities = metres(tiny.grids), metres(tiny.communities)
    for grid in grids.itertuples():
        overlap = communities.geometry.intersection(grid.geom).area
        inside = communities.code[overlap > 1.0].tolist()
        assert inside == [grid.community_code], grid.code
        assert overlap.max() == pytest.approx(grid.geom.area, abs=1.0)


@pytest.mark.parametrize(
    ("parts", "whole", "key"),
    [("grids", "communities", "community_code"), ("communities", "streets", "street_code")],
)
def test_parts_cover_their_whole_without_gaps_or_overlaps(
    tiny: DemoDistrict, parts: str, whole: str, key: str
) -> None:
    pieces, wholes = metres(getattr(tiny, parts)), metres(getattr(tiny, whole))
    for item in wholes.itertuples():
        ours = pieces[pieces[key] == item.code]
        union = shapely.union_all(ours.geometry.values)
        assert union.area == pytest.approx(item.geom.area, abs=1.0)
        assert union.symmetric_difference(item.geom).area < 1.0
        assert ours.area.sum() == pytest.approx(item.geom.area, abs=1.0)
    for a, b in itertools.combinations(pieces.geometry.values, 2):
        assert a.intersection(b).area < 1.0


def test_streets_cover_the_district(tiny: DemoDistrict) -> None:
    streets, district = metres(tiny.streets), metres(tiny.district).geometry.iloc[0]
    assert shapely.union_all(streets.geometry.values).symmetric_difference(district).area < 1.0
    # Not a rectangle: the north-east corner is cut away and the outer roads wobble.
    assert district.area < 0.99 * shapely.envelope(district).area


def test_codes_are_valid_unique_and_nested(tiny: DemoDistrict) -> None:
    assert tiny.district.code.tolist() == ["530114"]
    assert tiny.district.name.tolist() == ["呈贡区"]
    for table in ("streets", "communities", "grids"):
        frame = getattr(tiny, table)
        assert frame.code.is_unique
        assert (frame.district_code == "530114").all()
    assert tiny.streets.name.is_unique and tiny.communities.name.is_unique
    assert all(name.endswith("街道") for name in tiny.streets.name)
    assert all(name.endswith("社区") for name in tiny.communities.name)
    for street in tiny.streets.itertuples():
        assert len(street.code) == 9 and street.code.startswith("530114")
        assert street.kind == street_kind(street.code) == "街道"
    street_codes = set(tiny.streets.code)
    for community in tiny.communities.itertuples():
        assert len(community.code) == 12 and community.code[:9] == community.street_code
        assert community.street_code in street_codes
    community_codes = set(tiny.communities.code)
    for grid in tiny.grids.itertuples():
        parsed = parse_grid_code(grid.code)
        assert not parsed.legacy
        assert parsed.community == grid.community_code in community_codes
        assert parsed.street == grid.street_code
    for _, ours in tiny.grids.groupby("community_code"):
        sequences = sorted(parse_grid_code(c).sequence for c in ours.code)
        assert sequences == list(range(1, len(ours) + 1))


@pytest.mark.parametrize("seed", [0, 7, 11])
def test_grids_are_numbered_west_to_east_then_north_to_south(seed: int) -> None:
    grids = metres(build_district(TINY, seed=seed).grids)
    half_row = TINY.alley_spacing_m / 2
    for _, ours in grids.groupby("community_code"):
        ours = ours.sort_values("code")
        points = ours.geometry.representative_point()
        xs, ys = points.x.to_numpy(), points.y.to_numpy()
        assert ys[0] > ys.max() - half_row
        for k in range(len(ours) - 1):
            same_row = abs(ys[k + 1] - ys[k]) < half_row
            if same_row:
                assert xs[k + 1] > xs[k], ours.code.iloc[k + 1]
            else:
                assert ys[k + 1] < ys[k] - half_row and xs[k + 1] < xs[k], ours.code.iloc[k + 1]


def test_a_whole_community_block_is_numbered_row_major(tiny: DemoDistrict) -> None:
    # The south-west community is an untouched 4 × 4 block of the alley lattice.
    grids = metres(tiny.grids)
    west = grids.geometry.representative_point().x.min()
    south_west = grids.loc[grids.geometry.representative_point().y.idxmin(), "community_code"]
    block = grids[grids.community_code == south_west].sort_values("code")
    assert len(block) == 16
    points = block.geometry.representative_point()
    for k, (x, y) in enumerate(zip(points.x, points.y, strict=True)):
        row, column = divmod(k, 4)
        assert abs(x - (west + 100 * column)) < 30
        assert abs(y - (points.y.iloc[0] - 100 * row)) < 30


def test_grids_are_about_ten_thousand_square_metres(tiny: DemoDistrict) -> None:
    areas = metres(tiny.grids).area
    assert 5_000 <= areas.mean() <= 20_000
    assert areas.min() > 0.4 * 10_000 - 1


def test_grid_types_and_roads(tiny: DemoDistrict) -> None:
    assert set(tiny.grids.grid_type) <= {"city", "rural", "industrial"}
    assert "industrial" in set(tiny.grids.grid_type)
    assert set(tiny.roads.road_class) == {"main", "secondary", "alley"}
    assert tiny.roads.name.str.contains("巷").any()
    district = metres(tiny.district).geometry.iloc[0].buffer(1.0)
    assert metres(tiny.roads).geometry.within(district).all()


def test_progress_goes_from_zero_to_one() -> None:
    seen: list[tuple[str, float]] = []
    build_district(TINY, progress=lambda stage, fraction: seen.append((stage, fraction)))
    fractions = [f for _, f in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)


def test_unknown_scales_and_inconsistent_specs_are_refused() -> None:
    with pytest.raises(InvalidParameter, match="'huge'"):
        build_district("huge")
    with pytest.raises(InvalidParameter, match="multiple"):
        build_district(DemoSpec("odd", 850, 800, main_spacing_m=800, secondary_spacing_m=400))


def _count(engine: Engine, table: str, column: str = "district_code") -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE {column} = '530114'")
            ).scalar_one()
        )


def test_load_writes_every_table(engine: Engine, tiny: DemoDistrict) -> None:
    stages: list[str] = []
    counts = load_demo(engine, tiny, progress=lambda stage, fraction: stages.append(stage))
    expected = {"districts": 1, "streets": 2, "communities": 4}
    assert counts == {**expected, "grids": len(tiny.grids), "roads": len(tiny.roads)}
    assert stages[0] == "deleting" and stages[-1] == "done"
    assert _count(engine, "districts", "code") == 1
    for table in ("streets", "communities", "grids", "roads"):
        assert _count(engine, table) == counts[table]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT code, area_m2, GeometryType(geom), ST_SRID(geom), valid_from, version "
                "FROM grids WHERE valid_to IS NULL"
            )
        ).all()
        wrong = conn.execute(
            sa.text(
                "SELECT count(*) FROM grids g JOIN communities c ON c.code = g.community_code "
                "WHERE NOT ST_Within(ST_PointOnSurface(g.geom), c.geom)"
            )
        ).scalar_one()
    assert wrong == 0
    projected = dict(zip(tiny.grids.code, metres(tiny.grids).area, strict=True))
    for code, area_m2, geometry_type, srid, valid_from, version in rows:
        assert geometry_type == "MULTIPOLYGON" and srid == 4326 and version == 1
        assert area_m2 == pytest.approx(projected[code], rel=1e-3)
        assert valid_from == TINY.valid_from
    with engine.connect() as conn:
        road_lengths = conn.execute(sa.text("SELECT sum(length_m) FROM roads")).scalar_one()
    assert road_lengths == pytest.approx(metres(tiny.roads).length.sum(), rel=1e-3)


def test_loading_twice_replaces_and_other_districts_stay(
    engine: Engine, tiny: DemoDistrict
) -> None:
    neighbour = build_district(
        DemoSpec(
            "neighbour",
            400,
            400,
            street_columns=1,
            street_rows=1,
            main_spacing_m=400,
            secondary_spacing_m=400,
            district_code="530112",
            district_name="西山区",
            centre_lonlat=(102.66, 25.03),
        )
    )
    load_demo(engine, tiny)
    load_demo(engine, neighbour)
    counts = load_demo(engine, tiny)
    for table in ("streets", "communities", "grids", "roads"):
        assert _count(engine, table) == counts[table]
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT count(*) FROM grids WHERE district_code = '530112'")
        ).scalar_one()
        districts = conn.execute(sa.text("SELECT count(*) FROM districts")).scalar_one()
    assert kept == len(neighbour.grids) and districts == 2


def test_small_builds_and_loads_about_500_grids(engine: Engine) -> None:
    started = time.perf_counter()
    small = build_district("small")
    counts = load_demo(engine, small)
    elapsed = time.perf_counter() - started
    assert 450 <= counts["grids"] <= 550
    assert counts["streets"] >= 2
    assert set(small.grids.grid_type) == {"city", "rural", "industrial"}
    assert elapsed < 20, f"small took {elapsed:.1f} s to build and load"
