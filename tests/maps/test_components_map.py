"""The component page: built offline from plain data, and drawn in headless Chromium."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from geogrid.catalogue import load_catalogue
from geogrid.components.stats import ComponentMapData
from maps.assets import find_external_urls
from maps.components import LAYER_NAMES, MAJOR_COLOURS, build_components_map
from tests.browser import count_leaflet_paths, render_page
from tests.maps import DX, DY, SOUTH, WEST, sample_district

SUB_CLASSES = ("01037", "02017", "03005", "04002", "05001")


def _feature(code: str, sub: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    base = {
        "code": code,
        "major_class": sub[:2],
        "sub_class": sub,
        "name": "部件",
        "department": "区城市管理局",
        "owner": None,
        "maintainer": "区市政养护所",
        "status": "intact",
        "status_name": "完好",
        "install_date": "2020-05-01",
    }
    return {"type": "Feature", "id": code, "geometry": geometry, "properties": base | props}


def sample_data(*, points: int = 40, matched: int | None = None) -> ComponentMapData:
    """``points`` points of every major class near one corner, a rail line, a green polygon.

    The bounds reach a few hundred metres around the district, so the page opens below the
    zoom where markers stop clustering.
    """
    features = []
    for i in range(points):
        sub = SUB_CLASSES[i % len(SUB_CLASSES)]
        lon, lat = WEST + 0.0002 + 0.00001 * (i % 7), SOUTH + 0.0002 + 0.00001 * (i // 7)
        point = {"type": "Point", "coordinates": [lon, lat]}
        features.append(_feature(f"530114{sub}{i + 1:06d}", sub, point))
    features[0]["properties"].update(name="<b>路灯</b>", owner="A&B 公司")
    line = [[WEST + 0.5 * DX, SOUTH + DY], [WEST + 1.5 * DX, SOUTH + DY]]
    features.append(
        _feature(
            "53011402017900001",
            "02017",
            {"type": "LineString", "coordinates": line},
            name="交通护栏",
            status="damaged",
            status_name="破损",
        )
    )
    w, s = WEST + 2.2 * DX, SOUTH + 0.5 * DY
    ring = [[w, s], [w + 0.5 * DX, s], [w + 0.5 * DX, s + 0.5 * DY], [w, s + 0.5 * DY], [w, s]]
    features.append(
        _feature("53011404013900001", "04013", {"type": "Polygon", "coordinates": [ring]})
    )
    counts: dict[str, int] = {}
    for f in features:
        counts[f["properties"]["major_class"]] = counts.get(f["properties"]["major_class"], 0) + 1
    _, streets, _ = sample_district()
    return ComponentMapData(
        components={"type": "FeatureCollection", "features": features},
        matched=len(features) if matched is None else matched,
        major_classes=counts,
        sub_classes=[(sub, 8) for sub in SUB_CLASSES] + [("04013", 1)],
        streets=streets,
        bounds=(WEST - 3 * DX, SOUTH - 2 * DY, WEST + 6 * DX, SOUTH + 4 * DY),
        filters={},
    )


def render(data: ComponentMapData, **kwargs: Any) -> str:
    return build_components_map(data, load_catalogue(), **kwargs).get_root().render()


def test_page_loads_nothing_from_outside() -> None:
    html = render(sample_data(), title="呈贡区")
    assert find_external_urls(html) == []
    for path in ("leaflet/leaflet.js", "leaflet.markercluster/leaflet.markercluster.js"):
        assert f'"/static/vendor/{path}"' in html


def test_asset_base_prefixes_every_asset() -> None:
    assets = re.findall(r'(?:src|href)="([^"]+)"', render(sample_data(), asset_base="/gg/static"))
    assert assets
    assert all(url.startswith("/gg/static/vendor/") for url in assets), assets


def test_legend_form_count_and_popup_labels_are_chinese() -> None:
    html = render(sample_data(), title="呈贡区")
    for text in (
        "管理部件 · 呈贡区",
        "图例 · 部件大类",
        "市政公用设施",
        "交通设施",
        "市容环卫设施",
        "园林绿化设施",
        "其他管理部件",
        "部件筛选",
        "大类",
        "小类",
        "状态",
        "街道",
        "显示 42 个部件",
        'action="/maps/components"',
        '<option value="01037">01037 路灯（8）</option>',
        '<option value="damaged">破损</option>',
        '<option value="530114002">乌龙街道</option>',
    ):
        assert text in html, text
    assert "部件过多" not in html
    labels = ["部件编码", "小类", "名称", "主管部门", "权属单位", "养护单位", "状态", "安装日期"]
    assert f"var labels = {json.dumps(labels)};" in html
    for colour in MAJOR_COLOURS.values():
        assert colour in html


def test_a_capped_page_says_so_and_keeps_the_chosen_filters() -> None:
    data = sample_data(points=10, matched=25_000)
    chosen = ComponentMapData(
        **{**data.__dict__, "filters": {"sub_class": "01037", "street": "530114001", "grid": "x"}}
    )
    html = render(chosen)
    assert "部件过多，仅显示前 12 个，请按街道或小类筛选。" in html
    assert "显示 12 个部件（共 25,000 个）" in html
    assert '<option value="01037" selected>' in html
    assert '<option value="530114001" selected>' in html
    assert '<input type="hidden" name="grid" value="x">' in html


def test_popup_texts_are_escaped() -> None:
    html = render(sample_data())
    assert "<b>路灯</b>" not in html
    assert "\\u0026lt;b\\u0026gt;" in html or "&lt;b&gt;" in html
    assert "A\\u0026amp;B" in html or "A&amp;B" in html


def test_an_empty_inventory_gives_a_page_with_a_notice() -> None:
    _, streets, _ = sample_district()
    empty = ComponentMapData(
        {"type": "FeatureCollection", "features": []}, 0, {}, [], streets, None, {}
    )
    html = render(empty)
    assert "数据库中还没有部件" in html and "显示 0 个部件" in html
    assert find_external_urls(html) == []


@pytest.mark.browser
def test_page_draws_clusters_lines_and_polygons_offline(site: Any) -> None:
    build_components_map(sample_data(), load_catalogue(), title="呈贡区").save(
        str(site.root / "components.html")
    )

    result = render_page(f"{site.url}/components.html", out_png=site.root / "components.png")

    assert result.console_errors == []
    assert result.failed_loads == []
    assert find_external_urls(result.dom) == []
    assert "marker-cluster" in result.dom  # the 40 nearby points form cluster icons
    assert count_leaflet_paths(result.dom) >= 2  # the rail line and the green polygon
    assert f'stroke="{MAJOR_COLOURS["02"]}"' in result.dom
    assert f'fill="{MAJOR_COLOURS["04"]}"' in result.dom
    assert 'class="gg-legend leaflet-control"' in result.dom
    assert 'class="gg-query leaflet-control"' in result.dom
    for name in LAYER_NAMES.values():
        assert name in result.dom, name  # in the layer control
