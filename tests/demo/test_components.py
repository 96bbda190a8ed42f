"""Synthetic demo components: count, codes, classes, places, states (DOMAIN.md §2, §8)."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

from geogrid.catalogue import load_catalogue
from geogrid.demo import DemoDistrict, build_district
from geogrid.demo.components import COLUMNS, STATUSES, build_components
from geogrid.demo.district import PROJECTED_CRS
from geogrid.errors import InvalidParameter

COUNT = 20_000
SEED = 5
GEOMETRY = {"Point": "point", "LineString": "line", "Polygon": "polygon"}


@pytest.fixture(scope="module")
def district() -> DemoDistrict:
    return build_district("small")


@pytest.fixture(scope="module")
def components(district: DemoDistrict) -> gpd.GeoDataFrame:
    return build_components(district, count=COUNT, seed=SEED)


def lamps_beside(components: gpd.GeoDataFrame, road: shapely.LineString, name: str) -> pd.DataFrame:
    """The lamps named after ``road`` (metres): position along it, signed offset from it."""
    lamps = components[components["name"].str.startswith(f"{name}路灯")].to_crs(PROJECTED_CRS)
    points = lamps.geometry.values
    along = shapely.line_locate_point(road, points)
    foot = shapely.line_interpolate_point(road, along)
    ahead = shapely.line_interpolate_point(road, along + 1.0)
    direction = shapely.get_coordinates(ahead) - shapely.get_coordinates(foot)
    away = shapely.get_coordinates(points) - shapely.get_coordinates(foot)
    side = np.sign(direction[:, 0] * away[:, 1] - direction[:, 1] * away[:, 0])
    return pd.DataFrame({"along": along, "offset": side * shapely.distance(points, road)})


@pytest.mark.parametrize("count", [5_000, COUNT, 60_000])
def test_row_count_is_near_the_target(
    district: DemoDistrict, components: gpd.GeoDataFrame, count: int
) -> None:
    frame = components if count == COUNT else build_components(district, count=count, seed=1)
    assert len(frame) == pytest.approx(count, rel=0.05)


def test_columns_crs_and_values(components: gpd.GeoDataFrame) -> None:
    assert tuple(components.columns) == COLUMNS
    assert components.crs.to_epsg() == 4326
    assert components.geometry.is_valid.all()
    xy = shapely.get_coordinates(components.geometry.values)
    assert np.array_equal(xy, xy.round(7))
    dates = components["install_date"]
    assert all(isinstance(d, date) for d in dates)
    assert dates.min() >= date(2008, 1, 1) and dates.max() <= date(2025, 12, 31)
    assert dates.map(lambda d: d.year).nunique() >= 15
    for column in ("name", "department", "owner", "maintainer"):
        assert components[column].notna().all() and (components[column].str.len() > 0).all()


def test_codes_are_unique_17_digits_of_district_and_class(
    district: DemoDistrict, components: gpd.GeoDataFrame
) -> None:
    codes = components["code"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"[0-9]{17}").all()
    assert (codes.str[:6] == district.spec.district_code).all()
    assert (codes.str[6:11] == components["sub_class"]).all()


def test_sequences_run_from_one_without_gaps(components: gpd.GeoDataFrame) -> None:
    for sub_class, codes in components.groupby("sub_class")["code"]:
        sequences = sorted(int(c[11:]) for c in codes)
        assert sequences == list(range(1, len(codes) + 1)), sub_class


def test_classes_and_geometry_types_follow_the_catalogue(components: gpd.GeoDataFrame) -> None:
    catalogue = load_catalogue()
    kinds = components.geom_type.map(GEOMETRY)
    assert set(kinds) == {"point", "line", "polygon"}
    for sub_class, rows in components.groupby("sub_class"):
        item = catalogue.get("component", str(sub_class))
        assert set(kinds[rows.index]) == {item.geometry}, sub_class
        assert set(rows["department"]) == {item.department}, sub_class
        assert rows["name"].str.contains(item.name, regex=False).all(), sub_class
    shares = components["sub_class"].value_counts(normalize=True)
    assert shares.index[0] == "04002"  # street trees, then covers and lamps
    assert shares[["01001", "01002", "01003", "01004", "01005", "01007", "01011"]].sum() > 0.3
    assert 0.05 < shares["01037"] < 0.15
    assert {"02001", "04013", "02017", "04008", "02014", "03001"} <= set(shares.index)


def test_every_component_lies_inside_the_district(
    district: DemoDistrict, components: gpd.GeoDataFrame
) -> None:
    outline = district.district.geometry.iloc[0]
    assert shapely.contains(outline, components.geometry.values).all()


def test_lamps_stand_every_30_to_40_m_on_both_sides_of_a_main_road(
    district: DemoDistrict, components: gpd.GeoDataFrame
) -> None:
    roads = district.roads.to_crs(PROJECTED_CRS)
    checked = 0
    for road in roads[roads["road_class"] == "main"].itertuples():
        lamps = lamps_beside(components, road.geom, road.name)
        sides = [lamps[lamps["offset"] > 0], lamps[lamps["offset"] < 0]]
        if min(len(side) for side in sides) < 20:
            continue  # a boundary road: its outer side lies in the next district
        checked += 1
        for side in sides:
            gaps = np.diff(np.sort(side["along"].to_numpy()))
            assert 25 <= np.median(gaps) <= 45, road.name
            assert side["offset"].abs().between(8, 15).all(), road.name
    assert checked >= 2


def test_statuses_follow_the_mix(components: gpd.GeoDataFrame) -> None:
    shares = components["status"].value_counts(normalize=True)
    assert set(shares.index) == {status for status, _ in STATUSES}
    for status, share in STATUSES:
        assert shares[status] == pytest.approx(share, abs=max(0.004, share * 0.25)), status
    intact = components["status"] == "intact"
    assert components.loc[intact, "note"].isna().all()
    assert components.loc[~intact, "note"].notna().all()


def test_photos_are_relative_paths_for_about_a_fifth(components: gpd.GeoDataFrame) -> None:
    photos = components["photo_url"].dropna()
    assert len(photos) / len(components) == pytest.approx(0.2, abs=0.02)
    expected = "photos/" + components.loc[photos.index, "code"] + ".jpg"
    assert (photos == expected).all()


def test_units_are_plausible(components: gpd.GeoDataFrame) -> None:
    owners = components.groupby("sub_class")["owner"].agg(set)
    assert owners["01037"] == {"呈贡区城市管理局"}
    assert owners["01005"] == {"昆明供电局呈贡分局"}
    assert "中国移动呈贡分公司" in owners["01007"]
    assert owners["04002"] == {"呈贡区园林绿化局"}
    keepers = components.groupby("sub_class")["maintainer"].agg(set)
    assert keepers["01037"] == {"呈贡区路灯管理所"}
    assert len(keepers["03005"]) > 1


def test_same_seed_same_frame_other_seed_other_frame(
    district: DemoDistrict, components: gpd.GeoDataFrame
) -> None:
    again = build_components(district, count=COUNT, seed=SEED)
    assert_frame_equal(again.drop(columns="geometry"), components.drop(columns="geometry"))
    assert again.geometry.geom_equals_exact(components.geometry, tolerance=0).all()
    other = build_components(district, count=COUNT, seed=SEED + 1)
    first = slice(0, 1000)
    assert list(other.geometry.values[first]) != list(components.geometry.values[first])


def test_progress_and_invalid_count(district: DemoDistrict) -> None:
    calls: list[tuple[int, int]] = []
    build_components(
        district, count=2_000, progress=lambda done, total: calls.append((done, total))
    )
    assert calls and calls[-1][0] == calls[-1][1]
    with pytest.raises(InvalidParameter):
        build_components(district, count=0)
