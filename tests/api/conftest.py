"""API fixtures: the real app over a real PostGIS database, in-process or on a real port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.settings import Settings


def _settings(engine: Engine) -> Settings:
    return Settings(database_url=engine.url.render_as_string(hide_password=False))


@pytest.fixture
def client(territory_engine: Engine) -> Iterator[TestClient]:
    """A client of the app serving the hand-made territory."""
    with TestClient(create_app(_settings(territory_engine))) as c:
        yield c


@pytest.fixture
def live_url(territory_engine: Engine) -> Iterator[str]:
    """The app served by uvicorn in its own process on a free loopback port.

    A separate process, as in production: GDAL and Chromium are real clients over real HTTP.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "GEOGRID_DATABASE_URL": _settings(territory_engine).database_url or "",
        # Small pages, so that clients must follow `next` links to read the 6 grids.
        "GEOGRID_MAX_PAGE_SIZE": "4",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
