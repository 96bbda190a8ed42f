"""Spatial weights between unit grids for Gi*, and a cache that builds them once per grid layer.

Contiguity weights come from the grid polygons (grids of a district tile it without gaps or
overlaps, DOMAIN.md §1, so neighbouring grids share vertices); distance and nearest-neighbour
weights from the grids' centroids in a local transverse Mercator projection (metres, never
degrees, DOMAIN.md §1). Weights are binary with each grid its own neighbour (Gi*, Getis & Ord
1992), as ArcGIS uses them. Building Queen weights for the 10,000 grids of a city takes about
half a second, so :class:`WeightsCache` keeps them per (grid layer version, kind, parameters).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from libpysal.graph import Graph
from scipy.spatial import cKDTree

from geogrid.crs import local_metric_crs
from geogrid.errors import InvalidParameter
from geogrid.hotspots.request import WEIGHTS, WeightsKind

DISTANCE_MARGIN_M: Final = 0.01
"""Added to the default distance band so that the farthest nearest neighbour is inside it."""


@dataclass(frozen=True, eq=False)
class GridWeights:
    """Binary Gi* weights over grids in a fixed order.

    Attributes
    ----------
    graph
        libpysal ``Graph`` over positions 0..n-1, each grid also its own neighbour (weight 1).
    codes
        Grid codes in the order of the graph's positions.
    islands
        True for grids with no neighbour but themselves.
    kind
        ``queen``, ``rook``, ``distance`` or ``knn``.
    distance_m
        Band used for ``distance`` weights (metres; the default band when none was given).
    k
        Neighbours per grid for ``knn`` weights (at most n - 1).
    """

    graph: Graph
    codes: npt.NDArray[np.str_]
    islands: npt.NDArray[np.bool_]
    kind: WeightsKind
    distance_m: float | None = None
    k: int | None = None


def metric_centroids(gdf: gpd.GeoDataFrame) -> npt.NDArray[np.float64]:
    """Grid centroids (x, y) in metres, in a transverse Mercator centred on the grids."""
    if gdf.crs is None:
        raise InvalidParameter("The grids have no coordinate reference system.")
    lon_lat = gdf if gdf.crs.is_geographic else gdf.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = lon_lat.total_bounds
    projected = gdf.to_crs(local_metric_crs((minx + maxx) / 2, (miny + maxy) / 2))
    return shapely.get_coordinates(projected.geometry.centroid.values)


def default_distance_m(xy: npt.NDArray[np.float64]) -> float:
    """The smallest band that gives every grid at least one neighbour (ArcGIS's default)."""
    if len(xy) < 2:
        return DISTANCE_MARGIN_M
    nearest, _ = cKDTree(xy).query(xy, k=2)
    return float(nearest[:, 1].max()) + DISTANCE_MARGIN_M


def build_weights(
    gdf: gpd.GeoDataFrame,
    kind: WeightsKind = "queen",
    *,
    distance_m: float | None = None,
    k: int = 8,
) -> GridWeights:
    """Build binary Gi* weights between the grids of ``gdf``, in its row order.

    Parameters
    ----------
    gdf
        Grids with ``code`` and polygon geometry, any CRS (geographic or projected).
    kind
        ``queen``: grids sharing a vertex; ``rook``: grids sharing an edge; ``distance``: grids
        whose centroids lie within ``distance_m``; ``knn``: each grid's ``k`` nearest centroids.
    distance_m
        Band of ``distance`` weights in metres; None: the smallest band that leaves no grid
        without a neighbour (:func:`default_distance_m`).
    k
        Neighbours of ``knn`` weights; lowered to n - 1 for fewer than k + 1 grids.

    Returns
    -------
    GridWeights
    """
    if kind not in WEIGHTS:
        raise InvalidParameter(f"Parameter 'weights' must be one of {', '.join(WEIGHTS)}.")
    n = len(gdf)
    geometry = gpd.GeoSeries(gdf.geometry.values, index=np.arange(n), crs=gdf.crs)
    used_distance: float | None = None
    used_k: int | None = None
    if kind in ("queen", "rook"):
        graph = Graph.build_contiguity(geometry, rook=kind == "rook")
    else:
        xy = metric_centroids(gdf)
        if kind == "distance":
            used_distance = float(distance_m) if distance_m else default_distance_m(xy)
            graph = Graph.build_distance_band(xy, used_distance, binary=True)
        else:
            used_k = max(1, min(int(k), n - 1))
            graph = Graph.build_knn(xy, used_k) if n > 1 else Graph.from_arrays([0], [0], [0])
    islands = np.zeros(n, dtype=bool)
    islands[np.asarray(graph.isolates, dtype=np.int64)] = True
    return GridWeights(
        graph=graph.assign_self_weight(1.0),
        codes=np.asarray(gdf["code"], dtype=str),
        islands=islands,
        kind=kind,
        distance_m=used_distance,
        k=used_k,
    )


def grids_token(gdf: gpd.GeoDataFrame) -> Hashable:
    """What identifies a set of grids: the version read with them, else a digest of them.

    :func:`geogrid.hotspots.counts.grid_case_counts` stores the database and ``grids`` layer
    version in ``attrs["grids_version"]``; grids from elsewhere are identified by a SHA-1 of
    their codes and WKB geometries (about 10 ms for 10,000 grids).
    """
    version = gdf.attrs.get("grids_version")
    if version is not None:
        return ("version", *version)
    digest = hashlib.sha1()
    for code in gdf["code"].astype(str):
        digest.update(code.encode() + b"\0")
    for wkb in shapely.to_wkb(gdf.geometry.values):
        digest.update(wkb)
    return ("digest", digest.hexdigest(), str(gdf.crs))


class WeightsCache:
    """A small LRU of :class:`GridWeights`, safe to share between request threads.

    A hit also requires the cached codes to equal the grids' codes, so a frame derived from
    counted grids (which keeps their ``attrs``) never gets weights built for other rows.

    Attributes
    ----------
    builds
        How many times weights were built (not found in the cache).
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.builds = 0
        self._entries: OrderedDict[Hashable, GridWeights] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, codes: npt.NDArray[np.str_], build: Callable[[], GridWeights]
    ) -> GridWeights:
        """The weights under ``key`` for grids ``codes``, built when missing.

        Building runs outside the lock: two requests missing the same key at once may both
        build (the same weights), rather than one waiting behind the other's lock.
        """
        with self._lock:
            found = self._entries.get(key)
            if found is not None and np.array_equal(found.codes, codes):
                self._entries.move_to_end(key)
                return found
        built = build()
        with self._lock:
            self.builds += 1
            self._entries[key] = built
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return built

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


WEIGHTS_CACHE = WeightsCache()
"""The process-wide cache :func:`geogrid.hotspots.gi_star` uses by default."""


def cached_weights(
    gdf: gpd.GeoDataFrame,
    kind: WeightsKind,
    *,
    distance_m: float | None,
    k: int,
    cache: WeightsCache | None,
) -> GridWeights:
    """:func:`build_weights` through ``cache`` (None: always build)."""

    def build() -> GridWeights:
        return build_weights(gdf, kind, distance_m=distance_m, k=k)

    if cache is None:
        return build()
    params = (distance_m,) if kind == "distance" else (k,) if kind == "knn" else ()
    key = (grids_token(gdf), kind, *params)
    return cache.get(key, np.asarray(gdf["code"], dtype=str), build)
