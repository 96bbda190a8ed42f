"""Component statistics and the component map page.

Query values arrive as text and are checked by the core (``geogrid.components``), so every
refusal is one sentence naming the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CatalogueDep, ReadConnDep, SettingsDep
from api.downloads import csv_file
from geogrid.components.stats import (
    component_map_data,
    component_statistics,
    name_classes,
    statistics_csv,
    statistics_totals,
)
from geogrid.errors import InvalidParameter
from geogrid.territory.store import district_names
from maps.components import build_components_map

router = APIRouter(tags=["Components"])

HTML_HEADERS = {"Cache-Control": "no-cache"}
FORMATS = ("json", "csv")


class ComponentFilters(BaseModel):
    """Which current components: every filter optional, blank meaning all."""

    model_config = ConfigDict(populate_by_name=True)

    major_class: str | None = Field(None, alias="class", description="2-digit major class.")
    sub_class: str | None = Field(None, description="5-digit class code, e.g. 01037.")
    status: str | None = Field(None, description="Status code or Chinese name, e.g. 破损.")


class StatisticsQuery(ComponentFilters):
    """Counts per territory unit and class."""

    level: str = Field("street", description="grid, community, street or district.")
    by: str = Field("class", description="class (major class) or sub_class.")
    format: str = Field("json", description="json or csv.")


class MapQuery(ComponentFilters):
    """The map page's filters (the form sends class, sub_class, status and street)."""

    street: str | None = Field(None, description="9-digit street code or street name.")
    owner: str | None = Field(None, description="Owner (权属单位), exact text.")
    grid: str | None = Field(None, description="15-digit unit grid code.")

    def values(self) -> dict[str, str | None]:
        return self.model_dump(by_alias=True)


@router.get("/components/statistics", response_model=None)
def statistics(
    query: Annotated[StatisticsQuery, Query()], conn: ReadConnDep, catalogue: CatalogueDep
) -> dict[str, Any] | Response:
    """Current components per territory unit and class: count, density, with open cases."""
    if query.format not in FORMATS:
        raise InvalidParameter(f"Parameter 'format' must be json or csv, got '{query.format}'.")
    rows = component_statistics(
        conn,
        level=query.level,
        by=query.by,
        sub_class=query.sub_class,
        major_class=query.major_class,
        status=query.status,
    )
    named, totals = name_classes(rows, catalogue, by=query.by), statistics_totals(rows)
    if query.format == "csv":
        name = f"components-{query.level}-{query.by}.csv"
        return csv_file(name, statistics_csv(named, totals, by=query.by))
    return {"level": query.level, "by": query.by, "rows": named, "totals": totals}


@router.get("/maps/components", response_class=HTMLResponse)
def components_map(
    query: Annotated[MapQuery, Query()],
    conn: ReadConnDep,
    settings: SettingsDep,
    catalogue: CatalogueDep,
) -> HTMLResponse:
    """Map of the components coloured by major class, clustered, with a filter form."""
    data = component_map_data(conn, query.values())
    fmap = build_components_map(
        data,
        catalogue,
        basemap_url=settings.basemap_url,
        basemap_attribution=settings.basemap_attribution,
        title="、".join(district_names(conn).values()) or None,
    )
    return HTMLResponse(fmap.get_root().render(), headers=HTML_HEADERS)
