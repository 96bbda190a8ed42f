"""A real OGC client (GDAL's OAPIF driver, through pyogrio) reads the grids over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyogrio
import pytest
from sqlalchemy.engine import Engine

from tests.credentials import role_key
from tests.territory import GRIDS

pytestmark = pytest.mark.skipif(
    "OAPIF" not in pyogrio.list_drivers(), reason="this GDAL build has no OAPIF driver"
)


def test_gdal_reads_grids_as_ogc_api_features(live_url: str) -> None:
    layers = [name for name, _ in pyogrio.list_layers(f"OAPIF:{live_url}")]
    assert {"streets", "communities", "grids"} <= set(layers)
    df = pyogrio.read_dataframe(f"OAPIF:{live_url}", layer="grids")
    assert sorted(df["code"]) == sorted(GRIDS)
    assert set(df["street_name"]) == {"龙城街道", "乌龙街道"}
    assert df.crs.to_epsg() == 4326
    assert df.geometry.is_valid.all()


def test_gdal_follows_next_links_across_pages(live_url: str) -> None:
    # The live server caps pages at 4 features: 6 grids need the `next` link.
    page = httpx.get(f"{live_url}/collections/grids/items?limit=100").json()
    assert page["numberReturned"] == 4
    df = pyogrio.read_dataframe(f"OAPIF:{live_url}", layer="grids")
    assert len(df) == len(GRIDS)


def test_gdal_sends_an_api_key(
    territory_engine: Engine, private_live_url: str, tmp_path: Path
) -> None:
    # GDAL_HTTP_HEADERS would be overridden by the OAPIF driver's own Accept header.
    header_file = tmp_path / "headers.txt"
    header_file.write_text(f"X-API-Key: {role_key(territory_engine, 'viewer')['X-API-Key']}\n")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(header_file)})
    try:
        df = pyogrio.read_dataframe(f"OAPIF:{private_live_url}", layer="grids")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})
    assert sorted(df["code"]) == sorted(GRIDS)
