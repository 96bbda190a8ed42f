"""The grid-update page (DOMAIN.md §1b): offline HTML, Chinese legend with counts, Chromium.

The plan drawn: one change of every kind side by side, 0.001° × 0.0009° grids (about
101 m × 100 m) near Kunming, one lattice column apart, and a second unchanged grid below::

    col  0        2         4         6       8        10      12       14
         未变     调整边界   重新编码   新增     删除     拆分     合并     重新划分
         未变
"""

from __future__ import annotations

import json
import re
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from geogrid.grids.diff import KIND_LABELS, KINDS, changes_to_geojson, classify_changes
from maps.assets import find_external_urls
from maps.grid_updates import KIND_COLOURS, build_diff_map
from maps.grids import GRID_FILL_OPACITY, NO_BASEMAP_BACKGROUND
from tests.browser import count_leaflet_paths, count_pixels, read_png, render_page

WEST, SOUTH, DX, DY = 102.800, 24.880, 0.001, 0.0009
COMMUNITY = "530114001001"
COUNTS = {**dict.fromkeys(KINDS, 1), "unchanged": 2}
OLD_OUTLINES = 4
"""reshaped, split, merged and redrawn each draw their old outline."""


def _cell(col: float, row: float = 0, width: float = 1, height: float = 1) -> Polygon:
    """Box at lattice position (col, row) in grid widths; row 1 is south of row 0."""
    west, north = WEST + col * DX, SOUTH - row * DY
    return box(west, north - height * DY, west + width * DX, north)


def _frame(rows: list[tuple[int, Polygon]]) -> gpd.GeoDataFrame:
    codes = [f"{COMMUNITY}{sequence:03d}" for sequence, _ in rows]
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "community_code": [COMMUNITY] * len(rows),
            "street_code": [COMMUNITY[:9]] * len(rows),
        },
        geometry=[polygon for _, polygon in rows],
        crs=4326,
    )


def sample_plan() -> dict[str, Any]:
    """GeoJSON of a plan with one change of each kind and two unchanged grids."""
    old = _frame(
        [
            (1, _cell(0)),
            (2, _cell(0, 1)),
            (3, _cell(2)),
            (4, _cell(4)),
            (6, _cell(8)),
            (7, _cell(10)),
            (8, _cell(12, width=0.5)),
            (9, _cell(12.5, width=0.5)),
            (10, _cell(14, width=0.5)),
            (11, _cell(14.5, width=0.5)),
        ]
    )
    new = _frame(
        [
            (1, _cell(0)),
            (2, _cell(0, 1)),
            (3, _cell(2, width=0.8)),
            (21, _cell(4)),
            (22, _cell(6)),
            (23, _cell(10, width=0.5)),
            (24, _cell(10.5, width=0.5)),
            (25, _cell(12)),
            (26, _cell(14, width=1 / 3)),
            (27, _cell(14 + 1 / 3, width=1 / 3)),
            (28, _cell(14 + 2 / 3, width=1 / 3)),
        ]
    )
    diff = classify_changes(old, new)
    assert diff.counts() == COUNTS
    return changes_to_geojson(diff, old, new)


def _html(**kwargs: Any) -> str:
    return build_diff_map(sample_plan(), **kwargs).get_root().render()


def _without_ids(html: str) -> str:
    """The page with folium's random element ids blanked, to compare two builds."""
    return re.sub(r"_[0-9a-f]{32}", "_", html)


def _in_page(text: str, html: str) -> bool:
    """``text`` is in the page literally (HTML) or as folium writes it in scripts (JSON)."""
    return text in html or json.dumps(text)[1:-1] in html


def test_legend_names_every_kind_in_chinese_with_its_count() -> None:
    html = _html()

    legend = re.findall(
        r'<li><i style="background: (#[0-9a-f]{6});[^"]*"></i>(.+?)<span>(\d+)<', html
    )
    assert legend == [
        (KIND_COLOURS[kind], label, str(COUNTS[kind])) for kind, label in KIND_LABELS.items()
    ]
    assert [label for _, label, _ in legend] == [
        "新增",
        "删除",
        "调整边界",
        "拆分",
        "合并",
        "重新编码",
        "重新划分",
        "未变",
    ]
    assert "<h2>变化类型</h2>" in html


def test_title_header_tooltips_layers_and_zoom() -> None:
    html = _html(title="呈贡区")

    assert "<title>网格调整方案 · 呈贡区</title>" in html
    assert "<h1>网格调整方案 · 呈贡区</h1>" in html
    assert "变化 7 处 · 未变 2 个" in html
    for alias in ("变化类型", "原网格编码", "新网格编码", "IoU", "原面积 (m²)", "新面积 (m²)"):
        assert _in_page(alias, html), alias
    for label in KIND_LABELS.values():
        assert _in_page(label, html), label
    layers = re.search(r"var layer_control_\w+_layers = \{(.*?)\};", html, re.S)
    assert layers is not None
    overlays = re.findall(r'"((?:\\u[0-9a-f]{4}|[^"])+)" : feature_group', layers.group(1))
    names = [json.loads(f'"{name}"') for name in overlays]
    assert names == ["未变", "新增", "删除", "调整边界", "拆分", "合并", "重新编码", "重新划分"]
    assert '"maxZoom": 19' in html
    assert html.count('"dashArray": "6 4"') >= 2  # old outlines and removed grids


def test_tooltip_values_are_ready_to_read() -> None:
    html = _html()

    assert _in_page("530114001001023、530114001001024", html)  # the split's two new grids
    assert _in_page("0.8000", html)  # IoU of the reshaped grid
    assert _in_page("—", html)  # no old code for the added grid


def test_page_is_fitted_to_the_changes() -> None:
    html = _html()

    bounds = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", html, re.S)
    assert bounds is not None
    (south, west), (north, east) = json.loads(bounds.group(1))
    assert (south, west) == pytest.approx((SOUTH - 2 * DY, WEST))
    assert (north, east) == pytest.approx((SOUTH, WEST + 15 * DX))


def test_an_empty_plan_is_a_page_with_an_empty_legend() -> None:
    html = build_diff_map({"type": "FeatureCollection", "features": []}).get_root().render()

    assert find_external_urls(html) == []
    assert "fitBounds" not in html
    assert html.count("<span>0</span>") == len(KINDS)


def test_an_unknown_kind_is_named() -> None:
    plan = sample_plan()
    plan["features"][3]["properties"]["kind"] = "moved"

    with pytest.raises(ValueError, match="change 3 has kind 'moved'"):
        build_diff_map(plan)


def test_new_and_old_roles_of_the_database_report_draw_the_same_plan() -> None:
    """``role: "new"`` for shapes, a removed grid as its old shape alone, a recoded old outline."""
    plan = sample_plan()
    for feature in plan["features"]:
        props = feature["properties"]
        if props["role"] == "change":
            props["role"] = "old" if props["kind"] == "removed" else "new"
    recoded = next(f for f in plan["features"] if f["properties"]["kind"] == "recoded")
    plan["features"].append({**recoded, "properties": {**recoded["properties"], "role": "old"}})

    html = build_diff_map(plan).get_root().render()

    assert _without_ids(html) == _without_ids(_html())


def _on_background(hex_colour: str) -> tuple[int, int, int]:
    """The RGB a kind's fill shows over the page's background."""
    fg = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    bg = [int(NO_BASEMAP_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5)]
    a = GRID_FILL_OPACITY
    r, g, b = (round(a * f + (1 - a) * b) for f, b in zip(fg, bg, strict=True))
    return r, g, b


@pytest.mark.browser
def test_plan_page_draws_every_change_offline(site: Any) -> None:
    plan = sample_plan()
    build_diff_map(plan, title="呈贡区").save(str(site.root / "plan.html"))

    result = render_page(f"{site.url}/plan.html", out_png=site.root / "plan.png")

    changes = [f for f in plan["features"] if f["properties"]["role"] == "change"]
    assert count_leaflet_paths(result.dom) == len(changes) == sum(COUNTS.values())
    assert result.dom.count('stroke-dasharray="6 4"') == OLD_OUTLINES + COUNTS["removed"]
    assert result.console_errors == []
    assert result.failed_loads == []
    assert all(url.startswith(site.url) for url in result.requests)
    assert find_external_urls(result.dom) == []
    assert all(code == 200 for path, code in site.log if path.startswith("/static/"))
    assert 'class="gg-legend leaflet-control"' in result.dom
    for label in ("网格调整方案 · 呈贡区", "放大", "缩小", *KIND_LABELS.values()):
        assert label in result.dom

    assert result.png is not None
    screenshot = read_png(result.png)
    for kind in ("added", "removed", "recoded"):
        shown = _on_background(KIND_COLOURS[kind])
        assert count_pixels(screenshot, shown, tolerance=4) > 1000, kind
