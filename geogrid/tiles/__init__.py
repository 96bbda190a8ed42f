"""Mapbox Vector Tiles of feature collections, cut by PostGIS (``ST_AsMVT``).

Tiles are never stale: each tile's ETag and cache key contain the write counters
(``layer_versions``) of every table its layer depends on, so any write makes new tiles.
"""

from geogrid.tiles.mvt import MAX_ZOOM, Tile, TileCache, get_tile, parse_tile_address, tile_of

__all__ = ["MAX_ZOOM", "Tile", "TileCache", "get_tile", "parse_tile_address", "tile_of"]
