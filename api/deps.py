"""Request dependencies: one connection (one transaction) per request, settings, the cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Connection, Engine

from geogrid.settings import Settings
from geogrid.tiles import TileCache


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_connection(request: Request) -> Iterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with get_engine(request).begin() as conn:
        yield conn


def get_read_connection(request: Request) -> Iterator[Connection]:
    """A connection in autocommit mode for read-only requests: no BEGIN/COMMIT round trips."""
    with get_engine(request).connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_tile_cache(request: Request) -> TileCache:
    return request.app.state.tile_cache


ConnDep = Annotated[Connection, Depends(get_connection)]
ReadConnDep = Annotated[Connection, Depends(get_read_connection)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
TileCacheDep = Annotated[TileCache, Depends(get_tile_cache)]
