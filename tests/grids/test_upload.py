"""Reading an uploaded grid file into grids, communities and streets (DOMAIN.md §1b)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, box

from geogrid.errors import ValidationFailed
from geogrid.grids.upload import (
    COMMUNITY_COLUMNS,
    GRID_COLUMNS,
    STREET_COLUMNS,
    code_text,
    read_grid_upload,
)

# Two grids of a community of 呈贡区 (Kunming), in CGCS2000 / 3-degree GK CM 102E (EPSG:4543).
WEST = box(585000, 2752000, 585100, 2752100)
EAST = box(585100, 2752000, 585200, 2752100)
COMMUNITY = box(585000, 2752000, 585200, 2752100)


def _gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    for name, frame in layers.items():
        frame.to_file(path, layer=name)
    return path


def _geojson(path: Path, features: list[tuple[dict, Polygon | None]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": None if geom is None else shapely.geometry.mapping(geom),
                    }
                    for props, geom in features
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def _lonlat_box(x: float) -> Polygon:
    return box(102.85 + x, 24.88, 102.851 + x, 24.881)


def test_geopackage_with_chinese_layers_and_columns(tmp_path: Path) -> None:
    grids = gpd.GeoDataFrame(
        {
            "网格编码": ["530114001001001", "530114001001002"],
            "社区编码": ["530114001001"] * 2,
            "社区名称": ["洛龙社区"] * 2,
            "网格类型": ["城市/商业", "农村"],
            "网格名称": ["一号", " "],
        },
        geometry=[WEST, EAST],
        crs="EPSG:4543",
    )
    communities = gpd.GeoDataFrame(
        {
            "SQBM": ["530114001001"],
            "SQMC": ["洛龙社区"],
            "JDBM": ["530114001"],
            "JDMC": ["洛龙街道"],
        },
        geometry=[COMMUNITY],
        crs="EPSG:4543",
    )
    streets = gpd.GeoDataFrame(
        {"街道编码": ["530114001"], "街道名称": ["洛龙街道"]}, geometry=[COMMUNITY], crs="EPSG:4543"
    )
    path = _gpkg(
        tmp_path / "2026年网格更新.gpkg", {"单元网格": grids, "社区": communities, "街道": streets}
    )
    upload = read_grid_upload(path)
    assert list(upload.grids.columns) == list(GRID_COLUMNS)
    assert upload.grids.to_dict("list") | {"geometry": None} == {
        "row": [1, 2],
        "code": ["530114001001001", "530114001001002"],
        "community_code": ["530114001001"] * 2,
        "community_name": ["洛龙社区"] * 2,
        "grid_type": ["city", "rural"],
        "name": ["一号", None],
        "geometry": None,
    }
    assert upload.grids.crs.to_epsg() == 4326
    assert upload.grids.geometry.iloc[0].bounds[0] == pytest.approx(102.841102838, abs=1e-8)
    assert upload.communities is not None and upload.streets is not None
    assert list(upload.communities.columns) == list(COMMUNITY_COLUMNS)
    assert upload.communities.iloc[0][["code", "name", "street_code", "street_name"]].tolist() == [
        "530114001001",
        "洛龙社区",
        "530114001",
        "洛龙街道",
    ]
    assert list(upload.streets.columns) == list(STREET_COLUMNS)
    assert upload.streets.iloc[0][["code", "name"]].tolist() == ["530114001", "洛龙街道"]
    assert upload.source_crs == "EPSG:4543"
    assert upload.file_name == "2026年网格更新.gpkg"
    assert upload.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert upload.notes == []


def test_zipped_shapefile_with_pinyin_columns_and_gbk_names(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "WGBM": [530114001001001, 530114001001002],
            "SQMC": ["斗南社区", "斗南社区"],
            "WGLX": ["厂区", "工业"],
        },
        geometry=[WEST, EAST],
        crs="EPSG:4543",
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "wg.shp", encoding="GBK")
    path = tmp_path / "upload.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in folder.iterdir():
            if part.suffix != ".cpg":
                zf.write(part, part.name)
    upload = read_grid_upload(path, file_name="呈贡区网格.zip")
    grids = upload.grids
    assert grids["code"].tolist() == ["530114001001001", "530114001001002"]  # a numeric field
    assert grids["community_name"].tolist() == ["斗南社区", "斗南社区"]
    assert grids["grid_type"].tolist() == ["industrial", "industrial"]
    assert grids["community_code"].tolist() == ["530114001001"] * 2
    assert [n.rule for n in upload.notes] == ["community_code_derived"]
    assert upload.notes[0].message == (
        "2 feature(s) of layer 'wg' have no community_code; it "
        "was taken from the first 12 digits of their code."
    )
    assert upload.file_name == "呈贡区网格.zip"


def test_single_layer_is_grids_and_defaults_are_noted(tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "anything.geojson",
        [
            ({"Code": "53011400100101"}, _lonlat_box(0)),  # legacy 14 digits
            ({"Code": "530114001001002"}, None),  # kept for the validator
        ],
    )
    upload = read_grid_upload(path)
    grids = upload.grids
    assert grids["community_code"].tolist() == ["530114001001", "530114001001"]
    assert grids["grid_type"].tolist() == ["city", "city"]
    assert grids["community_name"].tolist() == [None, None]
    assert grids.geometry.iloc[1] is None
    assert upload.communities is None and upload.streets is None
    assert upload.source_crs == "EPSG:4326"
    assert {n.rule for n in upload.notes} == {"community_code_derived", "grid_type_default"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (530114001001001, "530114001001001"),
        (5.30114001001001e14, "530114001001001"),
        ("5.30114001001001e14", "530114001001001"),
        ("530114001001001.0", "530114001001001"),
        (" 053011400100 ", "053011400100"),
        ("", None),
        (None, None),
        (float("nan"), None),
        ("A12", "A12"),
        (12.5, "12.5"),
    ],
)
def test_code_text_is_exact(value: object, expected: str | None) -> None:
    assert code_text(value) == expected


@pytest.mark.parametrize("value", ["5.30114E+14", 5.3011400100100101e16])
def test_code_text_refuses_numbers_that_lost_digits(value: object) -> None:
    with pytest.raises(ValueError):
        code_text(value)


def test_code_as_float_in_geojson_becomes_exact_text(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    geometry = json.dumps(shapely.geometry.mapping(_lonlat_box(0)))
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        f'"properties": {{"grid_code": 5.30114001001001e14}}, "geometry": {geometry}}}]}}'
    )
    assert read_grid_upload(path).grids["code"].tolist() == ["530114001001001"]


def test_code_rounded_by_a_spreadsheet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text('网格编码,WKT\n5.30114E+14,"POINT (102.85 24.88)"\n', encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        read_grid_upload(path, crs="EPSG:4490")
    problem = refused.value.problems[0]
    assert problem.where == "layer 'grids', feature 1"
    assert problem.rule == "code_not_text"
    assert "'5.30114E+14' is a number rounded by a spreadsheet" in problem.message


def test_missing_code_column_lists_columns_and_accepted_names(tmp_path: Path) -> None:
    path = _geojson(tmp_path / "grids.geojson", [({"OBJECTID": 1, "名称": "一号"}, None)])
    with pytest.raises(ValidationFailed) as refused:
        read_grid_upload(path)
    message = refused.value.message
    assert message.startswith(
        "Layer 'grids' (grids (单元网格)) has no code column; columns "
        "found: OBJECTID, 名称. Name it one of: code, grid_code, 网格编码"
    )
    assert "WGBM" in message.upper() and "BGCODE" in message.upper()


def test_unknown_grid_type_is_refused_naming_the_feature(tmp_path: Path) -> None:
    path = _geojson(
        tmp_path / "grids.geojson",
        [
            ({"code": "530114001001001", "type": "商业"}, None),
            ({"code": "530114001001002", "type": "居住"}, None),
        ],
    )
    with pytest.raises(ValidationFailed) as refused:
        read_grid_upload(path)
    assert [(p.where, p.rule) for p in refused.value.problems] == [
        ("layer 'grids', feature 2", "unknown_grid_type")
    ]


def test_layers_recognised_by_their_codes(tmp_path: Path) -> None:
    grids = gpd.GeoDataFrame({"code": ["530114001001001"]}, geometry=[WEST], crs="EPSG:4543")
    communities = gpd.GeoDataFrame(
        {"code": ["530114001001"]}, geometry=[COMMUNITY], crs="EPSG:4543"
    )
    roads = gpd.GeoDataFrame({"kind": ["primary"]}, geometry=[WEST.boundary], crs="EPSG:4543")
    path = _gpkg(tmp_path / "u.gpkg", {"layer_a": communities, "layer_b": grids, "roads": roads})
    upload = read_grid_upload(path)
    assert upload.grids["code"].tolist() == ["530114001001001"]
    assert upload.communities is not None
    assert upload.communities["street_code"].tolist() == ["530114001"]
    assert {n.rule for n in upload.notes} == {
        "layer_ignored",
        "street_code_derived",
        "community_code_derived",
        "grid_type_default",
    }
    assert upload.notes[0].message.startswith("Layer 'roads' was ignored")


def test_two_grid_layers_are_refused(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["530114001001001"]}, geometry=[WEST], crs="EPSG:4543")
    path = _gpkg(tmp_path / "u.gpkg", {"grids": frame, "网格2": frame})
    with pytest.raises(ValidationFailed, match="Layers 'grids', '网格2' all look like grids"):
        read_grid_upload(path)


def test_no_grids_layer_is_refused(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"code": ["530114001001"]}, geometry=[COMMUNITY], crs="EPSG:4543")
    path = _gpkg(tmp_path / "u.gpkg", {"社区": frame, "街道": frame})
    with pytest.raises(ValidationFailed, match="has no grids layer"):
        read_grid_upload(path)


def test_invalid_geometry_is_kept(tmp_path: Path) -> None:
    bowtie = Polygon([(102.85, 24.88), (102.86, 24.89), (102.86, 24.88), (102.85, 24.89)])
    path = _geojson(tmp_path / "grids.geojson", [({"code": "530114001001001"}, bowtie)])
    geometry = read_grid_upload(path).grids.geometry.iloc[0]
    assert geometry.equals(bowtie) and not geometry.is_valid
