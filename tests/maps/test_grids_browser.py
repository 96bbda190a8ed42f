"""The unit-grid page in headless Chromium, served offline: drawn, nothing fails, street colours."""

from __future__ import annotations

from typing import Any

import folium
import pytest
from folium import plugins

from maps.assets import find_external_urls
from maps.grids import GRID_FILL_OPACITY, NO_BASEMAP_BACKGROUND, build_grids_map, street_colours
from tests.browser import count_leaflet_paths, count_pixels, read_png, render_page
from tests.maps import STREETS, large_district, sample_district

pytestmark = pytest.mark.browser


def _on_background(hex_colour: str, alpha: float, background: str) -> tuple[int, int, int]:
    """The RGB a fill of ``hex_colour`` at ``alpha`` shows over ``background``."""
    fg = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    bg = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    r, g, b = (round(alpha * f + (1 - alpha) * b) for f, b in zip(fg, bg, strict=True))
    return r, g, b


def test_grids_page_renders_offline(site: Any) -> None:
    grids, streets, communities = sample_district()
    page = build_grids_map(grids, streets, communities, title="呈贡区")
    page.save(str(site.root / "grids.html"))

    result = render_page(f"{site.url}/grids.html", out_png=site.root / "grids.png")

    assert count_leaflet_paths(result.dom) >= 6
    assert result.console_errors == []
    assert result.failed_loads == []
    assert all(url.startswith(site.url) for url in result.requests)
    assert find_external_urls(result.dom) == []
    vendor = [(path, code) for path, code in site.log if path.startswith("/static/vendor/")]
    assert {path for path, _ in vendor} >= {
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
    }
    assert all(code == 200 for _, code in vendor), vendor

    assert 'class="gg-legend leaflet-control"' in result.dom
    for label in ("单元网格", "社区边界", "街道边界", "放大", "缩小", *STREETS.values()):
        assert label in result.dom

    assert result.png is not None
    screenshot = read_png(result.png)
    assert (screenshot.width, screenshot.height) == (1200, 800)
    for colour in street_colours(list(STREETS)).values():
        shown = _on_background(colour, GRID_FILL_OPACITY, NO_BASEMAP_BACKGROUND)
        assert count_pixels(screenshot, shown, tolerance=4) > 5000, colour


def test_plugins_work_offline_on_the_grids_page(site: Any) -> None:
    cluster = plugins.MarkerCluster(name="部件")
    for i in range(5):
        icon = folium.Icon(prefix="fa", icon="lightbulb", color="red")
        folium.Marker([24.8805 + i * 0.0001, 102.8005], icon=icon).add_to(cluster)
    heat = plugins.HeatMap([[24.881, 102.801, 1.0], [24.8812, 102.8012, 2.0]], name="热力")
    page = build_grids_map(*sample_district(), overlays=[cluster, heat])
    page.save(str(site.root / "plugins.html"))

    result = render_page(f"{site.url}/plugins.html", out_png=None, budget_ms=5000)

    assert result.console_errors == []
    assert result.failed_loads == []
    assert "marker-cluster" in result.dom
    assert "leaflet-heatmap-layer" in result.dom
    assert any("fa-solid-900.woff2" in url for url in result.requests)  # the icon font loaded
    # Chromium may or may not ask for /favicon.ico; nothing else may fail.
    assert [(p, code) for p, code in site.log if code >= 400 and p != "/favicon.ico"] == []


def test_basemap_tiles_come_from_the_given_url(site: Any) -> None:
    page = build_grids_map(
        *sample_district(), basemap_url=f"{site.url}/tiles/{{z}}/{{x}}/{{y}}.png"
    )
    page.save(str(site.root / "basemap.html"))

    result = render_page(f"{site.url}/basemap.html", out_png=None, budget_ms=5000)

    assert result.failed_loads == []
    assert any("/tiles/" in url for url in result.requests)
    assert "leaflet-tile-loaded" in result.dom


def test_ten_thousand_grids_render(site: Any) -> None:
    build_grids_map(*large_district(100)).save(str(site.root / "large.html"))

    result = render_page(f"{site.url}/large.html", out_png=None, budget_ms=15000)

    assert count_leaflet_paths(result.dom) == 10_000
    assert result.console_errors == []
