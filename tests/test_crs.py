"""GCJ-02 conversion and metric projections (DOMAIN.md §1)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from geogrid.crs import GCJ02, gcj02_to_wgs84, local_metric_crs, parse_crs, wgs84_to_gcj02
from geogrid.errors import CRSMismatch

GEOD = Geod(ellps="WGS84")


def test_known_pair_tiananmen() -> None:
    # A published WGS84 → GCJ-02 pair (Tiananmen): the offset is several hundred metres.
    lon, lat = wgs84_to_gcj02(116.391275, 39.906217)
    assert float(lon) == pytest.approx(116.397518, abs=1e-5)
    assert float(lat) == pytest.approx(39.907614, abs=1e-5)
    _, _, dist = GEOD.inv(116.391275, 39.906217, float(lon), float(lat))
    assert 100 < dist < 700


@given(
    st.floats(min_value=73.0, max_value=135.0),
    st.floats(min_value=18.0, max_value=53.0),
)
def test_inverse_is_within_half_a_metre(lon: float, lat: float) -> None:
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = gcj02_to_wgs84(g_lon, g_lat)
    _, _, dist = GEOD.inv(lon, lat, float(back_lon), float(back_lat))
    assert dist < 0.5


def test_no_offset_outside_china() -> None:
    lon, lat = wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert (float(lon[0]), float(lat[0])) == (2.35, 48.85)


def test_parse_crs() -> None:
    assert parse_crs("gcj02") == GCJ02
    assert parse_crs("EPSG:4490").to_epsg() == 4490  # type: ignore[union-attr]
    with pytest.raises(CRSMismatch, match="EPSG:999999"):
        parse_crs("EPSG:999999")


def test_local_metric_crs_measures_a_known_distance() -> None:
    crs = local_metric_crs(102.85, 24.98)
    to_m = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x1, y1 = to_m.transform(102.85, 24.98)
    x2, y2 = to_m.transform(102.86, 24.98)
    _, _, geodesic = GEOD.inv(102.85, 24.98, 102.86, 24.98)
    assert ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5 == pytest.approx(geodesic, rel=1e-4)
