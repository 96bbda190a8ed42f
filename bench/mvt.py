"""Tile addresses covering the district, and feature counts of decoded vector tiles."""

from __future__ import annotations

import random
from dataclasses import dataclass

import mapbox_vector_tile
import shapely
import sqlalchemy as sa
from shapely.geometry import box, shape
from sqlalchemy.engine import Engine

from geogrid.features.query import extent
from geogrid.layers import load_layers
from geogrid.tiles import tile_of

TileAddress = tuple[int, int, int]

_COVERING = sa.text(
    """
SELECT x, y
FROM generate_series(CAST(:x0 AS int), CAST(:x1 AS int)) AS x,
     generate_series(CAST(:y0 AS int), CAST(:y1 AS int)) AS y
WHERE EXISTS (
    SELECT 1 FROM grids g
    WHERE g.valid_to IS NULL
      AND ST_Intersects(g.geom, ST_Transform(ST_TileEnvelope(:z, x, y), 4326))
)
"""
)


def district_bounds(engine: Engine) -> tuple[float, float, float, float]:
    """The CRS84 bounds of the current grids."""
    with engine.connect() as conn:
        box = extent(conn, load_layers().get("grids"))
    assert box is not None, "the district has no grids"
    return box


def covering_tiles(engine: Engine, z: int, *, seed: int = 0) -> list[TileAddress]:
    """Every tile of zoom ``z`` holding part of a current grid, in a seeded random order.

    The order is shuffled so that any prefix of the list (a run shorter than the list)
    samples the whole district rather than its northern rows.
    """
    minx, miny, maxx, maxy = district_bounds(engine)
    x0, y0 = tile_of(minx, maxy, z)
    x1, y1 = tile_of(maxx, miny, z)
    with engine.connect() as conn:
        rows = conn.execute(_COVERING, {"z": z, "x0": x0, "x1": x1, "y0": y0, "y1": y1}).all()
    tiles = sorted((z, int(x), int(y)) for x, y in rows)
    random.Random(seed).shuffle(tiles)
    return tiles


def centre_tile(engine: Engine, z: int) -> TileAddress:
    """The tile of zoom ``z`` holding the centre of the district's bounds."""
    minx, miny, maxx, maxy = district_bounds(engine)
    x, y = tile_of((minx + maxx) / 2, (miny + maxy) / 2, z)
    return z, x, y


@dataclass(frozen=True)
class FeatureCount:
    """Features of a decoded tile: all of them, and those reaching into the tile itself.

    A feature that only lies in the tile's buffer (the margin drawn around a tile so that
    strokes join across tile edges) has no area inside ``[0, extent]²``.
    """

    layer: str
    total: int
    inside: int

    @property
    def buffer_only(self) -> int:
        return self.total - self.inside


def count_features(mvt: bytes) -> FeatureCount:
    """Count the features of a single-layer tile, see :class:`FeatureCount`."""
    if not mvt:
        return FeatureCount("", 0, 0)
    layers = mapbox_vector_tile.decode(mvt)
    if len(layers) != 1:
        raise ValueError(f"expected one layer, got {sorted(layers)}")
    ((name, layer),) = layers.items()
    extent = int(layer.get("extent", 4096))
    inner = box(0, 0, extent, extent)
    inside = 0
    for feature in layer["features"]:
        geom = shapely.make_valid(shape(feature["geometry"]))
        inside += geom.intersection(inner).area > 0
    return FeatureCount(name, len(layer["features"]), inside)
