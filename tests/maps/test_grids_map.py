"""The unit-grid page as HTML: offline assets only, Chinese labels, legend, colours, compactness."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import folium
import pytest
from folium import plugins

from maps.assets import OFFLINE_ASSETS, find_external_urls, use_offline_assets
from maps.grids import STREET_PALETTE, build_grids_map, street_colours
from tests.maps import STREETS, large_district, sample_district


def _html(**kwargs: Any) -> str:
    grids, streets, communities = sample_district()
    page = build_grids_map(grids, streets, communities, **kwargs)
    return page.get_root().render()


def _in_page(text: str, html: str) -> bool:
    """``text`` is in the page literally (HTML) or as folium writes it in scripts (JSON)."""
    return text in html or json.dumps(text)[1:-1] in html


@pytest.fixture
def folium_classes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let a test change folium's class-level asset URLs; they are restored afterwards."""
    for cls in OFFLINE_ASSETS:
        monkeypatch.setattr(cls, "default_js", cls.default_js)
        monkeypatch.setattr(cls, "default_css", cls.default_css)
    yield


def test_building_a_page_leaves_folium_classes_alone() -> None:
    before = {cls: (list(cls.default_js), list(cls.default_css)) for cls in OFFLINE_ASSETS}
    _html()
    assert {cls: (cls.default_js, cls.default_css) for cls in OFFLINE_ASSETS} == before


@pytest.mark.usefixtures("folium_classes")
def test_use_offline_assets_is_idempotent_and_covers_plugins() -> None:
    use_offline_assets("/static")
    once = {cls: (cls.default_js, cls.default_css) for cls in OFFLINE_ASSETS}
    use_offline_assets("/static")
    assert {cls: (cls.default_js, cls.default_css) for cls in OFFLINE_ASSETS} == once

    m = folium.Map(tiles=None, max_zoom=19)
    plugins.MarkerCluster().add_child(folium.Marker([24.88, 102.8])).add_to(m)
    plugins.HeatMap([[24.88, 102.8, 1.0]]).add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.VectorGridProtobuf("/tiles/{z}/{x}/{y}.pbf", "grids").add_to(m)
    html = m.get_root().render()
    assert find_external_urls(html) == []
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html
    assert "/static/vendor/leaflet.heat/leaflet-heat.min.js" in html


def test_every_offline_asset_exists() -> None:
    from maps.assets import STATIC_DIR

    for js, css in OFFLINE_ASSETS.values():
        for _, path in (*js, *css):
            assert (STATIC_DIR / "vendor" / path).is_file(), path


@pytest.mark.parametrize(
    ("html", "external"),
    [
        ('<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">', True),
        ('<link href="//unpkg.com/leaflet/dist/leaflet.css">', True),
        ("<style>@font-face {src: url(//fonts.gstatic.com/x.woff2)}</style>", True),
        ('{"url": "https:\\/\\/code.jquery.com\\/jquery.js"}', True),
        ('<script src="/static/vendor/leaflet/leaflet.js">', False),
        ('<script src="http://127.0.0.1:8000/static/x.js">', False),
        ('<img src="http://localhost:8000/a.png">', False),
        ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', False),
        ("// a comment, not a URL", False),
    ],
)
def test_find_external_urls(html: str, external: bool) -> None:
    assert bool(find_external_urls(html)) is external


def test_find_external_urls_lists_each_once_in_order() -> None:
    html = '<script src="https://b.example/x.js"></script><a href="//a.example/">https://b.example/x.js'
    assert find_external_urls(html) == ["https://b.example/x.js", "//a.example/"]


def test_page_is_in_chinese() -> None:
    html = _html(title="呈贡区")

    assert "<title>单元网格 · 呈贡区</title>" in html
    assert "<h1>单元网格 · 呈贡区</h1>" in html
    assert "网格 6 个 · 社区 3 个 · 街道 2 个" in html
    for label in ("单元网格", "社区边界", "街道边界"):  # layer names
        assert _in_page(label, html), label
    for label in ("网格编码", "社区", "街道", "面积 (m²)", "网格类型"):  # tooltip
        assert _in_page(label, html), label
    for label in ("城市/商业", "农村", "厂区", "斗南社区"):  # tooltip values
        assert _in_page(label, html), label
    assert not _in_page("industrial", html)


def test_areas_are_whole_square_metres() -> None:
    html = _html()
    assert '"area": "11190"' in html  # 11190.4
    assert '"area": "11191"' in html  # 11190.5, half up
    assert "11190.4" not in html


def test_legend_lists_each_street_with_its_colour() -> None:
    html = _html()
    legend = re.search(r'<div class="gg-legend".*?</div>', html, re.S)
    assert legend is not None
    assert "<h2>街道</h2>" in legend.group(0)
    colours = street_colours(list(STREETS))
    for code, name in STREETS.items():
        assert re.search(rf"background: {colours[code]};[^>]*></i>{name}<span>", legend.group(0))
    assert "<span>4</span>" in legend.group(0)  # 龙城街道 has four grids


def test_grids_are_filled_with_their_street_colour() -> None:
    html = _html()
    for colour in street_colours(list(STREETS)).values():
        assert f'"fillColor": "{colour}"' in html


def test_street_colours_are_deterministic_and_distinct() -> None:
    codes = [f"530114{i:03d}" for i in range(1, 13)]
    colours = street_colours(codes)

    assert street_colours(list(reversed(codes))) == colours
    assert len(set(colours.values())) == len(codes)
    assert colours["530114001"] == STREET_PALETTE[0]
    many = street_colours([f"530114{i:03d}" for i in range(1, 23)])
    assert many["530114021"] == STREET_PALETTE[0]  # past the palette, colours repeat


def test_without_basemap_there_is_no_tile_layer() -> None:
    html = _html()
    assert "L.tileLayer" not in html
    assert not _in_page("底图", html)
    assert '"maxZoom": 19' in html  # plugins need it when no tile layer sets it


def test_basemap_is_a_tile_layer() -> None:
    url = "http://127.0.0.1:8080/tianditu/vec_w/{z}/{x}/{y}.png"
    html = _html(basemap_url=url, basemap_attribution="天地图")

    assert "L.tileLayer" in html
    assert url in html
    assert _in_page("底图", html)
    assert _in_page("天地图", html)


def test_coordinates_are_rounded_to_six_decimals() -> None:
    grids, streets, communities = sample_district()
    grids = copy.deepcopy(grids)
    grids["features"][0]["geometry"]["coordinates"][0][0] = [102.800000444, 24.881800444]
    html = build_grids_map(grids, streets, communities).get_root().render()

    assert "102.8000004" not in html
    assert "[102.8, 24.8818]" in html


def test_map_is_fitted_to_the_data() -> None:
    html = _html()
    assert re.search(r"fitBounds\(\s*\[\[24\.88, 102\.8\], \[24\.8818, 102\.803\]\]", html)


def test_a_grid_without_geometry_is_named() -> None:
    grids, streets, communities = sample_district()
    grids["features"][3]["geometry"] = None
    with pytest.raises(ValueError, match="530114001002002"):
        build_grids_map(grids, streets, communities)


def test_ten_thousand_grids_stay_compact() -> None:
    html = build_grids_map(*large_district(100)).get_root().render()
    assert len(html.encode()) < 6_000_000


def test_an_empty_district_still_renders() -> None:
    empty = {"type": "FeatureCollection", "features": []}
    html = build_grids_map(empty, empty, empty).get_root().render()

    assert "网格 0 个 · 社区 0 个 · 街道 0 个" in html
    assert "fitBounds" not in html
