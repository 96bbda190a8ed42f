"""Reading vector files into EPSG:4326 (DOMAIN.md §1): formats, CRS handling and refusals.

Every input is a real file written here with json, csv, zipfile or geopandas/pyogrio.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon, box

from geogrid.errors import CRSMismatch, GeogridError, ValidationFailed
from geogrid.io.read import check_archive, read_layers

GEOD = Geod(ellps="WGS84")
# CGCS2000 / 3-degree Gauss–Krüger CM 102E (Kunming): a point on the central meridian and one
# near 呈贡, with their longitude/latitude.
GK_POINTS = [
    ((500000.0, 2750000.0), (102.0, 24.855069902)),
    ((586000.0, 2753000.0), (102.851059137, 24.879726833)),
]
# A published WGS84 / GCJ-02 pair (Tiananmen).
WGS84_TIANANMEN = (116.391275, 39.906217)
GCJ02_TIANANMEN = (116.397518, 39.907618)


def _feature(geometry: dict | None, **properties: object) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    collection: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _shapefile(
    folder: Path, frame: gpd.GeoDataFrame, stem: str, **kwargs: object
) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_file(folder / f"{stem}.shp", **kwargs)
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.stem == stem}


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private temporary directory for the reader, to check it is left empty."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch


# --- formats -------------------------------------------------------------------------------


def test_geojson_in_wgs84_gets_rows_and_source_crs(tmp_path: Path) -> None:
    path = _write_geojson(
        tmp_path / "grids.geojson",
        [
            _feature(shapely.geometry.mapping(box(102.85, 24.88, 102.86, 24.89)), code="a"),
            _feature(shapely.geometry.mapping(box(102.86, 24.88, 102.87, 24.89)), code="b"),
        ],
    )
    layers = read_layers(path)
    assert list(layers) == ["grids"]
    grids = layers["grids"]
    assert list(grids.columns) == ["row", "code", "geometry"]
    assert grids["row"].tolist() == [1, 2]
    assert grids.crs.to_epsg() == 4326
    assert grids.attrs["source_crs"] == "EPSG:4326"
    assert grids.geometry.iloc[1].equals(box(102.86, 24.88, 102.87, 24.89))


@pytest.mark.parametrize("name", ["urn:ogc:def:crs:EPSG::4543", "EPSG:4543"])
def test_geojson_legacy_crs_member_is_honoured(tmp_path: Path, name: str) -> None:
    features = [
        _feature({"type": "Point", "coordinates": list(xy)}, n=i)
        for i, (xy, _) in enumerate(GK_POINTS)
    ]
    layers = read_layers(_write_geojson(tmp_path / "points.geojson", features, crs=name))
    points = layers["points"]
    assert points.attrs["source_crs"] == "EPSG:4543"
    for geometry, (_, expected) in zip(points.geometry, GK_POINTS, strict=True):
        assert _distance_m((geometry.x, geometry.y), expected) < 0.01
    assert points.geometry.iloc[0].x == pytest.approx(102.0, abs=1e-12)  # on the central meridian


def test_geopackage_every_layer_with_geometry(tmp_path: Path) -> None:
    path = tmp_path / "update.gpkg"
    grids = gpd.GeoDataFrame(
        {"code": ["530114001001001", "530114001001002"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=4326,
    )
    communities = gpd.GeoDataFrame({"code": ["530114001001"]}, geometry=[box(0, 0, 2, 1)], crs=4326)
    grids.to_file(path, layer="grids")
    communities.to_file(path, layer="communities")
    layers = read_layers(path)
    assert list(layers) == ["grids", "communities"]
    assert layers["grids"]["code"].tolist() == ["530114001001001", "530114001001002"]
    assert layers["communities"]["row"].tolist() == [1]


def test_zipped_shapefile_with_gbk_text_and_no_cpg(tmp_path: Path, own_tmp: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"SQMC": ["洛龙社区", "斗南社区"], "社区名称": ["洛龙", "斗南"]},
        geometry=[Point(xy) for xy, _ in GK_POINTS],
        crs="EPSG:4543",
    )
    files = _shapefile(tmp_path / "shp", frame, "grids", encoding="GBK")
    del files["grids.cpg"]
    assert "洛龙".encode("gbk") in files["grids.dbf"]
    layers = read_layers(_zip(tmp_path / "upload.zip", files))
    grids = layers["grids"]
    assert grids["SQMC"].tolist() == ["洛龙社区", "斗南社区"]
    assert grids["社区名称"].tolist() == ["洛龙", "斗南"]
    assert grids.attrs["source_crs"] == "EPSG:4543"
    assert _distance_m((grids.geometry.iloc[1].x, grids.geometry.iloc[1].y), GK_POINTS[1][1]) < 0.01
    assert list(own_tmp.iterdir()) == []  # the extracted archive is gone


def test_zip_member_names_in_gbk_name_the_layers(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["1"]}, geometry=[Point(102.85, 24.88)], crs=4326)
    files = {
        f"abcdefgh{Path(name).suffix}": data
        for name, data in _shapefile(tmp_path / "shp", frame, "x").items()
    }
    path = _zip(tmp_path / "upload.zip", files)
    # Chinese Windows writes names in GBK without the UTF-8 flag: patch them in place.
    path.write_bytes(path.read_bytes().replace(b"abcdefgh", "单元网格".encode("gbk")))
    assert list(read_layers(path)) == ["单元网格"]


def test_shapefile_without_prj_needs_a_declared_crs(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["1"]}, geometry=[Point(GK_POINTS[1][0])], crs="EPSG:4543")
    files = _shapefile(tmp_path / "shp", frame, "grids")
    del files["grids.prj"]
    path = _zip(tmp_path / "upload.zip", files)
    with pytest.raises(CRSMismatch) as refused:
        read_layers(path)
    message = refused.value.problems[0].message
    assert "Layer 'grids' says nothing about its coordinate reference system" in message
    assert "--crs EPSG:xxxx" in message and "crs= form field" in message
    grids = read_layers(path, crs="EPSG:4543")["grids"]
    assert grids.attrs["source_crs"] == "EPSG:4543"
    assert _distance_m((grids.geometry.iloc[0].x, grids.geometry.iloc[0].y), GK_POINTS[1][1]) < 0.01


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_with_wkt_and_chinese_header(tmp_path: Path, encoding: str) -> None:
    text = (
        "网格编码,社区名称,几何\n"
        '530114001001001,洛龙社区,"POLYGON ((102.85 24.88, 102.86 24.88, 102.86 24.89, '
        '102.85 24.88))"\n'
        "0530114001001,斗南社区,\n"
    )
    path = tmp_path / "网格.csv"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(CRSMismatch, match="says nothing about its coordinate reference system"):
        read_layers(path)
    grids = read_layers(path, crs="EPSG:4490")["网格"]
    assert list(grids.columns) == ["row", "网格编码", "社区名称", "geometry"]
    assert grids["网格编码"].tolist() == ["530114001001001", "0530114001001"]  # text, as given
    assert grids["社区名称"].tolist() == ["洛龙社区", "斗南社区"]
    assert grids.geometry.iloc[0].bounds == pytest.approx((102.85, 24.88, 102.86, 24.89))
    assert grids.geometry.iloc[1] is None  # kept for the validator to report
    assert grids.attrs["source_crs"] == "EPSG:4490"


def test_csv_ewkt_srid_declares_the_crs(tmp_path: Path) -> None:
    (x, y), expected = GK_POINTS[1]
    path = tmp_path / "points.csv"
    path.write_text(f"code,wkt\n1,SRID=4543;POINT ({x} {y})\n", encoding="utf-8")
    point = read_layers(path)["points"].geometry.iloc[0]
    assert _distance_m((point.x, point.y), expected) < 0.01


def test_csv_with_longitude_and_latitude_columns(tmp_path: Path) -> None:
    path = tmp_path / "fixes.csv"
    path.write_text("id,经度,纬度\n1,102.85,24.88\n2,,\n", encoding="utf-8")
    fixes = read_layers(path, crs="EPSG:4326")["fixes"]
    assert fixes.geometry.iloc[0].equals(Point(102.85, 24.88))
    assert fixes.geometry.iloc[1] is None


def test_declared_gcj02_is_converted_to_wgs84(tmp_path: Path) -> None:
    path = _write_geojson(
        tmp_path / "amap.geojson",
        [_feature({"type": "Point", "coordinates": list(GCJ02_TIANANMEN)})],
    )
    point = read_layers(path, crs="gcj02")["amap"]
    assert point.attrs["source_crs"] == "gcj02"
    geometry = point.geometry.iloc[0]
    assert _distance_m((geometry.x, geometry.y), WGS84_TIANANMEN) < 1.0


def test_source_geometry_kept_on_request(tmp_path: Path) -> None:
    path = _write_geojson(
        tmp_path / "amap.geojson",
        [_feature({"type": "Point", "coordinates": list(GCJ02_TIANANMEN)})],
    )
    frame = read_layers(path, crs="gcj02", keep_source_geometry=True)["amap"]
    assert frame["source_geometry"].iloc[0].equals(Point(GCJ02_TIANANMEN))


def test_geometries_kept_as_they_are(tmp_path: Path) -> None:
    bowtie = Polygon([(102.85, 24.88), (102.86, 24.89), (102.86, 24.88), (102.85, 24.89)])
    path = _write_geojson(
        tmp_path / "g.geojson",
        [
            _feature(shapely.geometry.mapping(bowtie), row="r1"),
            _feature(None, row="r2"),
            _feature(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [102.85, 24.88, 1900.0],
                            [102.86, 24.88, 1900.0],
                            [102.86, 24.89, 1900.0],
                            [102.85, 24.88, 1900.0],
                        ]
                    ],
                },
                row="r3",
            ),
        ],
    )
    frame = read_layers(path)["g"]
    assert frame.geometry.iloc[0].equals(bowtie) and not frame.geometry.iloc[0].is_valid
    assert frame.geometry.iloc[1] is None
    assert not frame.geometry.iloc[2].has_z  # stored 2D
    assert frame["row"].tolist() == [1, 2, 3]
    assert frame["source_row"].tolist() == ["r1", "r2", "r3"]


def test_file_without_extension_is_sniffed(tmp_path: Path) -> None:
    source = tmp_path / "update.gpkg"
    gpd.GeoDataFrame({"code": ["1"]}, geometry=[Point(1, 1)], crs=4326).to_file(source, layer="x")
    upload = tmp_path / "tmp8d7f6a"
    upload.write_bytes(source.read_bytes())
    assert list(read_layers(upload, file_name="update.gpkg")) == ["x"]


# --- refusals ------------------------------------------------------------------------------


def _refused(
    path: Path, error: type[GeogridError] = ValidationFailed, **kwargs: Any
) -> GeogridError:
    """The error ``read_layers`` raises for ``path``, of exactly the class ``error``."""
    with pytest.raises(error) as refused:
        read_layers(path, **kwargs)
    assert type(refused.value) is error
    return refused.value


@pytest.mark.parametrize(
    "member", ["../evil.geojson", "/etc/evil.geojson", "a/../../evil.csv", "C:\\evil.csv"]
)
def test_zip_with_path_traversal_is_refused(tmp_path: Path, member: str) -> None:
    path = _zip(tmp_path / "evil.zip", {"ok.csv": b"wkt\nPOINT (1 1)\n", member: b"{}"})
    error = _refused(path)
    assert error.problems[0].rule == "unsafe_archive"
    assert error.problems[0].where == f"evil.zip: {member}"
    assert error.message == (
        f"Member '{member}' of archive 'evil.zip' points outside the archive "
        "(an absolute path or '..'); the archive is refused."
    )
    assert not (tmp_path.parent / "evil.geojson").exists()


def test_zip_bomb_over_the_size_limit_is_refused(tmp_path: Path, own_tmp: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"a.csv": b"wkt\n" + b" " * 2**21})
    error = _refused(path, max_unzipped_bytes=2**20)
    assert error.problems[0].rule == "zip_bomb"
    assert "inflates to 2,097,156 bytes" in error.message and "zip bomb" in error.message
    assert list(own_tmp.iterdir()) == []


def test_zip_bomb_by_compression_ratio_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"a.csv": b"\0" * (20 * 2**20)})
    assert path.stat().st_size < 100_000
    error = _refused(path)
    assert error.problems[0].rule == "zip_bomb"


def test_truncated_geojson_is_refused(tmp_path: Path) -> None:
    path = _write_geojson(
        tmp_path / "grids.geojson", [_feature({"type": "Point", "coordinates": [1, 1]}, code="1")]
    )
    path.write_bytes(path.read_bytes()[:60])
    error = _refused(path)
    assert error.problems[0].rule == "unreadable"
    assert error.message.startswith("'grids.geojson' cannot be read as GeoJSON: it is truncated")


def test_truncated_geopackage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.gpkg"
    frame = gpd.GeoDataFrame(
        {"code": [str(i) for i in range(50)]},
        geometry=[Point(i, i).buffer(1) for i in range(50)],
        crs=4326,
    )
    frame.to_file(path, layer="grids")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    error = _refused(path)
    assert error.message.startswith("'grids.gpkg' cannot be read as GeoPackage")


@pytest.mark.parametrize("part", ["grids.shp", "grids.dbf"])
def test_truncated_shapefile_is_refused(tmp_path: Path, part: str) -> None:
    frame = gpd.GeoDataFrame(
        {"code": [str(i) for i in range(50)]},
        geometry=[Point(i, i).buffer(1) for i in range(50)],
        crs=4326,
    )
    files = _shapefile(tmp_path / "shp", frame, "grids")
    files[part] = files[part][: len(files[part]) // 2]
    error = _refused(_zip(tmp_path / "upload.zip", files))
    assert error.problems[0].rule == "truncated"
    assert error.problems[0].where == "upload.zip: grids.shp"
    assert f"'{part}' of shapefile 'grids' is truncated" in error.message


def test_shapefile_without_dbf_is_refused(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["1"]}, geometry=[Point(1, 1)], crs=4326)
    files = _shapefile(tmp_path / "shp", frame, "grids")
    del files["grids.dbf"]
    error = _refused(_zip(tmp_path / "upload.zip", files))
    assert "comes without grids.dbf" in error.message


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    rows = "".join(f"POINT ({i} {i})\n" for i in range(2000))
    path = _zip(tmp_path / "upload.zip", {"a.csv": f"wkt\n{rows}".encode()})
    assert path.stat().st_size > 2000
    path.write_bytes(path.read_bytes()[:1000])
    error = _refused(path)
    assert error.message.startswith("Archive 'upload.zip' cannot be read: it is truncated")


def test_nan_coordinates_are_refused_naming_the_feature(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    _feature({"type": "Point", "coordinates": [102.85, 24.88]}),
                    _feature({"type": "Point", "coordinates": [float("nan"), 24.88]}),
                    _feature({"type": "Point", "coordinates": [102.85, float("inf")]}),
                ],
            }
        )
    )
    assert "NaN" in path.read_text()
    error = _refused(path)
    assert [p.where for p in error.problems] == [
        "layer 'grids', feature 2",
        "layer 'grids', feature 3",
    ]
    assert error.problems[0].message == (
        "Feature 2 of layer 'grids' has a coordinate that is not a finite number (NaN or "
        "infinity); fix or remove it."
    )


def test_nan_in_csv_wkt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text("code,wkt\n1,POINT (1 1)\n2,POINT (nan 1)\n")
    error = _refused(path, crs="EPSG:4326")
    assert [p.where for p in error.problems] == ["layer 'grids', feature 2"]


def test_unreadable_wkt_is_refused_naming_the_feature(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text('code,wkt\n1,POINT (1 1)\n2,"POLYGON ((0 0, 1 0, 1 1"\n')
    error = _refused(path, crs="EPSG:4326")
    assert error.problems[0].where == "layer 'grids', feature 2"
    assert error.problems[0].message.startswith(
        "Feature 2 of layer 'grids' has a geometry that cannot be read"
    )


def test_more_than_max_features_is_refused(tmp_path: Path) -> None:
    features = [_feature({"type": "Point", "coordinates": [1, i]}) for i in range(3)]
    path = _write_geojson(tmp_path / "grids.geojson", features)
    assert len(read_layers(path, max_features=3)["grids"]) == 3
    error = _refused(path, max_features=2)
    assert error.message == (
        "File 'grids.geojson' holds more than 2 features (reached in layer "
        "'grids'), the most geogrid reads from one file; split it and "
        "upload the parts."
    )


def test_more_than_max_features_in_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text("wkt\n" + "POINT (1 1)\n" * 5)
    assert _refused(path, crs="EPSG:4326", max_features=4).problems[0].rule == "too_many_features"


def test_file_over_max_bytes_is_refused(tmp_path: Path) -> None:
    path = _write_geojson(tmp_path / "grids.geojson", [])
    error = _refused(path, max_bytes=10)
    assert error.problems[0].rule == "file_too_large"
    assert "larger than the limit" in error.message


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.dwg"
    path.write_bytes(bytes(range(256)) * 4)
    error = _refused(path)
    assert error.problems[0].rule == "unknown_format"
    assert error.message.startswith("File 'grids.dwg' is not in a format geogrid reads")


def test_projected_coordinates_declared_as_lonlat_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text("wkt\nPOINT (102.85 24.88)\nPOINT (586000 2753000)\n")
    error = _refused(path, CRSMismatch, crs="EPSG:4490")
    assert [p.where for p in error.problems] == ["layer 'grids', feature 2"]
    assert "after conversion from EPSG:4490" in error.problems[0].message


def test_unknown_declared_crs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text("wkt\nPOINT (1 1)\n")
    with pytest.raises(CRSMismatch, match="EPSG:999999"):
        read_layers(path, crs="EPSG:999999")


def test_numbers_stay_numbers(tmp_path: Path) -> None:
    """Attribute types are the file's: the upload reader makes codes text (no precision lost)."""
    path = _write_geojson(
        tmp_path / "g.geojson",
        [
            _feature({"type": "Point", "coordinates": [1, 1]}, code=530114001001001),
        ],
    )
    value = read_layers(path)["g"]["code"].iloc[0]
    assert int(value) == 530114001001001 and not pd.isna(value)
    assert np.issubdtype(type(value), np.integer)


def test_geojson_not_in_utf8_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    feature = _feature({"type": "Point", "coordinates": [102.85, 24.98]}, name="龙城街道")
    doc = {"type": "FeatureCollection", "features": [feature]}
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("gbk"))
    error = _refused(path)
    assert error.problems[0].rule == "not_utf8"
    assert "GeoJSON must be saved as UTF-8" in error.message


def test_check_archive_refuses_before_inflating(tmp_path: Path) -> None:
    safe = _zip(tmp_path / "safe.zip", {"a/b.csv": b"x"})
    assert check_archive(safe, shown="safe.zip") == ["a/b.csv"]
    unsafe = _zip(tmp_path / "unsafe.zip", {"C:/evil.csv": b"x"})
    with pytest.raises(ValidationFailed, match="points outside the archive"):
        check_archive(unsafe, shown="unsafe.zip")
    bomb = _zip(tmp_path / "bomb.zip", {"a.csv": b"\0" * 4096})
    with pytest.raises(ValidationFailed, match="zip bomb"):
        check_archive(bomb, shown="bomb.zip", max_unzipped_bytes=1024)
