"""The application factory: reads settings, wires routers, static files and error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from api import auth, errors, hardening, jobs
from api.routers import (
    assessments,
    cases,
    catalogue,
    component_updates,
    component_views,
    dispatch,
    grid_updates,
    health,
    hotspots,
    indicators,
    maps,
    ogc,
    patrol,
    patrol_views,
    sanitation,
    sanitation_views,
    satellite,
    satellite_views,
    tiles,
)
from geogrid import __version__
from geogrid.db.engine import database_url, make_engine
from geogrid.layers import load_layers
from geogrid.settings import Settings
from geogrid.tiles import TileCache
from maps.assets import STATIC_DIR, use_offline_assets


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the geogrid API for ``settings`` (read from the environment when None)."""
    settings = settings or Settings()
    load_layers()
    use_offline_assets("/static")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings.database_url, settings.pg_dir, settings.pg_port)
        app.state.engine = make_engine(url, statement_timeout_ms=settings.statement_timeout_ms)
        # Background jobs run on their own connections, without the per-request time limit.
        app.state.job_engine = make_engine(url, pool_size=2)
        app.state.jobs = ThreadPoolExecutor(max_workers=2, thread_name_prefix="geogrid-job")
        try:
            yield
        finally:
            app.state.jobs.shutdown(wait=True, cancel_futures=False)
            app.state.job_engine.dispose()
            app.state.engine.dispose()

    app = FastAPI(
        title="geogrid",
        version=__version__,
        description="Grid-based city management (网格化城市管理) for a district command centre: "
        "unit grids, map layers (OGC API - Features, vector tiles) and web maps.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tile_cache = TileCache(settings.tile_cache_size)
    app.state.map_pages = {}
    errors.install(app)
    auth.install(app)  # before the routers: every request is checked, audited
    # Level 4: large GeoJSON pages compress several times faster than at the default 9.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=4)
    hardening.install(app, settings)  # outermost: limits and headers apply to every response
    for router in (
        health.router,
        ogc.router,
        tiles.router,
        maps.router,
        grid_updates.router,
        jobs.router,
        catalogue.router,
        cases.router,
        indicators.router,
        hotspots.router,
        component_updates.router,
        component_views.router,
        patrol.router,
        patrol_views.router,
        satellite.router,
        satellite_views.router,
        sanitation.router,
        sanitation_views.router,
        dispatch.router,
        assessments.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
