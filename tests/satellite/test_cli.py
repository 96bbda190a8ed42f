"""``geogrid patches`` as a user runs it: a real process against a real database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from tests.satellite.data import write_image
from tests.satellite.scenario import AFTER, BATCH, BEFORE, DELIVERED, build_scored, patch_file
from tests.test_cli import geogrid


def test_import_register_verify_list(territory_engine: Engine, tmp_path: Path) -> None:
    path = patch_file(tmp_path)
    res = geogrid(
        territory_engine,
        "patches",
        "import",
        str(path),
        "--batch",
        BATCH,
        "--delivered-at",
        DELIVERED.strftime("%Y-%m-%d %H:%M:%S"),
        "--vendor",
        "测绘院",
    )
    assert res.returncode == 0, res.stderr
    assert "Imported 9 patch(es)" in res.stdout
    for role, blocks in (("before", BEFORE), ("after", AFTER)):
        image = write_image(tmp_path / f"{role}.tif", blocks)
        res = geogrid(territory_engine, "patches", "imagery", BATCH, role, str(image))
        assert res.returncode == 0, res.stderr
        assert "200 x 100 px" in res.stdout
    rules = tmp_path / "rules.json"
    rules.write_text('{"distance_m": 50}')
    res = geogrid(territory_engine, "patches", "verify", "--batch", BATCH, "--rules", str(rules))
    assert res.returncode == 0, res.stderr
    assert "9 patch(es) verified" in res.stdout and "not_verified" in res.stdout
    listed = geogrid(territory_engine, "patches", "batches")
    assert listed.returncode == 0 and f"Batch {BATCH}" in listed.stdout
    again = geogrid(territory_engine, "patches", "import", str(path), "--batch", BATCH)
    assert again.returncode == 1 and "imported already" in again.stderr
    assert "Traceback" not in again.stderr


def test_scores(territory_engine: Engine, tmp_path: Path) -> None:
    build_scored(territory_engine, tmp_path)
    assert geogrid(territory_engine, "patches", "verify", "--batch", BATCH).returncode == 0
    res = geogrid(territory_engine, "patches", "scores", "--batch", BATCH, "--at", "2026-07-01")
    assert res.returncode == 0, res.stderr
    assert "龙城街道" in res.stdout and "乌龙街道" in res.stdout
    assert "卫星遥感监测体系 5.33 / 6 points (deduction 0.67" in res.stdout
    rules = tmp_path / "score.json"
    rules.write_text('{"mode": "share", "factor": 0.5}')
    res = geogrid(territory_engine, "patches", "scores", "--rules", str(rules))
    assert res.returncode == 0 and "deduction 2.33" in res.stdout
    rules.write_text('{"mode": "linear"}')
    bad = geogrid(territory_engine, "patches", "scores", "--rules", str(rules))
    assert bad.returncode != 0 and "'mode'" in bad.stderr and "Traceback" not in bad.stderr
