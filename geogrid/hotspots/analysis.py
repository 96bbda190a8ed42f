"""A hotspot analysis from request to result, and the data of the hotspot map page.

These are the two calls the API makes: :func:`find_hotspots` (``GET /hotspots``) and
:func:`hotspot_page` (``GET /maps/hotspots``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from geogrid.catalogue import Kind
from geogrid.hotspots.counts import DEFAULT_TZ, grid_case_counts
from geogrid.hotspots.geojson import hotspots_geojson
from geogrid.hotspots.gistar import HotspotResult, gi_star
from geogrid.hotspots.points import (
    HEAT_LIMIT,
    MARKER_LIMIT,
    CasePoints,
    HeatCells,
    case_points,
    heat_cells,
    latest_case_day,
    sub_class_counts,
)
from geogrid.hotspots.request import (
    CaseFilter,
    HotspotRequest,
    default_page_period,
    parse_day,
    parse_source,
    parse_sub_class,
)
from geogrid.hotspots.weights import WEIGHTS_CACHE, WeightsCache


def find_hotspots(
    conn: Connection,
    request: HotspotRequest,
    *,
    tz: str = DEFAULT_TZ,
    cache: WeightsCache | None = WEIGHTS_CACHE,
) -> HotspotResult:
    """Count the request's cases per grid and run Gi* on them (DOMAIN.md §4).

    Returns the :class:`HotspotResult` of :func:`~geogrid.hotspots.gistar.gi_star`, its
    ``parameters`` preceded by the period and filters (``from``, ``to``, ``sub_class``,
    ``source``, ``boundaries``, ``timezone``).
    """
    c = request.cases
    counts = grid_case_counts(
        conn,
        start=c.start,
        end=c.end,
        sub_class=c.sub_class,
        source=c.source,
        boundaries=request.boundaries,
        tz=tz,
    )
    result = gi_star(
        counts,
        value=request.value,
        weights=request.weights,
        distance_m=request.distance_m,
        k=request.k or 8,
        permutations=request.permutations,
        fdr=request.fdr,
        cache=cache,
    )
    period: dict[str, Any] = {
        "from": c.start.isoformat(),
        "to": c.end.isoformat(),
        "sub_class": c.sub_class,
        "source": c.source,
        "boundaries": request.boundaries,
        "timezone": tz,
    }
    return dataclasses.replace(result, parameters={**period, **result.parameters})


@dataclass(frozen=True)
class HotspotPage:
    """Everything the hotspot map page shows; ``hotspots`` is None when there is no case at all.

    Attributes
    ----------
    cases
        The period and filters shown (None: no period, the database holds no case).
    hotspots
        :func:`~geogrid.hotspots.geojson.hotspots_geojson` of Gi* on case counts (queen
        contiguity, analytic p-values).
    heat
        Case heat cells of the period.
    markers
        The most recent cases of the period.
    sub_classes
        (subclass, name, cases) of the period, most frequent first, for the subclass selector;
        the name comes from ``sub_class_name``, the code when there is none.
    latest_day
        Last local day with a registered case.
    bounds
        (west, south, east, north) of the grids in degrees, None without grids.
    """

    cases: CaseFilter | None
    hotspots: dict[str, Any] | None
    heat: HeatCells | None
    markers: CasePoints | None
    sub_classes: list[tuple[str, str, int]]
    latest_day: date | None
    bounds: tuple[float, float, float, float] | None = None

    def sub_class_name(self, code: str) -> str:
        """The subclass's name as listed, else the code."""
        return next((name for c, name, _ in self.sub_classes if c == code), code)


SubClassName = Callable[[Kind, str], str]
"""``name(kind, code)``: the name of subclass ``code`` of ``kind`` (``event`` or ``component``),
as ``geogrid.catalogue.Catalogue.name`` gives it."""


def _named(name: SubClassName | None, case_type: str, code: str) -> str:
    if name is None:
        return code
    try:
        return name("component" if case_type == "component" else "event", code) or code
    except (LookupError, ValueError):
        return code


def hotspot_page(
    conn: Connection,
    raw: Mapping[str, str | None],
    *,
    tz: str = DEFAULT_TZ,
    sub_class_name: SubClassName | None = None,
    marker_limit: int = MARKER_LIMIT,
    heat_limit: int = HEAT_LIMIT,
) -> HotspotPage:
    """Read the map page's data for query values ``from``, ``to``, ``sub_class``, ``source``.

    A missing period ends on the last day with a registered case and covers 30 days
    (:func:`~geogrid.hotspots.request.default_page_period`); with no case in the database the
    page has no period and no data. Gi* runs with queen weights on case counts.
    ``sub_class_name`` names subclasses (the app's catalogue); without it, or for a code it
    does not know, the code is shown.
    """
    sub_class, source = parse_sub_class(raw.get("sub_class")), parse_source(raw.get("source"))
    start, end = parse_day(raw.get("from"), "from"), parse_day(raw.get("to"), "to")
    latest = latest_case_day(conn, tz=tz)
    period = default_page_period(start, end, latest)
    if period is None:
        return HotspotPage(None, None, None, None, [], latest)
    cases = CaseFilter(period[0], period[1], sub_class, source)
    result = find_hotspots(conn, HotspotRequest(cases=cases), tz=tz)
    start, end = cases.start, cases.end
    options = sub_class_counts(conn, start=start, end=end, source=source, tz=tz)
    heat = heat_cells(
        conn, start=start, end=end, sub_class=sub_class, source=source, limit=heat_limit, tz=tz
    )
    markers = case_points(
        conn, start=start, end=end, sub_class=sub_class, source=source, limit=marker_limit, tz=tz
    )
    return HotspotPage(
        cases=cases,
        hotspots=hotspots_geojson(result),
        heat=heat,
        markers=markers,
        sub_classes=[(code, _named(sub_class_name, kind, code), n) for code, kind, n in options],
        latest_day=latest,
        bounds=_bounds(result),
    )


def _bounds(result: HotspotResult) -> tuple[float, float, float, float] | None:
    if result.grids.empty:
        return None
    west, south, east, north = (float(v) for v in result.grids.total_bounds)
    return west, south, east, north
