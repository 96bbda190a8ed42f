"""Case counts per grid, case points and heat cells, against a real PostGIS (DOMAIN.md §3, §4).

The territory of ``tests/territory.py`` (six 100 m grids) and a handful of cases inserted with
plain SQL, each placed to test one rule: period edges in local time, grids no longer current,
cases outside every grid, another district, filters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.hotspots import (
    HotspotRequest,
    WeightsCache,
    case_points,
    find_hotspots,
    grid_case_counts,
    heat_cells,
    hotspot_page,
    latest_case_day,
    sub_class_counts,
)
from geogrid.hotspots.request import CaseFilter
from tests.territory import GRIDS, X0, Y0

A11, A12, B12 = "530114001001001", "530114001001002", "530114002001002"
OLD_B = "530114002001009"
"""A grid code of the past: cases registered in it now lie in B1-2."""
MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}

INSERT = """
INSERT INTO cases (district_code, case_id, source, case_type, major_class, sub_class, geom,
    grid_code, current_grid_code, registered_at, dispatched_at, closed_at)
VALUES (:district, :id, :source, 'event', left(:sub, 2), :sub,
    ST_Transform(ST_SetSRID(ST_Point(:x, :y), 4543), 4326), :grid, :current,
    CAST(:at AS timestamptz), CAST(:dispatched AS timestamptz), CAST(:closed AS timestamptz))
"""


def _centre(code: str | None) -> tuple[float, float]:
    col, row, _ = GRIDS.get(code or "", (6, 3, ""))  # no code: far east of the grids
    return X0 + col * 100 + 50, Y0 + row * 100 + 50


def case(
    case_id: str,
    current: str | None,
    at: str,
    *,
    grid: str | None = "same",
    sub: str = "06036",
    source: str = "district_supervisor",
    district: str = "530114",
    dispatched: str | None = None,
    closed: str | None = None,
) -> dict[str, Any]:
    x, y = _centre(current)
    return {
        "district": district,
        "id": case_id,
        "source": source,
        "sub": sub,
        "x": x,
        "y": y,
        "grid": current if grid == "same" else grid,
        "current": current,
        "at": at,
        "dispatched": dispatched,
        "closed": closed,
    }


CASES = [
    case("c1", A11, "2026-03-01 00:00:00+08"),  # the first instant of March in Shanghai
    case("c2", A11, "2026-02-28 23:59:59+08"),
    case("c3", A11, "2026-03-31 23:59:59+08", closed="2026-04-02 10:00+08"),
    case("c4", A11, "2026-04-01 00:00:00+08"),
    case("c9", A11, "2026-03-01 07:00:00+08"),  # still February in UTC
    case(
        "c5",
        A12,
        "2026-03-15 10:00+08",
        sub="06010",
        source="hotline",
        dispatched="2026-03-15 10:20+08",
    ),
    case("c6", B12, "2026-03-15 09:00+08", grid=OLD_B, sub="09006"),
    case("c7", None, "2026-03-20 12:00+08"),  # outside every grid
    case("c8", A11, "2026-05-01 12:00+08", district="530115"),  # a district without grids
]


def add_cases(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(INSERT), rows)


@pytest.fixture
def cases_engine(territory_engine: Engine) -> Engine:
    add_cases(territory_engine, CASES)
    return territory_engine


def _counts(engine: Engine, **kwargs: Any) -> tuple[dict[str, int], int]:
    with engine.connect() as conn:
        gdf = grid_case_counts(conn, **{**MARCH, **kwargs})
    return dict(zip(gdf["code"], gdf["cases"], strict=True)), gdf.attrs["unassigned"]


def test_counts_by_current_grid_with_local_day_edges(cases_engine: Engine) -> None:
    counts, unassigned = _counts(cases_engine)
    assert counts == {code: 0 for code in GRIDS} | {A11: 3, A12: 1, B12: 1}
    assert unassigned == 1  # c7; c8 belongs to another district


def test_counts_by_registered_grid_drop_codes_no_longer_current(cases_engine: Engine) -> None:
    counts, unassigned = _counts(cases_engine, boundaries="registered")
    assert counts == {code: 0 for code in GRIDS} | {A11: 3, A12: 1}
    assert unassigned == 2  # c6 (grid 009 no longer exists) and c7


def test_the_days_are_local_days_of_the_given_zone(cases_engine: Engine) -> None:
    counts, _ = _counts(cases_engine, tz="UTC")
    assert counts[A11] == 2  # c3 and c4 (2026-03-31 16:00 UTC); not c1 or c9


def test_filters_by_subclass_and_source(cases_engine: Engine) -> None:
    assert _counts(cases_engine, sub_class="06010")[0][A12] == 1
    assert sum(_counts(cases_engine, sub_class="06010")[0].values()) == 1
    hotline, unassigned = _counts(cases_engine, source="hotline")
    assert hotline == {code: 0 for code in GRIDS} | {A12: 1} and unassigned == 0


def test_frame_columns_density_and_layer_version(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        gdf = grid_case_counts(conn, **MARCH)
        version = conn.execute(
            sa.text("SELECT current_database(), version FROM layer_versions WHERE layer='grids'")
        ).one()
    assert list(gdf.columns) == ["code", "street_code", "area_m2", "cases", "density", "geometry"]
    assert list(gdf["code"]) == sorted(GRIDS) and gdf.crs == "EPSG:4326"
    a11 = gdf.set_index("code").loc[A11]
    assert a11["area_m2"] == pytest.approx(10_000, rel=0.01)
    assert a11["density"] == pytest.approx(3 / (a11["area_m2"] / 1e6))
    assert gdf.attrs["grids_version"] == (version[0], version[1])


def test_an_empty_territory_gives_no_rows(engine: Engine) -> None:
    with engine.connect() as conn:
        gdf = grid_case_counts(conn, **MARCH)
    assert gdf.empty and gdf.attrs["unassigned"] == 0


def test_find_hotspots_reports_the_period_and_reuses_weights(cases_engine: Engine) -> None:
    cache = WeightsCache()
    request = HotspotRequest(cases=CaseFilter(**MARCH), boundaries="registered")
    with cases_engine.connect() as conn:
        result = find_hotspots(conn, request, cache=cache)
        find_hotspots(
            conn, HotspotRequest(cases=CaseFilter(date(2026, 4, 1), date(2026, 4, 30))), cache=cache
        )
    assert cache.builds == 1
    assert (
        result.parameters["from"] == "2026-03-01"
        and result.parameters["boundaries"] == "registered"
    )
    assert result.unassigned == 2 and len(result.grids) == len(GRIDS)
    with cases_engine.begin() as conn:  # any write to grids bumps its layer version
        conn.execute(sa.text("UPDATE grids SET name = 'x' WHERE code = :c"), {"c": A11})
    with cases_engine.connect() as conn:
        find_hotspots(conn, request, cache=cache)
    assert cache.builds == 2


def test_case_points_newest_first_with_stage_and_local_times(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        found = case_points(conn, **MARCH, limit=3)
    assert found.total == 6  # c1, c3, c5, c6, c7, c9
    assert [p.case_id for p in found.points] == ["c3", "c7", "c5"]
    c3, c7, c5 = found.points
    assert (c3.stage, c3.registered, c3.closed) == (
        "closed",
        "2026-03-31 23:59",
        "2026-04-02 10:00",
    )
    assert c7.stage == "registered"
    assert (c5.stage, c5.sub_class, c5.closed) == ("dispatched", "06010", None)
    assert 102 < c3.lon < 104 and 24 < c3.lat < 26


def test_heat_cells_sum_the_located_cases(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        heat = heat_cells(conn, **MARCH)
        coarse = heat_cells(conn, **MARCH, limit=1)
    assert heat.cases == 6 and heat.cell_m == 25
    assert heat.points[0][2] == 3  # c1, c3 and c9 at the centre of A1-1
    assert sum(n for _, _, n in heat.points) == 6 and len(heat.points) == 4
    assert len(coarse.points) == 1 and coarse.points[0][2] == 6 and coarse.cell_m > 25


def test_latest_day_and_subclass_counts(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        assert latest_case_day(conn) == date(2026, 4, 1)
        assert latest_case_day(conn, tz="UTC") == date(2026, 3, 31)
        assert sub_class_counts(conn, **MARCH) == [
            ("06036", "event", 4),
            ("06010", "event", 1),
            ("09006", "event", 1),
        ]
        assert sub_class_counts(conn, **MARCH, source="hotline") == [("06010", "event", 1)]


def test_page_data_defaults_to_the_30_days_up_to_the_last_case(cases_engine: Engine) -> None:
    with cases_engine.connect() as conn:
        page = hotspot_page(conn, {}, sub_class_name=lambda kind, code: f"名称{code}")
    assert page.cases == CaseFilter(date(2026, 3, 3), date(2026, 4, 1))
    assert page.hotspots is not None and len(page.hotspots["features"]) == len(GRIDS)
    assert page.markers is not None and page.markers.points[0].case_id == "c4"
    assert page.sub_class_name("06010") == "名称06010"
    assert page.bounds is not None and page.bounds[0] < page.bounds[2]


def test_page_data_of_a_database_without_cases(territory_engine: Engine) -> None:
    with territory_engine.connect() as conn:
        page = hotspot_page(conn, {"sub_class": "06010"})
    assert page.cases is None and page.hotspots is None and page.latest_day is None
