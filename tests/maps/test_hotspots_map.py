"""The hotspot page: built offline from plain data, and drawn in headless Chromium."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from geogrid.hotspots import (
    CasePoint,
    CasePoints,
    HeatCells,
    HotspotPage,
    gi_star,
    hotspots_geojson,
)
from geogrid.hotspots.request import CaseFilter
from maps.assets import find_external_urls
from maps.grids import GRID_FILL_OPACITY, NO_BASEMAP_BACKGROUND
from maps.hotspots import CLASS_COLOURS, LAYER_NAMES, build_hotspots_map
from tests.browser import count_leaflet_paths, count_pixels, read_png, render_page
from tests.hotspots import corner_cluster, lattice

PERIOD = CaseFilter(date(2026, 3, 1), date(2026, 3, 31), "06010", None)


def sample_page(*, shown: int = 30, total: int = 2500) -> HotspotPage:
    """The 5 × 5 lattice with a hot south-west corner, heat cells and ``shown`` markers."""
    result = gi_star(lattice(corner_cluster()).to_crs("EPSG:4326"), cache=None)
    grids = result.grids
    west, south, east, north = (float(v) for v in grids.total_bounds)
    markers = [
        CasePoint(
            case_id="<b>A" + str(i) + "</b>" if i == 0 else f"A{i:05d}",
            case_type="event",
            sub_class="06010",
            stage="closed" if i % 2 else "dispatched",
            registered="2026-03-31 10:00",
            closed="2026-04-01 09:00" if i % 2 else None,
            lat=south + 0.0002 + 0.00001 * i,
            lon=west + 0.0002,
        )
        for i in range(shown)
    ]
    heat = [(south + 0.0003, west + 0.0003, 12), (north - 0.0003, east - 0.0003, 1)]
    return HotspotPage(
        cases=PERIOD,
        hotspots=hotspots_geojson(result),
        heat=HeatCells(heat, 25.0, 13),
        markers=CasePoints(markers, total),
        sub_classes=[("06010", "暴露垃圾", 120), ("09006", "09006", 4)],
        latest_day=date(2026, 3, 31),
        bounds=(west, south, east, north),
    )


def render(page: HotspotPage, **kwargs: Any) -> str:
    return build_hotspots_map(page, **kwargs).get_root().render()


def test_page_loads_nothing_from_outside() -> None:
    html = render(sample_page(), title="呈贡区")
    assert find_external_urls(html) == []
    for path in (
        "leaflet/leaflet.js",
        "leaflet.markercluster/leaflet.markercluster.js",
        "leaflet.heat/leaflet-heat.min.js",
    ):
        assert f'"/static/vendor/{path}"' in html


def test_asset_base_prefixes_every_asset() -> None:
    assets = re.findall(r'(?:src|href)="([^"]+)"', render(sample_page(), asset_base="/gg/static"))
    assert assets
    assert all(url.startswith("/gg/static/vendor/") for url in assets), assets


def test_page_has_chinese_labels_legend_form_and_the_marker_note() -> None:
    html = render(sample_page(shown=30, total=2500), title="呈贡区")
    for text in (
        "案件热点分析 · 呈贡区",
        "图例",
        "热点 99% 置信",
        "冷点 90% 置信",
        "不显著",
        "开始日期",
        "结束日期",
        "小类",
        "来源",
        "查询",
        "显示最近 30 件（共 2,500 件）",
    ):
        assert text in html, text
    # Scripts carry their strings JSON-escaped: the tooltip's aliases.
    aliases = ["网格编码", "案件数", "z 值", "p 值", "类别"]
    assert f"let aliases = {json.dumps(aliases)};" in html
    assert 'action="/maps/hotspots"' in html
    assert 'name="from" value="2026-03-01"' in html and 'name="to" value="2026-03-31"' in html
    assert '<option value="06010" selected>06010 暴露垃圾（120）</option>' in html
    assert '<option value="hotline">热线</option>' in html


def test_marker_popups_are_escaped() -> None:
    html = render(sample_page())
    assert "<b>A0</b>" not in html
    assert "\\u0026lt;b\\u0026gt;A0" in html or "&lt;b&gt;A0" in html


def test_an_empty_database_gives_a_page_with_a_notice() -> None:
    page = HotspotPage(None, None, None, None, [], None)
    html = render(page)
    assert "数据库中还没有案件" in html
    assert find_external_urls(html) == []


def _shown(hex_colour: str, alpha: float = GRID_FILL_OPACITY) -> tuple[int, int, int]:
    fg = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    bg = [int(NO_BASEMAP_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5)]
    r, g, b = (round(alpha * f + (1 - alpha) * b) for f, b in zip(fg, bg, strict=True))
    return r, g, b


@pytest.mark.browser
def test_page_draws_classes_and_clustered_markers_offline(site: Any) -> None:
    page = sample_page()
    classes = {f["properties"]["class"] for f in page.hotspots["features"]}  # type: ignore[index]
    assert "hot_99" in classes
    build_hotspots_map(page, title="呈贡区").save(str(site.root / "hotspots.html"))

    result = render_page(f"{site.url}/hotspots.html", out_png=site.root / "hotspots.png")

    assert result.console_errors == []
    assert result.failed_loads == []
    assert find_external_urls(result.dom) == []
    assert count_leaflet_paths(result.dom) >= 25
    assert "marker-cluster" in result.dom  # the 30 nearby cases form a cluster icon
    assert 'class="gg-legend leaflet-control"' in result.dom
    assert 'class="gg-query leaflet-control"' in result.dom
    for name in LAYER_NAMES.values():
        assert name in result.dom, name  # in the layer control
    for colour in (CLASS_COLOURS[c] for c in classes):
        assert f'fill="{colour}"' in result.dom
    assert result.png is not None
    screenshot = read_png(result.png)
    assert count_pixels(screenshot, _shown(CLASS_COLOURS["hot_99"]), tolerance=4) > 1000
