"""Request dependencies: one connection (one transaction) per request, settings, the cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Connection, Engine

from api.auth import audit_write, audit_written
from geogrid.catalogue import Catalogue, load_catalogue
from geogrid.db.engine import autocommit_connection
from geogrid.settings import Settings
from geogrid.tiles import TileCache
from geogrid.worktime import WorkCalendar


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_connection(request: Request) -> Iterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back on error.

    Used with ``scope="function"`` (:data:`ConnDep`): the commit happens before the response
    is sent, so a write the client is told succeeded is durable, and a failing commit is an
    error response instead of a lost write. A write's audit row is part of the same
    transaction."""
    with get_engine(request).begin() as conn:
        yield conn
        audit_write(conn, request)  # a write and its audit row commit together
    audit_written(request)


def get_read_connection(request: Request) -> Iterator[Connection]:
    """A connection in autocommit mode for read-only requests: no BEGIN/COMMIT round trips."""
    with autocommit_connection(get_engine(request)) as conn:
        yield conn


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_tile_cache(request: Request) -> TileCache:
    return request.app.state.tile_cache


def get_catalogue(request: Request) -> Catalogue:
    """The classification catalogue with the district's extension, loaded once per app."""
    state = request.app.state
    if getattr(state, "catalogue", None) is None:
        state.catalogue = load_catalogue(get_settings(request).catalogue_file)
    return state.catalogue


def get_calendar(request: Request) -> WorkCalendar:
    """The working-time calendar (holidays, swapped days), loaded once per app."""
    state = request.app.state
    if getattr(state, "calendar", None) is None:
        settings = get_settings(request)
        state.calendar = WorkCalendar.load(settings.calendar_file, tz=settings.timezone)
    return state.calendar


ConnDep = Annotated[Connection, Depends(get_connection, scope="function")]
ReadConnDep = Annotated[Connection, Depends(get_read_connection)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TileCacheDep = Annotated[TileCache, Depends(get_tile_cache)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
CalendarDep = Annotated[WorkCalendar, Depends(get_calendar)]
