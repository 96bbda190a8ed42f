"""The ``geogrid`` command as a user runs it: a real process against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import Engine

from geogrid.db.engine import head_revision
from tests.api.test_grid_updates import SPLIT_A11


def geogrid(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GEOGRID_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COLUMNS": "160",
    }
    exe = Path(sys.executable).parent / "geogrid"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=120)


def test_import_dry_run_then_apply_then_history(territory_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "春城社区.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": SPLIT_A11}))
    dry = geogrid(territory_engine, "grids", "import", str(path))
    assert dry.returncode == 0, dry.stderr
    assert "Dry run" in dry.stdout and "geogrid grids apply 1" in dry.stdout
    assert "split" in dry.stdout
    applied = geogrid(territory_engine, "grids", "apply", "1")
    assert applied.returncode == 0, applied.stderr
    assert "applied" in applied.stdout
    history = geogrid(territory_engine, "grids", "history", "530114001001001")
    assert history.returncode == 0 and "530114001001" in history.stdout
    xlsx = tmp_path / "plan.xlsx"
    shown = geogrid(territory_engine, "grids", "show", "1", "--xlsx", str(xlsx))
    assert shown.returncode == 0 and xlsx.stat().st_size > 0


def test_errors_are_sentences_not_tracebacks(territory_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "grids.csv"
    path.write_text('code,wkt\n530114001001001,"POLYGON((0 0,1 0,1 1,0 0))"\n')
    res = geogrid(territory_engine, "grids", "import", str(path))
    assert res.returncode == 1
    assert "Error:" in res.stderr and "--crs" in res.stderr
    assert "Traceback" not in res.stderr
    missing = geogrid(territory_engine, "grids", "apply", "42")
    assert missing.returncode == 1 and "no grids plan 42" in missing.stderr


def test_db_status_with_a_configured_server(territory_engine: Engine) -> None:
    res = geogrid(territory_engine, "db", "status")
    assert res.returncode == 0 and head_revision() in res.stdout
    url = geogrid(territory_engine, "db", "url")
    assert url.stdout.strip().startswith("postgresql")
