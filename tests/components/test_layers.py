"""The `components` collection on a real PostGIS: current rows, properties, filters, tiles."""

from __future__ import annotations

import json
from typing import Any

import mapbox_vector_tile
import pytest
from pyproj import Transformer
from sqlalchemy.engine import Engine

from geogrid.components.layers import COMPONENTS, component_filter_sql
from geogrid.errors import InvalidParameter
from geogrid.features.query import query_items
from geogrid.layers import load_layers
from geogrid.tiles import get_tile, tile_of
from tests.components_data import A11, BIN, GREEN, LAMP, RAIL, SAMPLE, code, insert_components
from tests.territory import GRIDS, X0, Y0

CURRENT = sorted({c.code for c in SAMPLE if c.valid_to is None})


@pytest.fixture
def inventory(territory_engine: Engine) -> Engine:
    insert_components(territory_engine)
    return territory_engine


def items(inventory: Engine, **filters: str) -> dict[str, dict[str, Any]]:
    with inventory.connect() as conn:
        page = query_items(conn, COMPONENTS, limit=100, filters=filters)
    features = [json.loads(f) for f in page.features]
    assert page.number_matched == len(features)
    return {f["id"]: f for f in features}


def test_the_layer_is_registered_for_items_and_tiles() -> None:
    coll = load_layers().get("components")
    assert coll is COMPONENTS
    assert coll.mercator and coll.min_zoom == 13 and coll.depends_on == ("components",)
    in_tiles = {p.name for p in coll.properties if p.in_tiles}
    assert in_tiles == {"code", "major_class", "sub_class", "status"}


def test_items_are_the_current_versions_with_their_properties(inventory: Engine) -> None:
    found = items(inventory)
    assert sorted(found) == CURRENT  # the closed version of lamp #2 is not served
    lamp2 = found[code(LAMP, 2)]["properties"]
    assert lamp2["grid_code"] == A11 and lamp2["version"] == 2
    rail = found[code(RAIL, 1)]
    assert rail["geometry"]["type"] == "LineString"
    assert rail["properties"] | {"valid_from": None} == {
        "code": code(RAIL, 1),
        "major_class": "02",
        "sub_class": RAIL,
        "name": "交通护栏",
        "department": "区城市管理局",
        "owner": None,
        "maintainer": "区市政养护所",
        "status": "damaged",
        "status_name": "破损",
        "install_date": "2020-05-01",
        "change_date": None,
        "photo_url": None,
        "note": None,
        "grid_code": "530114001001002",
        "community_code": "530114001001",
        "street_code": "530114001",
        "geometry_type": "LineString",
        "version": 1,
        "valid_from": None,
    }
    assert found[code(GREEN, 1)]["properties"]["geometry_type"] == "Polygon"
    assert found[code(LAMP, 1)]["properties"]["geometry_type"] == "Point"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("class", "01", [code(LAMP, 1), code(LAMP, 2), code(LAMP, 3)]),
        ("sub_class", "03005", [code(BIN, 1), code(BIN, 2)]),
        ("status", "damaged", [code(LAMP, 3), code(RAIL, 1)]),
        ("status", "破损", [code(LAMP, 3), code(RAIL, 1)]),
        ("owner", "区城市管理局", [code(LAMP, 1), code(LAMP, 2)]),
        ("grid", A11, [code(LAMP, 1), code(LAMP, 2), code(BIN, 1)]),
        ("street", "530114002", [code(LAMP, 3), code(BIN, 2)]),
        ("street", "乌龙街道", [code(LAMP, 3), code(BIN, 2)]),
        ("street", "龙城街道", [code(c, 1) for c in (LAMP, BIN, RAIL, GREEN)] + [code(LAMP, 2)]),
    ],
)
def test_each_filter(inventory: Engine, name: str, value: str, expected: list[str]) -> None:
    assert sorted(items(inventory, **{name: value})) == sorted(expected)


def test_filters_combine(inventory: Engine) -> None:
    assert sorted(items(inventory, **{"class": "01", "street": "龙城街道"})) == [
        code(LAMP, 1),
        code(LAMP, 2),
    ]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("class", "1", "Filter 'class' must be a 2-digit major class"),
        ("sub_class", "0103", "Filter 'sub_class' must be a 5-digit class code"),
        ("status", "broken", "Filter 'status' must be one of intact (完好)"),
        ("grid", "5301140010010", "Filter 'grid' must be a 15-digit grid code"),
        ("street", "5301140", "Filter 'street' must be a 9-digit street code or a street name"),
        ("owner", " ", "Filter 'owner' must be 1 to 100 characters long"),
        ("colour", "red", "Unknown filter 'colour' for collection 'components'"),
    ],
)
def test_a_bad_filter_is_refused_with_a_sentence(
    inventory: Engine, name: str, value: str, says: str
) -> None:
    with pytest.raises(InvalidParameter, match=says.replace("(", r"\(").replace(")", r"\)")):
        items(inventory, **{name: value})


def test_filter_sql_skips_blank_values() -> None:
    where, params = component_filter_sql({"class": "", "sub_class": None, "status": "完好"})
    assert where == " AND f.status = :cf1" and params == {"cf1": "intact"}


def test_tile_at_z16_carries_the_styling_attributes(inventory: Engine) -> None:
    to_wgs84 = Transformer.from_crs(4543, 4326, always_xy=True)
    col, row, _ = GRIDS[A11]
    lon, lat = to_wgs84.transform(X0 + col * 100 + 20, Y0 + row * 100 + 20)  # lamp #1
    x, y = tile_of(lon, lat, 16)
    with inventory.connect() as conn:
        tile = get_tile(conn, COMPONENTS, 16, x, y)
    layer = mapbox_vector_tile.decode(tile.data)["components"]
    props = {f["properties"]["code"]: f for f in layer["features"]}
    lamp = props[code(LAMP, 1)]
    assert lamp["geometry"]["type"] == "Point"
    assert lamp["properties"] == {
        "code": code(LAMP, 1),
        "major_class": "01",
        "sub_class": LAMP,
        "status": "intact",
    }
    assert props[code(RAIL, 1)]["properties"]["status"] == "damaged"
    assert props[code(RAIL, 1)]["geometry"]["type"] == "LineString"
    assert len([c for c in props if c == code(LAMP, 2)]) == 1  # only the current version
