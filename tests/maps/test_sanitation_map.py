"""The sanitation map page (环卫作业图): from plain data, offline, in Chromium, and served.

The plain page: two companies' areas over the map tests' district (``tests/maps``), three
road segments (swept 95 %, 45 %, and one not due), two vehicle tracks and two open cases (one
overdue). The served page: the hand-made territory with the sanitation data of
``tests/sanitation/data.py`` and a sweeper that swept 60 % of the main road on 2026-10-09.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.sanitation import TrackerSpec
from geogrid.sanitation.mapdata import SanitationMapData, sanitation_map_data
from geogrid.settings import Settings
from maps.assets import find_external_urls
from maps.sanitation import (
    KIND_COLOURS,
    LAYER_NAMES,
    NOT_DUE_COLOUR,
    OVERDUE_COLOUR,
    SHARE_CLASSES,
    build_sanitation_map,
    share_colour,
)
from tests.browser import count_leaflet_paths, render_page
from tests.credentials import ADMIN
from tests.maps import DX, DY, SOUTH, WEST
from tests.sanitation.data import drive, load_sanitation, send_fixes

DAY = date(2026, 10, 9)


def at(x: float, y: float) -> list[float]:
    return [round(WEST + x * DX, 7), round(SOUTH + y * DY, 7)]


def feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [at(x, y) for x, y in points]}


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def sample_data() -> SanitationMapData:
    area = {"sweeps_main": 2, "sweeps_secondary": 1, "sweeps_alley": 1}
    segment = {"road_class": "main", "length_m": 300.0, "required": 2}
    return SanitationMapData(
        day=DAY,
        company=None,
        companies=[("HW1", "城洁环卫有限公司"), ("HW2", "<b>绿源</b>环卫")],
        areas=collection(
            feature(square(0, 0, 2, 2), id="N", name="龙城保洁区", company_id="HW1",
                    company="城洁环卫有限公司", **area),
            feature(square(2, 0, 3, 2), id="S", name="乌龙保洁区", company_id="HW2",
                    company="<b>绿源</b>环卫", **area),
        ),
        segments=collection(
            feature(line((0, 1.5), (2, 1.5)), id="N-0001", road_name="彩云路", due=True,
                    swept_share=95.0, sweeps=2, status="done", company="城洁环卫有限公司",
                    **segment),
            feature(line((0, 0.5), (2, 0.5)), id="N-0002", road_name="春融街", due=True,
                    swept_share=45.0, sweeps=0, status="missed", company="城洁环卫有限公司",
                    **segment),
            feature(line((2.5, 0), (2.5, 2)), id="S-0001", road_name="云桥一巷", due=False,
                    company="<b>绿源</b>环卫", road_class="alley", length_m=200.0, required=1),
        ),
        tracks=collection(
            feature(line((0, 1.45), (2, 1.45)), tracker_id="V1", name="云A·D0001",
                    kind="sweeper", company="城洁环卫有限公司", fixes=120,
                    start="2026-10-09T07:00:00+08:00", end="2026-10-09T07:10:00+08:00"),
            feature(line((0, 0.55), (1, 0.55)), tracker_id="B1", name="乌龙一组", kind="crew",
                    company="<b>绿源</b>环卫", fixes=40, start="2026-10-09T08:00:00+08:00",
                    end="2026-10-09T08:20:00+08:00"),
        ),
        cases=collection(
            feature({"type": "Point", "coordinates": at(0.5, 1.2)}, case_id="C1",
                    sub_class="06010", sub_class_name="暴露垃圾", department="城洁环卫有限公司",
                    registered_at="2026-10-08T09:00:00+08:00",
                    due_at="2026-10-09T09:00:00+08:00", overdue=True),
            feature({"type": "Point", "coordinates": at(1.5, 0.8)}, case_id="C2",
                    sub_class="06012", sub_class_name="道路不洁", department="城洁环卫有限公司",
                    registered_at="2026-10-09T16:00:00+08:00",
                    due_at="2026-10-10T11:00:00+08:00", overdue=False),
        ),
        totals={"segments": 2, "length_km": 0.6, "swept_share": 70.0, "fulfilment": 60.0,
                "done": 1, "short": 0, "missed": 1},
        latest_day=date(2026, 10, 10),
    )  # fmt: skip


def render(data: SanitationMapData, **kwargs: Any) -> str:
    return build_sanitation_map(data, **kwargs).get_root().render()


def shows(html: str, text: str) -> bool:
    return text in html or json.dumps(text)[1:-1] in html


def styles_of(html: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The style Leaflet gives each feature: folium writes a ``switch`` on feature ids."""
    for body in re.findall(
        r"_styler\(feature\) \{\s*switch\(feature\.id\) \{(.*?)\n\s*\}", html, re.S
    ):
        if not any(f'"{i}"' in body for i in ids):
            continue
        styles: dict[str, dict[str, Any]] = {}
        default: dict[str, Any] = {}
        for cases, style in re.findall(
            r"((?:case \"[^\"]+\": )+|default:)\s*return (\{.*?\});", body
        ):
            named = re.findall(r'case "([^"]+)"', cases)
            if not named:
                default = json.loads(style)
            for i in named:
                styles[i] = json.loads(style)
        return {i: styles.get(i, default) for i in ids}
    raise AssertionError(f"no styles for {ids}")


def test_share_classes() -> None:
    assert share_colour(100) == share_colour(90) == SHARE_CLASSES[0].colour
    assert share_colour(89.99) == SHARE_CLASSES[1].colour
    assert share_colour(0) == SHARE_CLASSES[-1].colour
    assert share_colour(None) == NOT_DUE_COLOUR


def test_page_shows_areas_shares_tracks_cases_with_chinese_labels() -> None:
    html = render(sample_data(), title="呈贡区")
    for text in (
        "环卫作业图 · 呈贡区",
        "图例 · 清扫覆盖",
        "查询条件",
        "作业日期",
        "环卫公司",
        'name="date" value="2026-10-09"',
        '<option value="HW1">城洁环卫有限公司（HW1）</option>',
        "清扫覆盖率",
        "70.00%",
        "达标 / 遍数不足 / 漏扫",
        "1 / 0 / 1",
        "未结环卫案件（2 件）",
        "路段清扫覆盖（3 段）",
        "作业轨迹 · 2026-10-09（2 段）",
        "已扫 ≥ 90%",
        "不在作业期",
        "扫路车轨迹（段）",
        "保洁班组轨迹（段）",
        "未结案件（超期）",
        "最新定位日期为 2026-10-10。",
    ):
        assert shows(html, text), text
    assert shows(html, "06010 暴露垃圾") and shows(html, "07:00–07:10")
    aliases = [
        "路段",
        "路段编号",
        "道路等级",
        "环卫公司",
        "长度",
        "清扫覆盖率",
        "完成/应扫遍数",
        "状态",
    ]
    assert f"let aliases = {json.dumps(aliases)};" in html
    swept = list(styles_of(html, ["s0", "s1", "s2"]).values())
    colours = {s["color"] for s in swept}
    assert colours == {SHARE_CLASSES[0].colour, SHARE_CLASSES[2].colour, NOT_DUE_COLOUR}
    assert any(s.get("dashArray") for s in swept)  # the segment not due
    assert styles_of(html, ["t0", "t1"])["t0"]["color"] == KIND_COLOURS["sweeper"]
    assert styles_of(html, ["c0", "c1"])["c0"]["fillColor"] == OVERDUE_COLOUR


def test_names_are_escaped_and_nothing_comes_from_outside() -> None:
    html = render(sample_data())
    assert "<b>绿源</b>" not in html
    assert find_external_urls(html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', render(sample_data(), asset_base="/g/static"))
    assert assets and all(a.startswith("/g/static/vendor/") for a in assets)


def test_an_empty_page_says_what_is_missing() -> None:
    empty = SanitationMapData(DAY, None, [], *(collection() for _ in range(4)))
    html = render(empty)
    assert "还没有登记环卫公司" in html and "2026-10-09 没有车辆或班组的定位数据" in html


@pytest.mark.browser
def test_chromium_draws_the_page_offline(site: Any) -> None:
    build_sanitation_map(sample_data(), title="呈贡区").save(str(site.root / "sanitation.html"))

    result = render_page(f"{site.url}/sanitation.html", out_png=None)

    assert result.console_errors == []
    assert result.failed_loads == []
    assert find_external_urls(result.dom) == []
    assert count_leaflet_paths(result.dom) >= 2 + 3 + 2 + 2  # areas, segments, tracks, cases
    assert 'class="gg-legend leaflet-control"' in result.dom
    assert 'class="gg-query leaflet-control"' in result.dom
    for name in LAYER_NAMES.values():
        assert name in result.dom, name  # in the layer control


# --- the page served by the app over PostGIS -------------------------------------------------


@pytest.fixture
def swept(territory_engine: Engine) -> Engine:
    load_sanitation(
        territory_engine, trackers=[TrackerSpec("V1", "HW1", "sweeper", "云A·D0001", "GPS-V1")]
    )
    send_fixes(territory_engine, drive("V1", "2026-10-09", "07:00:00", np.arange(0, 241, 12), 152))
    return territory_engine


@pytest.fixture
def client(swept: Engine) -> Iterator[TestClient]:
    url = swept.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url)), headers=ADMIN) as c:
        yield c


def test_data_of_a_day(swept: Engine) -> None:
    with swept.connect() as conn:
        data = sanitation_map_data(conn, DAY)
    props = {f["properties"]["id"]: f["properties"] for f in data.segments["features"]}
    assert props["N-0001"]["swept_share"] == pytest.approx(60.0, abs=0.01)
    assert props["S-0001"]["swept_share"] == 0.0
    assert [f["properties"]["tracker_id"] for f in data.tracks["features"]] == ["V1"]
    assert data.latest_day == DAY and data.totals["segments"] == 2


def test_page_is_served_for_the_newest_day_with_fixes(client: TestClient) -> None:
    res = client.get("/maps/sanitation")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    for text in ("环卫作业图 · 呈贡区", 'name="date" value="2026-10-09"', "作业轨迹 · 2026-10-09"):
        assert shows(html, text), text
    one = client.get("/maps/sanitation", params={"date": "2026-10-09", "company": "HW2"}).text
    assert '<option value="HW2" selected>' in one and not shows(one, "云A·D0001")
    assert find_external_urls(html) == []
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [({"date": "2026-13-01"}, 400, "'date'"), ({"company": "HW9"}, 404, "HW9")],
)
def test_bad_parameters_are_refused_clearly(
    client: TestClient, params: dict[str, str], status: int, named: str
) -> None:
    res = client.get("/maps/sanitation", params=params)
    assert res.status_code == status and named in res.json()["message"]
