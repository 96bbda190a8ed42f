"""The core library knows nothing of HTTP or web pages (STYLE.md, dependency direction)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_core_loads_no_web_framework() -> None:
    code = (
        "import sys, geogrid, geogrid.layers, geogrid.features.query, geogrid.tiles, "
        "geogrid.db.engine, geogrid.cli, geogrid.grids.rules\n"
        "geogrid.layers.load_layers()\n"
        "bad = [m for m in ('fastapi', 'starlette', 'folium', 'api', 'maps') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
