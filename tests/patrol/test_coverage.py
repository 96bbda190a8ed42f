"""Coverage on hand-made tracks: 15 m from a grid for 40 s is patrolled, 25 m is not."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from geogrid.patrol.coverage import CoverageRule, grid_dwell
from geogrid.patrol.fixes import parse_fixes, store_fixes
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from tests.cases_data import lonlat

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"
DAY = date(2026, 10, 9)


@pytest.fixture
def walked(territory_engine: Engine) -> Engine:
    """S1 walks east 15 m north of A1-1 for 40 s, then 25 m north of A1-2 for 40 s."""
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [SupervisorSpec("S1", "张三", grids=(A11, A12, B11), valid_from=date(2026, 1, 1))],
            shown="t",
        )
    rows = []
    for i in range(5):  # 09:00:00 .. 09:00:40, x = 20 .. 80 m, y = 115 m above A1-1's south
        lon, lat = lonlat(A11, 20 + 15 * i, 115)
        rows.append(
            {
                "supervisor_id": "S1",
                "timestamp": f"2026-10-09 09:00:{10 * i:02d}",
                "lon": lon,
                "lat": lat,
            }
        )
    for i in range(5):  # 09:30:00 .. 09:30:40 along A1-2, 25 m north of its north edge
        lon, lat = lonlat(A12, 20 + 15 * i, 125)
        rows.append(
            {
                "supervisor_id": "S1",
                "timestamp": f"2026-10-09 09:30:{10 * i:02d}",
                "lon": lon,
                "lat": lat,
            }
        )
    with territory_engine.begin() as conn:
        fixes = parse_fixes(pd.DataFrame(rows).astype(str), supervisors={"S1"}, devices={})
        store_fixes(conn, fixes, district_code="530114")
    return territory_engine


def _dwell(engine: Engine, rule: CoverageRule | None = None) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["grid_code"]: r for r in grid_dwell(conn, DAY, DAY, rule=rule or CoverageRule())}


def test_fifteen_metres_for_forty_seconds_is_patrolled(walked: Engine) -> None:
    rows = _dwell(walked)
    assert rows[A11]["dwell_s"] == pytest.approx(40, abs=0.5)
    assert rows[A11]["patrolled"] is True
    assert rows[A12]["dwell_s"] == 0 and rows[A12]["patrolled"] is False  # 25 m away
    assert rows[B11]["dwell_s"] == 0  # never near


def test_the_rule_is_configurable(walked: Engine) -> None:
    assert _dwell(walked, CoverageRule(buffer_m=30))[A12]["patrolled"] is True
    assert _dwell(walked, CoverageRule(min_dwell_s=60))[A11]["patrolled"] is False
    # fixes 10 s apart form no segment when the largest allowed gap is 5 s
    assert _dwell(walked, CoverageRule(max_gap_s=5))[A11]["dwell_s"] == 0


def test_days_without_fixes_have_rows(walked: Engine) -> None:
    with walked.connect() as conn:
        rows = grid_dwell(conn, DAY, date(2026, 10, 10))
    assert len(rows) == 6  # 3 grids × 2 days
    assert sum(r["patrolled"] for r in rows) == 1


def test_visits_over_a_period(walked: Engine) -> None:
    from geogrid.patrol.coverage import grid_visits

    with walked.connect() as conn:
        rows = {r["grid_code"]: r for r in grid_visits(conn, DAY, date(2026, 10, 11))}
    assert rows[A11]["days_assigned"] == 3 and rows[A11]["visits"] == 1
    assert rows[A11]["dwell_s"] == pytest.approx(40, abs=0.5)
    assert rows[A11]["never_patrolled"] is False
    assert rows[A12]["never_patrolled"] is True and rows[B11]["visits"] == 0
