"""Satellite patches over HTTP: import, refusals, imagery, handling with photos, verification."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.settings import Settings
from tests.credentials import ADMIN
from tests.satellite.data import feature, jpeg, lonlat, square, write_image
from tests.satellite.scenario import (
    AFTER,
    BATCH,
    BEFORE,
    CST,
    DELIVERED,
    DISPATCHED,
    EXPECTED,
    HANDLED,
    PHOTO_TIME,
    add_fix,
    build_scored,
    patch_file,
)


class DataDirSettings(Settings):
    """The installation's settings with a data directory for uploaded imagery."""

    data_dir: Path


@pytest.fixture
def api(territory_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = DataDirSettings(
        database_url=territory_engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path / "data",
    )
    with TestClient(create_app(settings), headers=ADMIN) as c:
        yield c


def counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("patch_batches", "patches", "cases")
        )


def post_batch(client: TestClient, path: Path, batch: str = BATCH, **form: str) -> Any:
    with path.open("rb") as fh:
        return client.post(
            "/patch-batches",
            files={"file": (path.name, fh, "application/octet-stream")},
            data={
                "batch": batch,
                "delivered_at": DELIVERED.isoformat(),
                "dispatched_at": DISPATCHED.isoformat(),
                **form,
            },
        )


def geojson(tmp_path: Path, features: list[dict[str, Any]]) -> Path:
    path = tmp_path / "patches.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


BOWTIE = {
    "type": "Feature",
    "properties": {"patch_id": "TB2", "change_type": "building"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [102.85, 24.97],
                [102.851, 24.971],
                [102.851, 24.97],
                [102.85, 24.971],
                [102.85, 24.97],
            ]
        ],
    },
}


@pytest.mark.parametrize(
    ("features", "where", "rule"),
    [
        (
            [feature(square(10, 110), patch_id="TB1")],
            "layer 'patches', column change_type",
            "missing_column",
        ),
        (
            [feature(square(10, 110), patch_id="TB1", change_type="building"), BOWTIE],
            "feature 2 (patch TB2)",
            "invalid_geometry",
        ),
        (
            [feature(square(10, 110), patch_id="TB1", change_type="拆迁")],
            "feature 1 (patch TB1)",
            "unknown_change_type",
        ),
        (
            [feature((1000, 1000, 1040, 1040), patch_id="TB1", change_type="building")],
            "feature 1 (patch TB1)",
            "outside_district",
        ),
    ],
)
def test_bad_uploads_name_the_feature_and_write_nothing(
    api: TestClient,
    territory_engine: Engine,
    tmp_path: Path,
    features: list[dict[str, Any]],
    where: str,
    rule: str,
) -> None:
    before = counts(territory_engine)
    r = post_batch(api, geojson(tmp_path, features))
    assert r.status_code == 422, r.text
    assert (where, rule) in {(d["where"], d["rule"]) for d in r.json()["details"]}
    assert counts(territory_engine) == before


def test_not_a_zip_and_a_bad_batch_id(
    api: TestClient, territory_engine: Engine, tmp_path: Path
) -> None:
    broken = tmp_path / "patches.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    r = post_batch(api, broken)
    assert r.status_code == 422 and r.json()["details"][0]["rule"] == "unreadable"
    r = post_batch(api, patch_file(tmp_path), batch="../x")
    assert r.status_code == 400 and "batch id" in r.json()["message"]
    assert counts(territory_engine) == (0, 0, 0)


def wait(client: TestClient, url: str) -> dict[str, Any]:
    deadline = time.time() + 60
    while time.time() < deadline:
        job = client.get(url).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {url} did not finish")


def photo_part(x: float, y: float, name: str = "现场.jpg") -> tuple[str, tuple[str, bytes, str]]:
    lon, lat = lonlat(x, y)
    return ("photos", (name, jpeg(lon=lon, lat=lat, taken=PHOTO_TIME), "image/jpeg"))


def handle(client: TestClient, patch_id: int, kind: str, *photos: Any) -> Any:
    return client.post(
        f"/patches/{patch_id}/handling",
        data={"handling_type": kind, "handler": "张三", "handled_at": HANDLED.isoformat()},
        files=list(photos) or None,
    )


def test_end_to_end(api: TestClient, territory_engine: Engine, tmp_path: Path) -> None:
    r = post_batch(api, patch_file(tmp_path), vendor="测绘院")
    assert r.status_code == 201, r.text
    assert r.json()["figures"]["patches"] == 9
    assert post_batch(api, patch_file(tmp_path)).status_code == 422  # imported once

    (tmp_path / "data").mkdir(exist_ok=True)
    before = write_image(tmp_path / "data" / "before.tif", BEFORE)
    outside = write_image(tmp_path / "outside.tif", BEFORE)
    for path in (str(outside), "../outside.tif", "/etc/passwd"):
        r = api.post(f"/patch-batches/{BATCH}/imagery", data={"role": "before", "path": path})
        assert r.status_code == 400 and "data directory" in r.json()["message"], r.text
    after = write_image(tmp_path / "after.tif", AFTER)
    r = api.post(f"/patch-batches/{BATCH}/imagery", data={"role": "before", "path": str(before)})
    assert r.status_code == 201, r.text
    with after.open("rb") as fh:
        r = api.post(
            f"/patch-batches/{BATCH}/imagery",
            data={"role": "after", "bands": "red=1,green=2,blue=3,nir=4", "scale": "10000"},
            files={"file": ("after.tif", fh, "image/tiff")},
        )
    assert r.status_code == 201, r.text
    assert Path(r.json()["path"]).is_relative_to(tmp_path / "data" / "imagery" / BATCH)
    r = api.post(
        f"/patch-batches/{BATCH}/imagery",
        data={"role": "after", "bands": "red=1"},
        files={"file": ("a.tif", b"II*\x00", "image/tiff")},
    )
    assert r.status_code == 422 and r.json()["details"][0]["rule"] == "missing_band_role"

    listed = api.get("/patches", params={"batch": BATCH, "limit": 4}).json()
    assert listed["numberMatched"] == 9 and listed["numberReturned"] == 4
    assert "next" in listed["links"]
    ids = {p["patch_code"]: p["id"] for p in api.get("/patches").json()["patches"]}

    r = handle(api, ids["TB1"], "on_site", photo_part(30, 145))
    assert r.status_code == 201, r.text
    shot = r.json()["photos"][0]
    assert shot["lon"] == pytest.approx(lonlat(30, 145)[0], abs=1e-6)
    assert shot["exif"]["Make"] == "TestPhone" and shot["taken_at_source"] == "exif_offset"
    for code, kind in (
        ("TB2", "documents"),
        ("TB3", "on_site"),
        ("TB4", "documents"),
        ("TB6", "documents"),
    ):
        assert handle(api, ids[code], kind).status_code == 201
    assert handle(api, ids["TB5"], "on_site", photo_part(20, 15)).status_code == 201
    bad = handle(api, ids["TB8"], "on_site", ("photos", ("x.png", b"\x89PNG....", "image/png")))
    assert bad.status_code == 422 and bad.json()["details"][0]["rule"] == "not_jpeg"
    early = api.post(
        f"/patches/{ids['TB8']}/handling",
        data={"handling_type": "on_site", "handler": "张三", "handled_at": "2026-05-01T10:00"},
    )
    assert early.status_code == 422 and "before the patch was dispatched" in early.json()["message"]
    with territory_engine.begin() as conn:
        add_fix(conn, 195, 95, HANDLED.replace(day=10, tzinfo=CST), [])

    r = api.post(f"/patch-batches/{BATCH}/verify?async=true")
    assert r.status_code == 202
    job = wait(api, r.json()["links"]["status"])
    assert job["status"] == "succeeded", job
    assert job["result"]["verdicts"]["verified"] == 2
    got = {p["patch_code"]: p["verdict"] for p in api.get("/patches").json()["patches"]}
    assert got == EXPECTED

    detail = api.get(f"/patches/{ids['TB1']}").json()
    assert detail["verification"]["figures"]["image"]["state"] == "reversed"
    assert detail["geometry"]["type"] == "MultiPolygon"
    assert detail["imagery"] == ["after", "before"]
    photo = api.get(detail["handling"][0]["photos"][0]["href"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    chips = api.get(detail["links"]["chips"])
    assert chips.status_code == 200 and chips.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(chips.content)).size == (518, 256)

    verified = api.get("/patches", params={"status": "field_verified"}).json()["patches"]
    assert {p["patch_code"] for p in verified} == {"TB5", "TB7"}
    assert api.get("/patches", params={"status": "nonsense"}).status_code == 400
    one = api.post(f"/patches/{ids['TB2']}/verify", json={"thresholds": {"default": {}}})
    assert one.status_code == 200 and one.json()["verdict"] == "not_verified"
    batches = api.get("/patch-batches").json()
    assert batches[0]["id"] == BATCH and set(batches[0]["imagery"]) == {"before", "after"}
    assert batches[0]["figures"]["handling"]["documents"] == 3


def test_chips_without_imagery_and_unknown_patches(api: TestClient, tmp_path: Path) -> None:
    assert post_batch(api, patch_file(tmp_path)).status_code == 201
    patch_id = api.get("/patches").json()["patches"][0]["id"]
    r = api.get(f"/patches/{patch_id}/chips.png")
    assert r.status_code == 404 and "covers" in r.json()["message"]
    assert api.get("/patches/999999").status_code == 404
    assert api.get("/patch-batches/nope").status_code == 404
    r = api.post(f"/patch-batches/{BATCH}/verify")
    assert r.status_code == 200 and r.json()["verdicts"] == {"inconclusive": 9}


def test_scores_over_http(api: TestClient, territory_engine: Engine, tmp_path: Path) -> None:
    build_scored(territory_engine, tmp_path)
    assert api.post(f"/patch-batches/{BATCH}/verify").status_code == 200
    body = api.get("/patches/scores", params={"batch": BATCH}).json()
    assert body["batches"] == [BATCH] and body["rule"]["mode"] == "tolerated_share"
    district = body["district"]
    assert (district["on_site"], district["documents"]) == (2, 7)
    assert (district["deduction"], district["score"]) == (0.67, 5.33)
    assert [s["score"] for s in body["streets"]] == [6.0, 0.0]
    newest = api.get("/patches/scores", params={"mode": "share", "factor": 0.5}).json()
    assert newest["batches"] == [BATCH] and newest["district"]["deduction"] == 2.33
    street = api.get("/patches/scores", params={"street": "530114001", "basis": "verdict"})
    assert street.json()["district"]["patches"] == 4
    bad = api.get("/patches/scores", params={"mode": "linear"})
    assert bad.status_code == 400 and "'mode'" in bad.json()["message"]
    assert api.get("/patches/scores", params={"batch": "1999-01"}).status_code == 404

    june = {"from": "2026-06-01", "to": "2026-06-30", "level": "district"}
    with_sat = api.get("/indicators", params={**june, "include": "satellite"}).json()
    assert with_sat["satellite"]["district"]["score"] == 5.33
    assert "satellite" not in api.get("/indicators", params=june).json()
    may_params = {**june, "from": "2026-05-01", "to": "2026-05-31", "include": "satellite"}
    may = api.get("/indicators", params=may_params).json()
    assert may["satellite"]["batches"] == [] and may["satellite"]["district"]["patches"] == 0


def test_monthly_report_has_the_satellite_table(
    api: TestClient, territory_engine: Engine, tmp_path: Path
) -> None:
    build_scored(territory_engine, tmp_path)
    assert api.post(f"/patch-batches/{BATCH}/verify").status_code == 200
    html = api.get("/reports/monthly", params={"month": "2026-06", "format": "html"}).text
    assert f"卫星遥感图斑（批次 {BATCH}；卫星遥感监测体系 6 分）" in html
    assert "龙城街道" in html and "材料结案" in html and "5.33" in html and "0.67" in html
    xlsx = api.get("/reports/monthly", params={"month": "2026-06", "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(xlsx.content))["卫星遥感图斑"].iter_rows(values_only=True))
    assert rows[0][:5] == ("街道", "图斑数", "应处置数", "实地处置", "材料结案")
    assert rows[-1][0] == "合计" and rows[-1][1:5] == (9, 9, 2, 7) and rows[-1][-2:] == (0.67, 5.33)
    empty = api.get("/reports/monthly", params={"month": "2026-05", "format": "html"}).text
    assert "本月无图斑" in empty
    xlsx = api.get("/reports/monthly", params={"month": "2026-05", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content))["卫星遥感图斑"]
    assert list(sheet.iter_rows(values_only=True))[1][0] == "本月无图斑。"
