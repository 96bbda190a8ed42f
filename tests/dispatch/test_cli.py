"""``geogrid responsibility`` as a user runs it: dry run, apply, rules, dispatch."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from tests.dispatch.rules_data import A11, ll, write_rules_csv
from tests.test_cli import geogrid


def test_import_apply_rules_and_dispatch(territory_engine: Engine, tmp_path: Path) -> None:
    rules = [{"code": "R7", "sub_class": "06010", "unit": "城南环卫公司", "grids": A11}]
    path = write_rules_csv(tmp_path / "rules.csv", rules)
    dry = geogrid(territory_engine, "responsibility", "import", str(path))
    assert dry.returncode == 0, dry.stderr
    assert "Dry run" in dry.stdout and "geogrid responsibility apply 1" in dry.stdout
    applied = geogrid(territory_engine, "responsibility", "apply", "1")
    assert applied.returncode == 0, applied.stderr
    listed = geogrid(territory_engine, "responsibility", "rules")
    assert "R7" in listed.stdout and "城南环卫公司" in listed.stdout
    lon, lat = ll(50, 150)
    sent = geogrid(territory_engine, "responsibility", "dispatch", str(lon), str(lat), "06010")
    assert sent.returncode == 0, sent.stderr
    assert "按规则 R7" in sent.stdout and "城南环卫公司" in sent.stdout
    bad = write_rules_csv(tmp_path / "bad.csv", [{"sub_class": "06010", "grids": A11}])
    refused = geogrid(territory_engine, "responsibility", "import", str(bad))
    assert refused.returncode == 1 and "row 2" in refused.stderr
