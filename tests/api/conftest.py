"""API fixtures: the real app over a real PostGIS database, in-process or on a real port.

``client`` is an admin (it sends the tests' admin API key); ``anon_client`` sends nothing;
``role_client`` makes a client of any role with its scope.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.auth import Role
from tests.credentials import ADMIN, SECRET_KEY, app_settings, role_key


@pytest.fixture
def client(territory_engine: Engine) -> Iterator[TestClient]:
    """An admin client of the app serving the hand-made territory."""
    with TestClient(create_app(app_settings(territory_engine)), headers=ADMIN) as c:
        yield c


@pytest.fixture
def anon_client(territory_engine: Engine) -> Iterator[TestClient]:
    """A client that sends no credentials (public reads off)."""
    with TestClient(create_app(app_settings(territory_engine))) as c:
        yield c


RoleClient = Callable[..., TestClient]


@pytest.fixture
def role_client(territory_engine: Engine) -> Iterator[RoleClient]:
    """``role_client(role, streets=(), supervisor_id=None, **settings)``: a client with a new
    API key of that role (and scope), on an app built with the given settings."""
    with ExitStack() as stack:

        def make(
            role: Role | str,
            *,
            streets: Iterable[str] = (),
            supervisor_id: str | None = None,
            **options: object,
        ) -> TestClient:
            headers = role_key(territory_engine, role, streets=streets, supervisor_id=supervisor_id)
            app = create_app(app_settings(territory_engine, **options))
            return stack.enter_context(TestClient(app, headers=headers))

        yield make


@contextmanager
def serve(engine: Engine, **env: str) -> Iterator[str]:
    """The app served by uvicorn in its own process on a free loopback port; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "GEOGRID_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "GEOGRID_SECRET_KEY": SECRET_KEY,
        **env,
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


@pytest.fixture
def live_url(territory_engine: Engine) -> Iterator[str]:
    """The app served by uvicorn in its own process on a free loopback port.

    A separate process, as in production: GDAL and Chromium are real clients over real HTTP.
    They read anonymously: the server allows public reads (``GEOGRID_PUBLIC_READ=1``); a write
    still needs the admin key (:data:`tests.credentials.ADMIN`). ``private_live_url`` serves with
    public reads off.
    """
    # Small pages, so that clients must follow `next` links to read the 6 grids.
    with serve(territory_engine, GEOGRID_MAX_PAGE_SIZE="4", GEOGRID_PUBLIC_READ="1") as url:
        yield url


@pytest.fixture
def private_live_url(territory_engine: Engine) -> Iterator[str]:
    """The app on a real port with public reads off: every request needs a login."""
    with serve(territory_engine, GEOGRID_PUBLIC_READ="0") as url:
        yield url
