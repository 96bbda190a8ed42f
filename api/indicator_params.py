"""Reading indicator parameters (period, cut-off, filters) from a request's query string."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from geogrid.indicators.params import IndicatorQuery
from geogrid.settings import Settings

#: Query parameters that ask a territory collection to carry a period's indicators.
INDICATOR_PARAMS = ("from", "to", "cutoff", "platform", "source", "denominator")


def indicator_query(
    params: QueryParams, settings: Settings, *, level: str | None = None
) -> IndicatorQuery | None:
    """The indicator query of ``params`` when it names a period (``from``), else None."""
    if "from" not in params and "to" not in params:
        return None
    return IndicatorQuery.parse(
        level=level or params.get("level"),
        start=params.get("from"),
        end=params.get("to"),
        cutoff=params.get("cutoff"),
        platform=params.get("platform"),
        source=params.get("source"),
        boundaries=params.get("boundaries"),
        denominator=params.get("denominator"),
        **settings.indicator_options(),
    )
