"""Fixtures of the assessment tests: the seven hand-made October cases of ``test_assess``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.worktime import WorkCalendar
from tests.assessment.test_assess import CASES
from tests.cases_data import write_csv


def load_october_cases(engine: Engine, folder: Path) -> None:
    """Import the cases A–G of ``tests/assessment/test_assess.py`` (October 2026)."""
    path = write_csv(folder / "october-cases.csv", CASES)
    with engine.begin() as conn:
        import_cases(conn, path, catalogue=load_catalogue(), calendar=WorkCalendar.load())


@pytest.fixture
def october_engine(territory_engine: Engine, tmp_path: Path) -> Engine:
    """The hand-made territory with the October cases A–G."""
    load_october_cases(territory_engine, tmp_path)
    return territory_engine
