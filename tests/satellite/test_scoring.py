"""Scoring patches: the deduction rule (pure) and a hand-computed batch in a real PostGIS."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from geogrid.errors import InvalidParameter, NotFound
from geogrid.satellite import ScoreRule, batch_scores, score_patches, verify_batch
from geogrid.satellite.scoring import score
from tests.satellite.scenario import BATCH, NOW, SCORED_VERDICTS, build_scored

PUBLISHED = {"patches": 9, "documents": 7, "documents_only": 0, "overdue": 0}
"""DOMAIN.md §6: of 9 patches in a month, 2 handled on site and 7 closed by documents."""


@pytest.mark.parametrize(
    "rule",
    [ScoreRule(), ScoreRule(mode="share"), ScoreRule(mode="per_patch")],
    ids=["tolerated_share", "share", "per_patch"],
)
def test_every_mode_reproduces_the_published_month(rule: ScoreRule) -> None:
    got = score(PUBLISHED, rule)
    assert got == {"points": 6.0, "documents_share": 77.78, "deduction": 0.67, "score": 5.33}


def test_the_default_rule_tolerates_three_quarters_then_falls_to_zero() -> None:
    rule = ScoreRule()
    assert rule.tolerated_share == 0.75 and rule.points == 6
    # 6 × (7/9 − 3/4) / (1/4) = 2/3 exactly; truncated as some rule sets publish: 0.66
    assert score(PUBLISHED, ScoreRule(rounding="truncate"))["deduction"] == 0.66
    assert score({"patches": 9, "documents": 6}, rule)["deduction"] == 0  # 67 % ≤ 75 %
    assert score({"patches": 9, "documents": 9}, rule) == {
        "points": 6.0,
        "documents_share": 100.0,
        "deduction": 6.0,
        "score": 0.0,
    }
    # 8 of 10: 6 × 0.05 / 0.25 = 1.2
    assert score({"patches": 10, "documents": 8}, rule)["score"] == 4.8
    assert score({"patches": 0, "documents": 0}, rule) == {
        "points": 6.0,
        "documents_share": None,
        "deduction": 0.0,
        "score": 6.0,
    }


def test_overdue_basis_points_and_cap() -> None:
    counts = {"patches": 9, "documents": 7, "documents_only": 3, "overdue": 2}
    assert score(counts, ScoreRule(per_overdue=0.5))["deduction"] == 1.67
    assert score(counts, ScoreRule(basis="verdict"))["deduction"] == 0  # 3 of 9
    assert score(counts, ScoreRule(mode="per_patch", per_patch=1.0))["score"] == 0  # capped
    assert score(counts, ScoreRule(points=10, mode="share", factor=1.0))["score"] == 2.22


def test_rules_from_mappings_name_what_is_wrong() -> None:
    rule = ScoreRule.from_dict({"points": 5, "mode": "share", "factor": 0.5, "rounding": None})
    assert (rule.points, rule.mode, rule.factor, rule.rounding) == (5, "share", 0.5, "round")
    for bad, named in (
        ({"mode": "linear"}, "'mode'"),
        ({"points": -1}, "'points'"),
        ({"tolerated_share": 1.0}, "'tolerated_share'"),
        ({"basis": "photos"}, "'basis'"),
        ({"penalty": 1}, "penalty"),
    ):
        with pytest.raises(InvalidParameter, match=named):
            ScoreRule.from_dict(bad)


def test_a_hand_computed_batch(territory_engine: Engine, tmp_path: Path) -> None:
    build_scored(territory_engine, tmp_path)
    with territory_engine.begin() as conn:
        verify_batch(conn, BATCH, now=NOW)
        result = batch_scores(conn, BATCH, at=NOW)
        by_verdict = batch_scores(conn, at=NOW, rule=ScoreRule(basis="verdict"))
        street = score_patches(conn, batch_ids=[BATCH], street_code="530114002", at=NOW)
        with pytest.raises(NotFound):
            batch_scores(conn, "2026-01")
    assert result["batches"] == [BATCH]
    district = result["district"]
    assert {k: district[k] for k in ("patches", "due", "on_site", "documents", "pending")} == {
        "patches": 9,
        "due": 9,
        "on_site": 2,
        "documents": 7,
        "pending": 0,
    }
    assert district["closed"] == 9 and district["overdue"] == 1  # TB9, closed late
    verdicts = {v: district[v] for v in set(SCORED_VERDICTS.values()) | {"unchecked"}}
    assert verdicts == {"verified": 2, "not_verified": 3, "documents_only": 4, "unchecked": 0}
    # dust sources: TB1, TB2 (40 m squares), TB5–TB8 (20 m); only TB1 covered on the image
    assert district["dust_area_m2"] == pytest.approx(4800, rel=1e-3)
    assert district["dust_area_covered_m2"] == pytest.approx(1600, rel=1e-3)
    assert district["dust_area_reported_m2"] == 1500
    assert (district["deduction"], district["score"], district["documents_share"]) == (
        0.67,
        5.33,
        77.78,
    )
    streets = {s["street_code"]: s for s in result["streets"]}
    assert list(streets) == ["530114001", "530114002"]
    north, south = streets["530114001"], streets["530114002"]
    assert north["street_name"] == "龙城街道" and south["street_name"] == "乌龙街道"
    assert (north["on_site"], north["documents"], north["score"]) == (2, 2, 6.0)  # 50 %
    assert (south["documents"], south["overdue"], south["score"]) == (5, 1, 0.0)  # 100 %
    assert north["dust_area_covered_m2"] == pytest.approx(1600, rel=1e-3)
    # basis verdict: 4 of 9 documents_only (TB5–TB8) → no deduction; street 002 4 of 5 → 1.2
    assert by_verdict["district"]["score"] == 6.0
    assert {s["street_code"]: s["score"] for s in by_verdict["streets"]} == {
        "530114001": 6.0,
        "530114002": 4.8,
    }
    assert street["district"]["patches"] == 5 and street["district"]["score"] == 0.0


def test_the_assessment_reads_the_satellite_score(territory_engine: Engine, tmp_path: Path) -> None:
    from datetime import date

    from geogrid.assessment.inputs import resolve_inputs
    from geogrid.indicators.params import Period

    build_scored(territory_engine, tmp_path)
    period = Period(date(2026, 6, 1), date(2026, 6, 30), NOW)
    with territory_engine.connect() as conn:
        district = resolve_inputs(conn, ["satellite_score"], level="district", period=period)
        streets = resolve_inputs(conn, ["satellite_score"], level="street", period=period)
        later = Period(date(2026, 7, 1), date(2026, 7, 31), NOW)
        none = resolve_inputs(conn, ["satellite_score"], level="district", period=later)
    # 9 patches, 7 closed by documents: 6 − 0.67; street 001 half on site, 002 none
    assert district.values["530114"]["satellite_score"] == 5.33
    assert streets.values["530114001"]["satellite_score"] == 6
    assert streets.values["530114002"]["satellite_score"] == 0
    assert none.values["530114"]["satellite_score"] is None  # no batch that month
