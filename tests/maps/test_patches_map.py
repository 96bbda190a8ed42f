"""The patch map page (图斑核查图) and its imagery tiles: plain data, PostGIS over HTTP, Chromium.

Over the hand-made territory the batch of ``tests/satellite/scenario.py`` (nine patches with
known verdicts, a before and an after image of 2 m pixels) is imported, handled and verified.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import morecantile
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.satellite import verify_batch
from geogrid.satellite.mapdata import ImageryLayer, PatchMapData
from geogrid.settings import Settings
from maps.assets import find_external_urls
from maps.patches import (
    IMAGE_LAYER_NAMES,
    VERDICT_COLOURS,
    VERDICT_LABELS,
    build_patches_map,
    tile_url,
)
from tests.browser import count_leaflet_paths, render_page
from tests.credentials import ADMIN
from tests.maps import DX, DY, SOUTH, WEST, sample_district
from tests.maps.test_coverage_map import grid_styles, shows
from tests.satellite.data import lonlat
from tests.satellite.scenario import BATCH, EXPECTED, NOW, build

TMS = morecantile.tms.get("WebMercatorQuad")

# --- a page from plain data (no database) ---------------------------------------------------


def _square(col: float, row: float) -> dict[str, Any]:
    """A patch of a fifth of a grid, at (col, row) grids from the south-west corner."""
    west, south = WEST + col * DX, SOUTH + row * DY
    ring = [(west, south), (west + DX / 5, south), (west + DX / 5, south + DY / 5)]
    ring += [(west, south + DY / 5), (west, south)]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def sample_data() -> PatchMapData:
    """One patch of each verdict and one never checked; P1 without imagery over it."""
    _, streets, _ = sample_district()
    verdicts = [*VERDICT_COLOURS]
    features = []
    for i, verdict in enumerate(verdicts):
        props = {
            "id": 100 + i,
            "patch_code": f"P{i}" if i else "<b>P0</b>",
            "change_type": "dust_source" if i % 2 else "building",
            "area_m2": 400.0 + i,
            "grid_code": "530114001001001",
            "street_code": "530114001",
            "street_name": "龙城街道",
            "department": "区住房和城乡建设局",
            "due_at": "2026-06-08T10:00:00+08:00",
            "closed_at": None,
            "overdue": i == 2,
            "handling_state": "documents" if verdict == "documents_only" else "on_site",
            "verdict": None if verdict == "unchecked" else verdict,
            "imaged": i != 1,
            "figures": {}
            if verdict == "unchecked"
            else {"before_valid_share": 1.0, "after_valid_share": 0.5, "bare_soil_drop": 0.2},
        }
        geometry = _square(0.2 + (i % 3) * 0.3, 1.2 + (i // 3) * 0.4)
        features.append(
            {"type": "Feature", "id": 100 + i, "geometry": geometry, "properties": props}
        )
    imagery = [
        ImageryLayer("before", [[SOUTH, WEST], [SOUTH + 2 * DY, WEST + 3 * DX]], 17, 1.0, None),
        ImageryLayer(
            "after", [[SOUTH, WEST], [SOUTH + 2 * DY, WEST + 3 * DX]], 17, 1.0, "2026-06-25"
        ),
    ]
    district = {
        "patches": 6,
        "due": 6,
        "on_site": 5,
        "documents": 1,
        "pending": 0,
        "overdue": 1,
        "dust_area_covered_m2": 401.0,
        "documents_share": 16.67,
        "points": 6.0,
        "deduction": 0.0,
        "score": 6.0,
    }
    return PatchMapData(
        batch_id="2026-06",
        patches={"type": "FeatureCollection", "features": features},
        streets=streets,
        imagery=imagery,
        scores={"district": district, "streets": [], "batches": ["2026-06"]},
        batches=[("2026-06", 6), ("2026-05", 3)],
    )


def render(data: PatchMapData, **kwargs: Any) -> str:
    return build_patches_map(data, **kwargs).get_root().render()


def test_page_colours_patches_by_verdict_with_a_chinese_legend() -> None:
    html = render(sample_data(), title="呈贡区")
    for text in (
        "图斑核查图 · 呈贡区",
        "图例 · 核查结论",
        *VERDICT_LABELS.values(),
        "图斑批次",
        '<option value="2026-06" selected>2026-06（6 个图斑）</option>',
        '<option value="2026-05">2026-05（3 个图斑）</option>',
        "卫星遥感监测得分",
        "6 / 6（扣 0）",
        "图斑（6 个）",
        "街道边界",
        "处置后影像（2026-06-25）",
        "处置前影像",
    ):
        assert shows(html, text), text
    styles = grid_styles(html, [str(100 + i) for i in range(6)])
    for i, colour in enumerate(VERDICT_COLOURS.values()):
        assert styles[str(100 + i)]["fillColor"] == colour
    assert list(VERDICT_LABELS.values()) == [
        "已核实",
        "现场核实",
        "未整改",
        "材料结案",
        "无法判定",
        "未核查",
    ]


def decoded(html: str) -> str:
    """The page with the JSON escapes of its scripts undone (``\\u003c`` → ``<``, ``\\"``)."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    return text.replace('\\"', '"')


def test_popups_show_chips_and_figures_escaped() -> None:
    page = decoded(render(sample_data()))
    assert '<img class="gg-chips" src="/patches/100/chips.png"' in page
    assert "/patches/101/chips.png" not in page  # no image covers P1
    assert "<b>P0</b>" not in page and "图斑 &lt;b&gt;P0&lt;/b&gt; · 房屋建筑变化" in page
    for text in (
        "<th>核查结论</th>",
        "处置后影像显示变化已消除",
        "<th>处置后影像有效像元</th><td>50%</td>",
        "<th>裸土指数下降</th><td>0.200</td>",
        "<th>面积</th><td>400.0 m²</td>",
        "<th>是否超期</th><td>是</td>",
    ):
        assert text in page, text


def test_imagery_is_tiled_by_the_app_inside_its_footprint() -> None:
    html = render(sample_data(), api_base="/geogrid")
    url = tile_url("2026-06", "after", api_base="/geogrid")
    assert url == "/geogrid/patch-batches/2026-06/imagery/after/tiles/{z}/{x}/{y}.png"
    assert f'"{url}"' in html
    compact = re.sub(r"\s+", "", html)
    for option in (
        '"minZoom":10',
        '"maxNativeZoom":17',
        '"bounds":[[24.88,102.8,],[24.8818,102.803,],]',
    ):
        assert option in compact, option
    assert find_external_urls(html) == []
    assert '"/static/vendor/leaflet/leaflet.js"' in html


def test_a_page_without_batches_says_so() -> None:
    _, streets, _ = sample_district()
    empty = PatchMapData(None, {"type": "FeatureCollection", "features": []}, streets)
    html = render(empty)
    assert "还没有图斑批次" in html and "无图斑批次" in html
    assert "/tiles/{z}" not in html


# --- the page and the tiles served by the app over PostGIS -----------------------------------


@pytest.fixture
def verified(territory_engine: Engine, tmp_path: Path) -> Engine:
    """The scenario batch, imaged, handled and verified (verdicts as ``EXPECTED``)."""
    build(territory_engine, tmp_path)
    with territory_engine.begin() as conn:
        verify_batch(conn, BATCH, now=NOW)
    return territory_engine


@pytest.fixture
def client(verified: Engine) -> Iterator[TestClient]:
    url = verified.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url)), headers=ADMIN) as c:
        yield c


def _tile(x_m: float, y_m: float, z: int) -> tuple[int, int, int]:
    """The tile at zoom z holding the point (x, y) metres from the territory's corner."""
    t = TMS.tile(*lonlat(x_m, y_m), z)
    return t.z, t.x, t.y


def test_page_is_served_with_verdicts_and_every_asset(client: TestClient) -> None:
    res = client.get("/maps/patches")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert shows(html, f"批次 {BATCH} · 图斑 9 个") and "呈贡区" in html
    assert tile_url(BATCH, "after") in html and tile_url(BATCH, "before") in html
    assert find_external_urls(html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(client.get(a).status_code == 200 for a in assets)
    codes = re.findall(r'"id": "(\d+)"', html)
    styles = grid_styles(html, codes)
    fills = sorted(s["fillColor"] for s in styles.values())
    assert fills == sorted(VERDICT_COLOURS[v] for v in EXPECTED.values())
    assert client.get("/maps/patches", params={"batch": "1999-01"}).status_code == 404


def test_tiles_inside_and_outside_the_image(client: TestClient) -> None:
    z, x, y = _tile(30, 130, 18)  # inside TB1
    url = f"/patch-batches/{BATCH}/imagery/after/tiles/{z}/{x}/{y}.png"
    res = client.get(url)
    assert res.status_code == 200 and res.headers["content-type"] == "image/png"
    assert "max-age" in res.headers["cache-control"] and res.headers["etag"]
    tile = Image.open(io.BytesIO(res.content))
    assert tile.size == (256, 256) and tile.mode == "RGBA"
    assert tile.getextrema()[3][1] == 255  # opaque pixels where the image has data
    again = client.get(url, headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    before = client.get(url.replace("/after/", "/before/"))
    assert before.status_code == 200 and before.content != res.content
    assert before.headers["etag"] != res.headers["etag"]

    far = TMS.tile(100.0, 20.0, 18)
    out = client.get(f"/patch-batches/{BATCH}/imagery/after/tiles/18/{far.x}/{far.y}.png")
    assert out.status_code == 204 and out.content == b""
    assert client.get(url.replace("/after/", "/reference/")).status_code == 404
    assert client.get(url.replace("/after/", "/later/")).status_code in (400, 422)
    bad = client.get(f"/patch-batches/{BATCH}/imagery/after/tiles/3/9/0.png")
    assert bad.status_code == 400 and "3/9/0" in bad.json()["message"]
    assert client.get("/patch-batches/nope/imagery/after/tiles/1/0/0.png").status_code == 404


# --- in Chromium, against the app on a real port ----------------------------------------------


@pytest.fixture
def live_url(verified: Engine) -> Iterator[str]:
    """The app served by uvicorn in its own process on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "GEOGRID_DATABASE_URL": verified.url.render_as_string(hide_password=False),
        "GEOGRID_PUBLIC_READ": "1",  # Chromium reads anonymously
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.browser
def test_chromium_draws_patches_and_the_after_image_offline(live_url: str, tmp_path: Path) -> None:
    result = render_page(f"{live_url}/maps/patches", out_png=tmp_path / "patches.png")

    assert result.console_errors == []
    assert result.failed_loads == []
    assert find_external_urls(result.dom) == []
    tiles = [u for u in result.requests if f"/patch-batches/{BATCH}/imagery/" in u]
    assert tiles and all("/imagery/after/tiles/" in u for u in tiles)  # only the shown layer
    assert count_leaflet_paths(result.dom) >= 9
    for colour in {VERDICT_COLOURS[v] for v in EXPECTED.values()}:
        assert f'fill="{colour}"' in result.dom, colour
    assert 'class="gg-legend leaflet-control"' in result.dom
    assert 'class="gg-query leaflet-control"' in result.dom
    for label in (*VERDICT_LABELS.values(), IMAGE_LAYER_NAMES["before"], "街道边界"):
        assert label in result.dom, label
    assert 'class="leaflet-tile leaflet-tile-loaded"' in result.dom or "leaflet-tile-loaded" in (
        result.dom
    )
