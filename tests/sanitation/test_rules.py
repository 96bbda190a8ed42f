"""The pure rules of sanitation: the self-handling tiers, the sweeping rule, statuses."""

from __future__ import annotations

import pytest

from geogrid.errors import InvalidParameter
from geogrid.sanitation.rules import (
    SweepRule,
    required_sweeps,
    self_handling_points,
    sweep_status,
)


@pytest.mark.parametrize(
    ("share", "points"),
    [
        (0.0, 3),
        (10.0, 3),  # "≤ 10 %"
        (10.01, 2),  # between the published bands: the next one
        (15.23, 2),
        (20.0, 2),
        (20.5, 1),
        (30.0, 1),
        (30.01, 0),
        (100.0, 0),
        (None, None),  # no cases: no share, no points
    ],
)
def test_self_handled_share_tiers(share: float | None, points: int | None) -> None:
    # DOMAIN.md §7: ≤ 10 % → 3; 11–20 % → 2; 21–30 % → 1; > 30 % → 0
    assert self_handling_points(share) == points


def test_sweep_rule_defaults_and_refusals() -> None:
    rule = SweepRule()
    assert (rule.lateral_m, rule.max_speed_kmh) == (10.0, 15.0)
    assert rule.max_speed_mps == pytest.approx(15 / 3.6)
    assert rule.as_dict()["kinds"] == ["sweeper", "washer", "crew"]
    with pytest.raises(InvalidParameter, match="'lateral_m'"):
        SweepRule(lateral_m=0)
    with pytest.raises(InvalidParameter, match="'max_speed_kmh'"):
        SweepRule(max_speed_kmh=-5)
    with pytest.raises(InvalidParameter, match=r"'kinds'.*bicycle"):
        SweepRule(kinds=("sweeper", "bicycle"))


def test_status_and_required_sweeps() -> None:
    assert sweep_status(2, 2) == "done"
    assert sweep_status(3, 2) == "done"
    assert sweep_status(1, 2) == "short"
    assert sweep_status(0, 1) == "missed"
    levels = {"main": 2, "secondary": 1, "alley": 1}
    assert required_sweeps("main", levels, None) == 2
    assert required_sweeps("alley", levels, 3) == 3
