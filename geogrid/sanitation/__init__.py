"""Sanitation (环卫, issue 10): companies, cleaning areas and road segments, vehicles and crews,
sweeping coverage, and the companies' case tables.

- :mod:`~geogrid.sanitation.rules`: vocabularies, :class:`SweepRule`, the self-handling tiers;
- :mod:`~geogrid.sanitation.fleet`: companies, vehicles and crews (trackers);
- :mod:`~geogrid.sanitation.areas`: cleaning areas and road segments (uploads, from roads);
- :mod:`~geogrid.sanitation.sweeping` and :mod:`~geogrid.sanitation.coverage`: the share of
  each segment swept per day, per company, area and road class, and the segments missed;
- :mod:`~geogrid.sanitation.indicators`: the companies' case tables and self-handled share
  (imported from there: it builds on :mod:`geogrid.indicators`, which imports this package's
  rules);
- :mod:`~geogrid.sanitation.mapdata`: what the sanitation map shows.

Vehicles and crews send fixes through the supervisors' ingest (``POST /tracks``); see
migration 0012 for how their ids share the fixes table.
"""

from geogrid.sanitation.areas import (
    AreaSpec,
    SegmentSpec,
    areas_geojson,
    import_areas,
    import_segments,
    replace_segments,
    segments_from_roads,
    segments_geojson,
    store_areas,
)
from geogrid.sanitation.coverage import SweepTable, sweep_csv, sweep_table, sweep_xlsx
from geogrid.sanitation.fleet import (
    CompanySpec,
    TrackerSpec,
    get_company,
    list_companies,
    list_trackers,
    read_companies,
    read_trackers,
    register_companies,
    register_trackers,
)
from geogrid.sanitation.rules import SANITATION_SUB_CLASSES, SweepRule, self_handling_points
from geogrid.sanitation.sweeping import sweep_days

__all__ = [
    "SANITATION_SUB_CLASSES",
    "AreaSpec",
    "CompanySpec",
    "SegmentSpec",
    "SweepRule",
    "SweepTable",
    "TrackerSpec",
    "areas_geojson",
    "get_company",
    "import_areas",
    "import_segments",
    "list_companies",
    "list_trackers",
    "read_companies",
    "read_trackers",
    "register_companies",
    "register_trackers",
    "replace_segments",
    "segments_from_roads",
    "segments_geojson",
    "self_handling_points",
    "store_areas",
    "sweep_csv",
    "sweep_days",
    "sweep_table",
    "sweep_xlsx",
]
