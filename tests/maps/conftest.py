"""Fixtures of the map tests: a local web server for pages and the offline assets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from maps.assets import STATIC_DIR

TILE = STATIC_DIR / "vendor" / "leaflet" / "images" / "layers-2x.png"
"""Any PNG will do as the basemap tile."""


@dataclass
class Site:
    """Local server: ``root`` at ``/``, ``maps/static`` at ``/static``, one tile at ``/tiles/``."""

    url: str
    root: Path
    log: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    server_log: list[tuple[str, int]] = []

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            if path.startswith("/tiles/"):
                return str(TILE)
            if path.startswith("/static/"):
                self.directory, path = str(STATIC_DIR), path.removeprefix("/static")
            else:
                self.directory = str(tmp_path)
            return super().translate_path(path)

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            server_log.append((self.path, int(code)))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", tmp_path, server_log)
    finally:
        server.shutdown()
        server.server_close()
