"""/maps/grids served by the real API, opened in headless Chromium with only localhost reachable."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from maps.assets import find_external_urls
from tests.browser import count_leaflet_paths, render_page
from tests.territory import GRIDS


def test_page_names_the_district_and_uses_only_local_assets(client: TestClient) -> None:
    res = client.get("/maps/grids")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    html = res.text
    assert "呈贡区" in html and "龙城街道" in html and "乌龙街道" in html
    assert find_external_urls(html) == []
    assert "/static/vendor/leaflet/" in html
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200


@pytest.mark.browser
def test_chromium_draws_every_grid_offline(live_url: str) -> None:
    result = render_page(f"{live_url}/maps/grids", out_png=None)
    # One interactive polygon per grid (outlines of communities and streets are not interactive).
    assert count_leaflet_paths(result.dom) >= len(GRIDS)
    assert result.failed_loads == []
    assert all(u.startswith(live_url) or u.startswith("data:") for u in result.requests)
    # Every asset the page asked for came from the app itself.
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in result.requests)
    assert httpx.get(f"{live_url}/maps/grids").status_code == 200
