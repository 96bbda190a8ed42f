"""The patrol coverage page (巡查覆盖图): from PostGIS over HTTP, offline, and in Chromium.

Over the hand-made territory (``tests/territory.py``) 张三 (S1) holds A1-1, A1-2 and B1-1 and
李四 (S2) holds A2-1. On 2026-10-09 张三 walks inside A1-1 for 40 s, stops for ten minutes,
walks 20 s more (two segments), and sends one fix of poor accuracy and one from Wi-Fi: A1-1
is patrolled, the three other assigned grids are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.patrol.fixes import parse_fixes, store_fixes
from geogrid.patrol.mapdata import (
    CoverageMapData,
    coverage_map_data,
    coverage_period,
    merge_visits,
    summarise_visits,
)
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from geogrid.settings import Settings
from maps.assets import find_external_urls
from maps.coverage import (
    LAYER_NAMES,
    NEVER_OUTLINE,
    TRACK_COLOUR,
    UNASSIGNED_COLOUR,
    ZERO_COLOUR,
    build_coverage_map,
    visit_classes,
    visit_colour,
)
from tests.browser import count_leaflet_paths, render_page
from tests.cases_data import lonlat
from tests.credentials import ADMIN
from tests.maps import DX, DY, SOUTH, WEST, sample_district

A11, A12, A21, B11 = "530114001001001", "530114001001002", "530114001002001", "530114002001001"
DAY = date(2026, 10, 9)


# --- a page from plain data (no database) ---------------------------------------------------


def sample_data() -> CoverageMapData:
    """A week over the six grids of ``tests/maps``: 张三 holds three, 李四 two, one unassigned.

    张三's track of the last day has two line segments, a segment of one fix and two flagged
    fixes.
    """
    grids, streets, _ = sample_district()
    row = {"never_patrolled": False}
    rows = [
        {**row, "supervisor_id": "S1", "grid_code": "530114001001001", "visits": 7},
        {**row, "supervisor_id": "S1", "grid_code": "530114001001002", "visits": 2},
        {**row, "supervisor_id": "S1", "grid_code": "530114001002001", "visits": 0},
        {**row, "supervisor_id": "S2", "grid_code": "530114002001001", "visits": 5},
        {**row, "supervisor_id": "S2", "grid_code": "530114002001002", "visits": 0},
    ]
    for r in rows:
        r.update(days_assigned=7, dwell_s=600.0 * r["visits"])
    names = {"S1": "张三", "S2": "<b>李四</b>"}

    def at(x: float, y: float) -> list[float]:
        return [round(WEST + x * DX, 7), round(SOUTH + y * DY, 7)]

    def segment(coords: list[list[float]], start: str, end: str, fixes: int) -> dict[str, Any]:
        kind = "LineString" if len(coords) > 1 else "Point"
        geometry = {"type": kind, "coordinates": coords if len(coords) > 1 else coords[0]}
        props = {"kind": "segment", "fixes": fixes, "seconds": 40}
        props |= {"start": f"2026-10-09T{start}+08:00", "end": f"2026-10-09T{end}+08:00"}
        return {"type": "Feature", "geometry": geometry, "properties": props}

    def flagged(x: float, y: float, clock: str, flags: list[str]) -> dict[str, Any]:
        props = {"kind": "flagged", "fixed_at": f"2026-10-09T{clock}+08:00", "flags": flags}
        props |= {"accuracy_m": 180.0, "source": "wifi"}
        geometry = {"type": "Point", "coordinates": at(x, y)}
        return {"type": "Feature", "geometry": geometry, "properties": props}

    track = {
        "type": "FeatureCollection",
        "features": [
            segment([at(0.2, 1.5), at(0.8, 1.5)], "09:00:00", "09:00:40", 5),
            segment([at(1.2, 1.5), at(1.5, 1.8)], "09:10:00", "09:10:20", 3),
            segment([at(1.6, 1.2)], "09:30:00", "09:30:00", 1),
            flagged(0.5, 1.3, "09:05:00", ["inaccurate", "network"]),
            flagged(0.6, 1.3, "09:06:00", ["speed"]),
        ],
    }
    return CoverageMapData(
        first=date(2026, 10, 3),
        last=DAY,
        grids=merge_visits(grids, rows, names),
        visits=rows,
        streets=streets,
        supervisors=list(names.items()),
        supervisor="S1",
        track_day=DAY,
        track=track,
        latest_day=DAY,
    )


def render(data: CoverageMapData, **kwargs: Any) -> str:
    return build_coverage_map(data, **kwargs).get_root().render()


def shows(html: str, text: str) -> bool:
    """Whether the page holds ``text``, in HTML or JSON-escaped in a script (layer names)."""
    return text in html or json.dumps(text)[1:-1] in html


def grid_styles(html: str, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The style Leaflet gives each grid: folium writes a ``switch`` on feature ids."""
    for body in re.findall(
        r"_styler\(feature\) \{\s*switch\(feature\.id\) \{(.*?)\n\s*\}", html, re.S
    ):
        if not any(f'"{code}"' in body for code in codes):
            continue
        styles: dict[str, dict[str, Any]] = {}
        default: dict[str, Any] = {}
        for cases, style in re.findall(
            r"((?:case \"[^\"]+\": )+|default:)\s*return (\{.*?\});", body
        ):
            ids = re.findall(r'case "([^"]+)"', cases)
            if not ids:
                default = json.loads(style)
            for i in ids:
                styles[i] = json.loads(style)
        return {code: styles.get(code, default) for code in codes}
    raise AssertionError("no grid styles in the page")


def test_visit_classes_scale_with_the_period() -> None:
    labels = [c.label for c in visit_classes(7)]
    assert labels == ["未巡查（0 天）", "1 天", "2–3 天", "4–6 天", "7 天"]
    assert [c.label for c in visit_classes(1)] == ["未巡查（0 天）", "1 天"]
    assert [c.label for c in visit_classes(30)][1:] == ["1–4 天", "5–12 天", "13–25 天", "26–30 天"]
    week = visit_classes(7)
    assert visit_colour(0, week) == ZERO_COLOUR
    assert visit_colour(3, week) == week[2].colour != visit_colour(4, week)


def test_summary_counts_grids_once_and_grid_days_per_supervisor() -> None:
    rows = [
        {"supervisor_id": "S1", "grid_code": A11, "days_assigned": 3, "visits": 1},
        {"supervisor_id": "S2", "grid_code": A11, "days_assigned": 3, "visits": 0},
        {"supervisor_id": "S2", "grid_code": A12, "days_assigned": 3, "visits": 0},
    ]
    s = summarise_visits(rows)
    assert (s.assigned, s.patrolled, s.never_patrolled) == (2, 1, 1)
    # 1 patrolled grid-day of 9 assigned; 1 of 2 grids visited at least once
    assert s.coverage_rate == pytest.approx(11.11) and s.patrolled_share == 50.0
    assert summarise_visits([]).coverage_rate is None


def test_default_period_is_the_last_day_with_fixes() -> None:
    today = date(2026, 11, 1)
    assert coverage_period(None, None, latest=DAY, today=today) == (DAY, DAY)
    assert coverage_period(None, None, latest=None, today=today) == (date(2026, 10, 31),) * 2
    assert coverage_period(DAY, None, latest=None, today=today) == (DAY, DAY)


def test_page_shows_visits_red_outlines_track_and_chinese_labels() -> None:
    html = render(sample_data(), title="呈贡区")
    for text in (
        "巡查覆盖图 · 呈贡区",
        "图例 · 巡查天数",
        "未巡查（0 天）",
        "2–3 天",
        "其他网格",  # a supervisor is chosen: grey grids are not theirs
        "查询条件",
        "开始日期",
        "结束日期",
        "轨迹日期",
        "巡查覆盖率",
        "60.00%",  # 3 of 5 assigned grids patrolled at least once
        "2026-10-03 至 2026-10-09（7 天）",
        'action="/maps/coverage"',
        'name="from" value="2026-10-03"',
        'name="track_date" value="2026-10-09"',
        '<option value="S1" selected>张三（S1）</option>',
        "巡查轨迹 · 张三（3 段）",
        "异常定位点（2 个）",
    ):
        assert shows(html, text), text
    aliases = ["网格编码", "网格名称", "社区", "街道", "监督员", "巡查天数/在岗天数", "停留时长"]
    assert f"let aliases = {json.dumps(aliases)};" in html
    assert shows(html, "精度差、网络定位") and shows(html, "速度异常")
    assert shows(html, "09:00:00–09:00:40")
    styles = grid_styles(html, ["530114001001001", "530114001001002", "530114001002001"])
    week = visit_classes(7)
    assert styles["530114001001001"]["fillColor"] == week[-1].colour  # 7 days
    assert styles["530114001001002"]["fillColor"] == week[2].colour  # 2 days
    never = styles["530114001002001"]
    assert never["color"] == NEVER_OUTLINE and never["weight"] == 3
    assert grid_styles(html, ["530114001002002"])["530114001002002"]["fillColor"] == (
        UNASSIGNED_COLOUR
    )


def test_names_are_escaped_and_nothing_comes_from_outside() -> None:
    html = render(sample_data())
    assert "<b>李四</b>" not in html
    assert find_external_urls(html) == []
    assert '"/static/vendor/leaflet/leaflet.js"' in html


def test_a_page_without_supervisors_says_so() -> None:
    grids, streets, _ = sample_district()
    empty = CoverageMapData(DAY, DAY, merge_visits(grids, [], {}), [], streets, [])
    html = render(empty)
    assert "还没有登记监督员" in html and "数据库中还没有定位数据" in html
    assert not shows(html, f"{LAYER_NAMES['track']} · ")


@pytest.mark.browser
def test_chromium_draws_grids_outlines_and_the_track_offline(site: Any) -> None:
    build_coverage_map(sample_data(), title="呈贡区").save(str(site.root / "coverage.html"))

    result = render_page(f"{site.url}/coverage.html", out_png=None)

    assert result.console_errors == []
    assert result.failed_loads == []
    assert find_external_urls(result.dom) == []
    assert count_leaflet_paths(result.dom) >= 6 + 3 + 2  # grids, segments, flagged fixes
    assert (
        len(re.findall(f'stroke="{NEVER_OUTLINE}" stroke-opacity="1" stroke-width="3"', result.dom))
        == 2
    )
    assert len(re.findall(f'<path[^>]*stroke="{TRACK_COLOUR}"[^>]*fill="none"', result.dom)) == 2
    assert 'class="gg-legend leaflet-control"' in result.dom
    assert 'class="gg-query leaflet-control"' in result.dom
    for name in LAYER_NAMES.values():
        assert name in result.dom, name  # in the layer control


# --- the page served by the app over PostGIS -------------------------------------------------


@pytest.fixture
def patrolled(territory_engine: Engine) -> Engine:
    """The territory with 张三 and 李四 and 张三's fixes of 2026-10-09 (see the module doc)."""
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [
                SupervisorSpec("S1", "张三", grids=(A11, A12, B11), valid_from=date(2026, 1, 1)),
                SupervisorSpec("S2", "李四", grids=(A21,), valid_from=date(2026, 1, 1)),
            ],
            shown="test",
        )
    rows: list[dict[str, object]] = []

    def fix(clock: str, dx: float, **extra: object) -> None:
        lon, lat = lonlat(A11, dx, 50)
        rows.append(
            {
                "supervisor_id": "S1",
                "timestamp": f"2026-10-09 {clock}",
                "lon": lon,
                "lat": lat,
                **extra,
            }
        )

    for i in range(5):  # 40 s inside A1-1
        fix(f"09:00:{10 * i:02d}", 20 + 10 * i)
    for i in range(3):  # after ten minutes, 20 s more
        fix(f"09:10:{10 * i:02d}", 60 - 10 * i)
    fix("09:10:30", 40, accuracy_m=200)
    fix("09:10:40", 30, source="wifi")
    frame = pd.DataFrame(rows).astype(object).fillna("").astype(str)
    with territory_engine.begin() as conn:
        fixes = parse_fixes(frame, supervisors={"S1", "S2"}, devices={})
        store_fixes(conn, fixes, district_code="530114")
    return territory_engine


@pytest.fixture
def client(patrolled: Engine) -> Iterator[TestClient]:
    url = patrolled.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url)), headers=ADMIN) as c:
        yield c


def test_data_merges_visits_and_reads_the_track(patrolled: Engine) -> None:
    with patrolled.connect() as conn:
        data = coverage_map_data(
            conn, DAY, DAY, supervisor="S1", track_day=None, tz="Asia/Shanghai"
        )
    grids = {f["properties"]["code"]: f["properties"] for f in data.grids["features"]}
    assert grids[A11]["visits"] == 1 and grids[A11]["dwell_s"] == pytest.approx(60, abs=1)
    assert grids[A11]["supervisors"][0]["name"] == "张三"
    assert grids[A12]["never_patrolled"] and grids[B11]["never_patrolled"]
    assert not grids[A21]["assigned"]  # 李四's grid: not the chosen supervisor's
    assert data.supervisors == [("S1", "张三"), ("S2", "李四")]
    assert data.track_day == DAY and data.latest_day == DAY
    assert data.track is not None
    kinds = [f["properties"]["kind"] for f in data.track["features"]]
    assert kinds == ["segment", "segment", "flagged", "flagged"]
    assert data.track["features"][0]["properties"]["start"] == "2026-10-09T09:00:00+08:00"


def test_page_is_served_with_the_last_day_with_fixes(client: TestClient) -> None:
    res = client.get("/maps/coverage")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    for text in (
        "巡查覆盖图 · 呈贡区",
        'name="from" value="2026-10-09"',
        'name="to" value="2026-10-09"',
        '<option value="S1">张三（S1）</option>',
        '<option value="S2">李四（S2）</option>',
        "25.00%",  # 1 of 4 assigned grids
        "选择监督员可查看其巡查轨迹",
        "未定岗网格",
    ):
        assert text in html, text
    assert not shows(html, f"{LAYER_NAMES['track']} · ")
    styles = grid_styles(html, [A11, A12, B11, A21, "530114002001002"])
    assert styles[A11]["fillColor"] == visit_classes(1)[1].colour
    assert all(styles[g]["color"] == NEVER_OUTLINE for g in (A12, B11, A21))
    assert styles["530114002001002"]["fillColor"] == UNASSIGNED_COLOUR


def test_chosen_supervisor_shows_the_track_split_at_the_gap(client: TestClient) -> None:
    form = {"from": "2026-10-08", "to": "2026-10-09", "supervisor": "S1", "track_date": ""}
    html = client.get("/maps/coverage", params=form).text
    assert '<option value="S1" selected>张三（S1）</option>' in html
    assert 'name="track_date" value="2026-10-09"' in html
    assert shows(html, "巡查轨迹 · 张三（2 段）") and shows(html, "异常定位点（2 个）")
    assert shows(html, "精度差") and shows(html, "网络定位")
    assert shows(html, "09:00:00–09:00:40") and shows(html, "09:10:00–09:10:20")
    other_day = client.get("/maps/coverage", params={**form, "track_date": "2026-10-08"}).text
    assert "张三（S1）在 2026-10-08 没有定位数据。" in other_day


def test_every_asset_of_the_page_is_served_by_the_app(client: TestClient) -> None:
    html = client.get("/maps/coverage", params={"supervisor": "S1"}).text
    assert find_external_urls(html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/vendor/") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(
    ("params", "status", "named"),
    [
        ({"from": "2026-13-01"}, 400, "'from'"),
        ({"to": "9.10."}, 400, "'to'"),
        ({"track_date": "yesterday", "supervisor": "S1"}, 400, "'track_date'"),
        ({"from": "2026-10-09", "to": "2026-10-08"}, 400, "'to'"),
        ({"from": "2026-07-01", "to": "2026-10-09"}, 400, "93 days"),
        ({"supervisor": "S9"}, 404, "S9"),
    ],
)
def test_bad_parameters_are_refused_clearly(
    client: TestClient, params: dict[str, str], status: int, named: str
) -> None:
    res = client.get("/maps/coverage", params=params)
    assert res.status_code == status
    body = res.json()
    assert set(body) == {"code", "message", "details"} and named in body["message"]


def test_a_kept_page_is_rebuilt_when_new_fixes_arrive(client: TestClient) -> None:
    params = {"from": "2026-10-09", "to": "2026-10-09"}
    first = client.get("/maps/coverage", params=params).text
    assert "25.00%" in first
    assert client.get("/maps/coverage", params=params).text == first  # kept
    fixes = []
    for i in range(5):  # 40 s inside A1-2
        lon, lat = lonlat(A12, 20 + 10 * i, 50)
        clock = f"2026-10-09 11:00:{10 * i:02d}"
        fixes.append({"supervisor_id": "S1", "timestamp": clock, "lon": lon, "lat": lat})
    assert client.post("/tracks", json={"fixes": fixes}).status_code == 200
    assert "50.00%" in client.get("/maps/coverage", params=params).text
