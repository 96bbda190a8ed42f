"""Hotspots (热点分析) of cases over unit grids: Getis-Ord Gi* on case counts (DOMAIN.md §3, §4).

Where do cases cluster more than chance would give? Cases registered in a period are counted
per current unit grid (:func:`grid_case_counts`, one set-based query), and Getis-Ord Gi*
(:func:`gi_star`, ``esda.G_Local``) marks grids whose neighbourhood holds significantly many
(热点) or few (冷点) cases, binned at 90, 95 and 99 % confidence as ArcGIS does. Spatial weights
between grids are built once per grid layer version and kept (:class:`WeightsCache`).
:func:`find_hotspots` and :func:`hotspot_page` are the calls of the API and the map page.
"""

from geogrid.hotspots.analysis import HotspotPage, find_hotspots, hotspot_page
from geogrid.hotspots.counts import grid_case_counts, period_bounds
from geogrid.hotspots.geojson import hotspots_geojson
from geogrid.hotspots.gistar import (
    CLASS_LABELS,
    CLASSES,
    HotspotResult,
    Note,
    classify,
    gi_star,
    significance_cutoffs,
)
from geogrid.hotspots.points import (
    CasePoint,
    CasePoints,
    HeatCells,
    case_points,
    heat_cells,
    latest_case_day,
    sub_class_counts,
)
from geogrid.hotspots.request import CaseFilter, HotspotRequest, parse_hotspot_request
from geogrid.hotspots.weights import WEIGHTS_CACHE, GridWeights, WeightsCache, build_weights

__all__ = [
    "CLASSES",
    "CLASS_LABELS",
    "WEIGHTS_CACHE",
    "CaseFilter",
    "CasePoint",
    "CasePoints",
    "GridWeights",
    "HeatCells",
    "HotspotPage",
    "HotspotRequest",
    "HotspotResult",
    "Note",
    "WeightsCache",
    "build_weights",
    "case_points",
    "classify",
    "find_hotspots",
    "gi_star",
    "grid_case_counts",
    "heat_cells",
    "hotspot_page",
    "hotspots_geojson",
    "latest_case_day",
    "parse_hotspot_request",
    "period_bounds",
    "significance_cutoffs",
    "sub_class_counts",
]
