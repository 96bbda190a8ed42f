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


def test_cases_import_indicators_and_monthly_report(
    territory_engine: Engine, tmp_path: Path
) -> None:
    from tests.cases_data import case, write_csv

    rows = [
        case(
            "K1",
            registered_at="2026-10-02 09:00",
            due_at="2026-10-03 09:00",
            closed_at="2026-10-02 17:00",
        ),
        case("K2", "530114002001001", registered_at="2026-10-03 09:00", due_at="2026-10-04 09:00"),
    ]
    imported = geogrid(
        territory_engine, "cases", "import", str(write_csv(tmp_path / "c.csv", rows))
    )
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 case(s)" in imported.stdout and "2 new" in imported.stdout
    shown = geogrid(
        territory_engine,
        "indicators",
        "--level",
        "street",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
    )
    assert shown.returncode == 0, shown.stderr
    assert "龙城街道" in shown.stdout and "合计" in shown.stdout and "50.0" in shown.stdout
    out = tmp_path / "grids.csv"
    written = geogrid(
        territory_engine,
        "indicators",
        "--level",
        "grid",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "-o",
        str(out),
    )
    assert written.returncode == 0 and out.read_text(encoding="utf-8-sig").count("\n") == 8
    html = tmp_path / "2026-10.html"
    report = geogrid(territory_engine, "reports", "monthly", "--month", "2026-10", "-o", str(html))
    assert report.returncode == 0 and "按期结案率" in html.read_text(encoding="utf-8")
    bad = geogrid(territory_engine, "indicators", "--from", "2026-10-01", "--to", "2026-09-01")
    assert bad.returncode == 1 and "before" in bad.stderr and "Traceback" not in bad.stderr


def test_components_import_apply_history(territory_engine: Engine, tmp_path: Path) -> None:
    from tests.components.test_update import A11, LAMP, code, point

    path = tmp_path / "lamps.geojson"
    features = [point(A11, 10, 10, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局")]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    dry = geogrid(territory_engine, "components", "import", str(path))
    assert dry.returncode == 0, dry.stderr
    assert "Dry run" in dry.stdout and "geogrid components apply 1" in dry.stdout
    applied = geogrid(territory_engine, "components", "apply", "1")
    assert applied.returncode == 0 and "applied" in applied.stdout
    history = geogrid(territory_engine, "components", "history", code(LAMP, 1))
    assert history.returncode == 0 and "区城管局" in history.stdout
    xlsx = tmp_path / "plan.xlsx"
    shown = geogrid(territory_engine, "components", "show", "1", "--xlsx", str(xlsx))
    assert shown.returncode == 0 and xlsx.stat().st_size > 0
    bad = geogrid(territory_engine, "components", "apply", "1")
    assert bad.returncode == 1 and "applied" in bad.stderr and "Traceback" not in bad.stderr


def test_supervisors_and_tracks_import(territory_engine: Engine, tmp_path: Path) -> None:
    from tests.cases_data import lonlat

    roster = tmp_path / "监督员.csv"
    roster.write_text(
        "id,name,level,device_id,grids,valid_from\n"
        "S1,张三,district,D-1,530114001001001;530114001001002,2026-01-01\n",
        encoding="utf-8",
    )
    res = geogrid(territory_engine, "supervisors", "import", str(roster))
    assert res.returncode == 0 and "Registered 1 supervisor" in res.stdout, res.stderr
    lon, lat = lonlat("530114001001001")
    track = tmp_path / "track.csv"
    track.write_text(
        "device_id,timestamp,lon,lat,accuracy_m\n"
        f"D-1,2026-10-09 09:00:00,{lon},{lat},8\n"
        f"D-1,2026-10-09 09:00:10,{lon},{lat + 0.00001},80\n",
        encoding="utf-8",
    )
    res = geogrid(territory_engine, "tracks", "import", str(track))
    assert res.returncode == 0, res.stderr
    assert "2 new" in res.stdout and "1 flagged" in res.stdout
    res = geogrid(territory_engine, "tracks", "import", str(track))
    assert "2 already stored" in res.stdout
    # one usable fix on A1-1: no segment, so nothing patrolled; the table names S1
    res = geogrid(territory_engine, "coverage", "--from", "2026-10-09", "--to", "2026-10-09")
    assert res.returncode == 0, res.stderr
    assert "S1" in res.stdout and "0.00%" in res.stdout and "巡查覆盖" in res.stdout
    out = tmp_path / "coverage.xlsx"
    res = geogrid(
        territory_engine,
        "coverage",
        "--from",
        "2026-10-09",
        "--to",
        "2026-10-09",
        "--level",
        "street",
        "-o",
        str(out),
    )
    assert res.returncode == 0 and out.read_bytes()[:2] == b"PK", res.stderr
    res = geogrid(territory_engine, "coverage", "--from", "2026-10-09", "--to", "2026-10-01")
    assert res.returncode != 0 and "before" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
    res = geogrid(
        territory_engine, "coverage", "--from", "2026-10-09", "--to", "2026-10-09", "--responses"
    )
    assert res.returncode == 0 and "0 task(s)" in res.stdout, res.stderr
