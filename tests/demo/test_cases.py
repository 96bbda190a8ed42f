"""Synthetic demo cases: columns, mix, places, workflow invariants, determinism (DOMAIN.md §3)."""

from __future__ import annotations

import itertools
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

from geogrid.demo import DemoDistrict, build_district
from geogrid.demo.cases import COLUMNS, SOURCES, STAMPS, build_cases
from geogrid.demo.district import PROJECTED_CRS
from geogrid.errors import InvalidParameter

COUNT = 20_000
SEED = 3
END = date(2026, 10, 31)
FIRST = pd.Timestamp("2025-11-01 00:00:00", tz="Asia/Shanghai")
LAST = pd.Timestamp("2026-10-31 23:59:59", tz="Asia/Shanghai")
TEXT = ("case_id", "source", "platform", "case_type", "major_class", "sub_class", "description",
        "department", "urgency", "satisfaction")  # fmt: skip


@pytest.fixture(scope="module")
def district() -> DemoDistrict:
    return build_district("small")


@pytest.fixture(scope="module")
def cases(district: DemoDistrict) -> pd.DataFrame:
    return build_cases(district, count=COUNT, end=END, seed=SEED)


def points(cases: pd.DataFrame) -> gpd.GeoDataFrame:
    geometry = gpd.points_from_xy(cases["lon"], cases["lat"], crs="EPSG:4326")
    return gpd.GeoDataFrame(cases, geometry=geometry)


def test_rows_columns_and_dtypes(cases: pd.DataFrame) -> None:
    assert len(cases) == COUNT
    assert tuple(cases.columns) == COLUMNS
    for column in TEXT:
        assert pd.api.types.is_string_dtype(cases[column]), column
    for column in (*STAMPS, "due_at"):
        assert str(cases[column].dtype) == "datetime64[ns, Asia/Shanghai]", column
    assert cases["rework_count"].dtype == np.int64
    assert cases["returned_count"].dtype == np.int64
    assert cases["extended"].dtype == bool
    for column in ("lon", "lat"):
        assert cases[column].dtype == np.float64
        assert np.array_equal(cases[column], cases[column].round(7))


def test_case_ids_are_unique_and_carry_the_registration_day(cases: pd.DataFrame) -> None:
    assert cases["case_id"].is_unique
    assert cases["case_id"].str.fullmatch(r"C[0-9]{13}").all()
    day = cases["registered_at"].dt.strftime("%Y%m%d")
    assert (cases["case_id"].str[1:9] == day).all()
    assert cases["registered_at"].is_monotonic_increasing


def test_sources_platforms_and_classes_follow_the_mix(cases: pd.DataFrame) -> None:
    shares = cases["source"].value_counts(normalize=True)
    for source, share in SOURCES:
        assert shares.get(source, 0.0) == pytest.approx(share, abs=0.012), source
    city = cases["platform"] == "city"
    assert city[cases["source"] == "city_supervisor"].all()
    assert not city[~cases["source"].isin(["city_supervisor", "hotline"])].any()
    component = cases["case_type"] == "component"
    assert component.mean() == pytest.approx(0.07, abs=0.015)
    assert (cases["major_class"] == cases["sub_class"].str[:2]).all()
    assert (component == (cases["major_class"] < "06")).all()
    satellite = cases.loc[cases["source"] == "satellite", "sub_class"]
    assert set(satellite) <= {"06001", "08016", "08004"}
    top = cases.loc[~component, "sub_class"].value_counts(normalize=True)
    assert top.index[0] == "06010"
    assert top.iloc[:5].sum() > 0.4
    assert (cases["urgency"] == "urgent").mean() == pytest.approx(0.05, abs=0.015)


def test_descriptions_name_the_place_and_the_subclass(cases: pd.DataFrame) -> None:
    assert cases["description"].str.len().between(4, 30).all()
    rubbish = cases.loc[cases["sub_class"] == "06010", "description"]
    assert rubbish.str.endswith("暴露垃圾").all()


def test_every_case_lies_in_a_grid_and_goes_to_its_street(
    cases: pd.DataFrame, district: DemoDistrict
) -> None:
    frame = points(cases)
    in_grid = gpd.sjoin(frame, district.grids[["code", "geom"]], predicate="intersects")
    assert in_grid.index.nunique() == COUNT
    streets = district.streets[["name", "geom"]].rename(columns={"name": "street"})
    joined = gpd.sjoin(frame, streets, predicate="intersects")
    joined = joined[~joined.index.duplicated()]
    by_street = joined["department"].str.endswith("办事处")
    assert by_street.mean() > 0.2
    assert (joined.loc[by_street, "department"] == joined.loc[by_street, "street"] + "办事处").all()


def test_cases_crowd_along_roads(cases: pd.DataFrame, district: DemoDistrict) -> None:
    metres = points(cases).to_crs(PROJECTED_CRS).geometry.values
    roads = district.roads.to_crs(PROJECTED_CRS)
    every = shapely.union_all(roads.geometry.values)
    busy = shapely.union_all(roads.geometry.values[roads["road_class"] != "alley"])
    assert shapely.dwithin(every, metres, 40).mean() > 0.9
    # Uniform points would lie within 40 m of a main or secondary road about 30 % of the time.
    assert shapely.dwithin(busy, metres, 40).mean() > 0.4


def test_workflow_stamps_are_ordered_and_inside_the_span(cases: pd.DataFrame) -> None:
    for column in ("reported_at", "registered_at", "due_at"):
        assert cases[column].notna().all(), column
    for earlier, later in itertools.pairwise(STAMPS):
        both = cases[earlier].notna() & cases[later].notna()
        assert (cases.loc[both, earlier] <= cases.loc[both, later]).all(), (earlier, later)
        assert (cases[earlier].notna() | cases[later].isna()).all(), (earlier, later)
    assert (cases["due_at"] >= cases["registered_at"]).all()
    for column in STAMPS:
        present = cases[column].dropna()
        assert present.min() >= FIRST and present.max() <= LAST, column


def test_some_cases_are_late_open_reworked_extended_or_returned(cases: pd.DataFrame) -> None:
    closed = cases["closed_at"].notna()
    late = cases["closed_at"] > cases["due_at"]
    assert late[closed].mean() == pytest.approx(0.08, abs=0.03)
    recent = cases["registered_at"] > LAST - pd.Timedelta(days=10)
    assert 0 < (~closed & recent).sum() < recent.sum()
    old_open = ~closed & ~recent
    assert old_open.mean() == pytest.approx(0.005, abs=0.003)
    assert (old_open & (cases["due_at"] < LAST)).any()
    assert (cases["rework_count"] > 0).mean() == pytest.approx(0.04, abs=0.012)
    assert set(cases["rework_count"]) == {0, 1, 2}
    assert cases["extended"].mean() == pytest.approx(0.02, abs=0.008)
    assert cases["returned_count"].mean() == pytest.approx(0.015, abs=0.007)
    assert set(cases["returned_count"]) == {0, 1}


def test_satisfaction_only_for_closed_hotline_and_public_cases(cases: pd.DataFrame) -> None:
    rated = cases["satisfaction"].notna()
    assert cases.loc[rated, "source"].isin(["hotline", "public"]).all()
    assert cases.loc[rated, "closed_at"].notna().all()
    citizens = cases["source"].isin(["hotline", "public"]) & cases["closed_at"].notna()
    assert 0.8 < rated[citizens].mean() < 1.0
    shares = cases.loc[rated, "satisfaction"].value_counts(normalize=True)
    assert set(shares.index) == {"满意", "基本满意", "不满意"}
    assert shares["满意"] == pytest.approx(0.75, abs=0.06)


def test_registrations_follow_weekly_and_daily_rhythms(cases: pd.DataFrame) -> None:
    registered = cases["registered_at"]
    per_day = registered.dt.normalize().value_counts()
    weekday = per_day[per_day.index.day_of_week < 5].mean()
    weekend = per_day[per_day.index.day_of_week >= 5].mean()
    assert 1.15 < weekday / weekend < 1.45
    hour = registered.dt.hour
    assert hour.isin([9, 10, 14, 15]).mean() > 0.35
    assert hour.isin([0, 1, 2, 3, 4]).mean() < 0.02
    night = hour.isin([0, 1, 2, 3, 4, 22, 23])
    assert cases.loc[night, "source"].isin(["hotline", "public"]).mean() > 0.3


def test_repeat_cases_happen_at_the_same_place(cases: pd.DataFrame) -> None:
    metres = points(cases).to_crs(PROJECTED_CRS).geometry.values
    left, right = shapely.STRtree(metres).query(metres, predicate="dwithin", distance=30.0)
    month = cases["registered_at"].dt.strftime("%Y%m").to_numpy()
    sub_class = cases["sub_class"].to_numpy()
    same = (left != right) & (month[left] == month[right]) & (sub_class[left] == sub_class[right])
    neighbours = np.bincount(left[same], minlength=len(cases))
    assert (neighbours >= 2).sum() > 0
    assert len(set(sub_class[neighbours >= 2])) >= 3


def test_the_same_seed_gives_the_same_cases(cases: pd.DataFrame, district: DemoDistrict) -> None:
    assert_frame_equal(build_cases(district, count=COUNT, end=END, seed=SEED), cases)
    other = build_cases(district, count=COUNT, end=END, seed=SEED + 1)
    assert not other["lon"].equals(cases["lon"])


def test_progress_is_reported_and_bad_sizes_rejected(district: DemoDistrict) -> None:
    calls: list[tuple[int, int]] = []
    small = build_cases(district, count=50, end=END, months=1, progress=lambda *a: calls.append(a))
    assert len(small) == 50
    assert small["registered_at"].min() >= pd.Timestamp("2026-10-01", tz="Asia/Shanghai")
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)
    with pytest.raises(InvalidParameter):
        build_cases(district, count=0, end=END)
