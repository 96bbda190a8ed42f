"""Feature collections: the one way layers are described, queried as GeoJSON and as tiles.

A domain area declares its layers as :class:`Collection` values (``geogrid/grids/layers.py``,
``geogrid/territory/layers.py``); :mod:`geogrid.features.query` pages through them (OGC API -
Features) and :mod:`geogrid.tiles` cuts them into vector tiles.
"""

from geogrid.features.collection import Collection, Filter, Property, registry

__all__ = ["Collection", "Filter", "Property", "registry"]
