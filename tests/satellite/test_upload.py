"""Reading patch deliveries: formats and CRSs, and a refusal per rule naming the feature."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest

from geogrid.catalogue import load_catalogue
from geogrid.errors import ValidationFailed
from geogrid.satellite.upload import read_patch_upload
from tests.satellite.data import feature, polygon_4543, polygon_wgs84, square, write_geojson

CATALOGUE = load_catalogue()


def read(path: Path, **kw: str):
    return read_patch_upload(path, catalogue=CATALOGUE, **kw)


def refusal(path: Path) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        read(path)
    return caught.value


def test_geojson_with_chinese_headers(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "2026-06.geojson",
        [
            feature(
                square(10, 110),
                图斑编号="TB001",
                变化类型="地面扬尘源",
                前时相="2026-04-20",
                后时相="2026-05-25",
                面积=1600,
            ),
            feature(
                square(60, 110),
                图斑编号="TB002",
                变化类型="疑似违法建设",
                处置部门="区住建局",
                处置时限="2026-06-30 18:00",
            ),
        ],
    )
    upload = read(path)
    f = upload.features
    assert list(f["patch_code"]) == ["TB001", "TB002"]
    assert list(f["change_type"]) == ["dust_source", "building"]
    assert str(f["before_date"].iat[0]) == "2026-04-20" and f["after_date"].iat[1] is None
    assert f["declared_area_m2"].iat[0] == 1600 and f["department"].iat[1] == "区住建局"
    assert f["due_at"].iat[1].isoformat() == "2026-06-30T10:00:00+00:00"
    assert len(upload.sha256) == 64


def test_zipped_shapefile_in_gauss_kruger_is_reprojected(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"TBBH": ["TB001"], "BHLX": ["违法用地"], "QSX": ["2026-04-20"], "HSX": ["2026-05-25"]},
        geometry=[polygon_4543(square(10, 110))],
        crs="EPSG:4543",
    )
    frame.to_file(tmp_path / "patches.shp")
    archive = tmp_path / "patches.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("patches.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    upload = read(archive)
    assert upload.source_crs == "EPSG:4543"
    assert upload.features["change_type"].iat[0] == "land_use"
    expected = polygon_wgs84(square(10, 110))
    assert upload.features.geometry.iat[0].normalize().equals_exact(expected.normalize(), 1e-8)


def test_geopackage(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"patch_id": ["A", "B"], "change_type": ["other", "building"]},
        geometry=[polygon_4543(square(10, 10)), polygon_4543(square(110, 10))],
        crs="EPSG:4543",
    )
    frame.to_file(tmp_path / "p.gpkg", layer="patches")
    assert list(read(tmp_path / "p.gpkg").features["patch_code"]) == ["A", "B"]


def test_missing_change_type_column(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "p.geojson", [feature(square(10, 110), patch_id="TB001")])
    error = refusal(path)
    assert error.problems[0].rule == "missing_column"
    assert "change_type" in error.message


def test_every_bad_feature_is_named(tmp_path: Path) -> None:
    bowtie = {
        "type": "Feature",
        "properties": {"patch_id": "TB002", "change_type": "building"},
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
    point = {
        "type": "Feature",
        "properties": {"patch_id": "TB004", "change_type": "building"},
        "geometry": {"type": "Point", "coordinates": [102.85, 24.97]},
    }
    path = write_geojson(
        tmp_path / "p.geojson",
        [
            feature(square(10, 110), patch_id="TB001", change_type="building"),
            bowtie,
            feature(square(60, 110), patch_id="TB003", change_type="房子"),
            point,
            feature(square(110, 110), patch_id="TB001", change_type="other"),
            feature(
                square(160, 110),
                patch_id="TB006",
                change_type="other",
                sub_class="99999",
                before_date="2026-05-01",
                after_date="2026-04-01",
            ),
        ],
    )
    error = refusal(path)
    found = {(p.where, p.rule) for p in error.problems}
    assert ("feature 2 (patch TB002)", "invalid_geometry") in found
    assert ("feature 3 (patch TB003)", "unknown_change_type") in found
    assert ("feature 4 (patch TB004)", "not_a_polygon") in found
    assert ("feature 5 (patch TB001)", "duplicate_patch_id") in found
    assert ("feature 6 (patch TB006)", "unknown_sub_class") in found
    assert ("feature 6 (patch TB006)", "dates_reversed") in found
    assert "Self-intersection" in next(
        p.message for p in error.problems if p.rule == "invalid_geometry"
    )
    assert "房子" in next(p.message for p in error.problems if p.rule == "unknown_change_type")


def test_not_a_zip(tmp_path: Path) -> None:
    broken = tmp_path / "patches.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    assert refusal(broken).problems[0].rule == "unreadable"
    text = tmp_path / "patches.doc"
    text.write_bytes(b"\x00\x01 not a vector file")
    assert refusal(text).problems[0].rule == "unknown_format"
