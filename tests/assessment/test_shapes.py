"""Every scoring shape of DOMAIN.md §7 against values worked out by hand, at and around each
threshold, floor and cap."""

from __future__ import annotations

from decimal import Decimal

import pytest

from geogrid.assessment.figures import Rounding, count_steps, fmt
from geogrid.assessment.shapes import (
    Band,
    Term,
    allocate_quota,
    annual_score,
    average_points,
    band_points,
    baseline_points,
    case_quantity_points,
    competition_ranks,
    composite_points,
    direct_points,
    level_points,
    occurrence_points,
    ranking_points,
    ratio_points,
    sample_points,
    threshold_points,
)

TRUNCATE = Rounding("truncate", 2)
READINGS = ("started_step", "whole_step", "proportional")
ON_TIME = {"max_points": 7, "label": "按期结案率", "threshold": 80, "step": 5, "per_step": 1}
REWORK = {"max_points": 4, "label": "返工率", "threshold": 2, "step": 1, "per_step": 1}
HANDLED = {
    "label": "办结数量",
    "base": 500,
    "base_points": 20,
    "above_step": 10,
    "above_points": 1,
    "below_step": 5,
    "below_points": 1,
    "step_rounding": "whole_step",
    "relative": True,
}


def on_time(value: float, rounding: str = "started_step", **kw: object) -> float:
    """按期结案率 ≥ 80 % → 7, −1 per 5 % below, 0 below 60 % (district-detail)."""
    params: dict = {"threshold": 80, "step": 5, "per_step": 1, "zero_beyond": 60} | kw
    return threshold_points(
        value, max_points=7, label="按期结案率", step_rounding=rounding, **params
    ).points


# --- rounding and steps -------------------------------------------------------------------


def test_truncation_and_rounding_of_published_figures() -> None:
    assert TRUNCATE.apply(0.99936) == Decimal("0.99")
    assert Rounding("half_up", 2).apply(0.99936) == Decimal("1.00")
    assert Rounding("half_up", 2).apply(0.125) == Decimal("0.13")  # half up, not to even
    assert TRUNCATE.apply(0.29 * 100) == Decimal("29.00")  # float 28.999999999999996 is 29
    assert Rounding("truncate", 0).apply(Decimal(2) / 3 * 3) == Decimal("2")


def test_the_three_readings_of_per_5_percent_below() -> None:
    # 78.3 % against 80 % with −1 per 5 %: −1 / 0 / −0.34 (DOMAIN.md §7)
    assert count_steps(80 - Decimal("78.3"), 5, "started_step") == 1
    assert count_steps(80 - Decimal("78.3"), 5, "whole_step") == 0
    assert count_steps(80 - Decimal("78.3"), 5, "proportional") == Decimal("0.34")
    assert [on_time(78.3, r) for r in READINGS] == [6.0, 7.0, 6.66]
    assert count_steps(0, 5, "started_step") == 0 and count_steps(-1, 5, "proportional") == 0


def test_numbers_are_written_as_published() -> None:
    numbers = (1, 0.34, Decimal("0.50"), 600.0, -0.0)
    assert [fmt(n) for n in numbers] == ["1", "0.34", "0.5", "600", "0"]


# --- threshold ----------------------------------------------------------------------------


def test_threshold_exactly_at_and_just_below() -> None:
    assert on_time(80) == 7.0 and on_time(100) == 7.0
    assert on_time(79.99) == 6.0  # a started step counts
    assert on_time(79.99, "whole_step") == 7.0
    assert on_time(79.99, "proportional") == 7.0  # −0.002, rounded to 2 decimals
    assert [on_time(75, r) for r in READINGS] == [6, 6, 6]
    assert on_time(74.99) == 5.0 and on_time(74.99, "whole_step") == 6.0


def test_threshold_at_the_zero_out_floor() -> None:
    assert on_time(60) == 3.0  # 20 % below: 4 steps, not yet "below 60 %"
    assert on_time(59.99) == 0.0
    scored = threshold_points(55, step_rounding="started_step", zero_beyond=60, **ON_TIME)
    assert scored.reasons == ("按期结案率 55.00% 低于 60%：不得分，扣 7 分",)


def test_threshold_deduction_never_exceeds_the_item() -> None:
    assert on_time(40, zero_beyond=None) == 0.0  # 8 steps, 7 points
    assert on_time(40, zero_beyond=None, max_deduction=4) == 3.0
    scored = threshold_points(40, step_rounding="started_step", **ON_TIME)
    assert scored.reasons == ("按期结案率 40.00% 低于 80%，每低 5% 扣 1 分：扣 7 分（扣完为止）",)


def test_threshold_sentences() -> None:
    started = threshold_points(78.3, step_rounding="started_step", **ON_TIME)
    assert started.reasons == ("按期结案率 78.30% 低于 80%，每低 5% 扣 1 分：扣 1 分",)
    proportional = threshold_points(78.3, step_rounding="proportional", **ON_TIME)
    assert proportional.reasons == ("按期结案率 78.30% 低于 80%，每低 5% 扣 1 分：扣 0.34 分",)
    assert threshold_points(80, step_rounding="started_step", **ON_TIME).reasons == ()


def test_threshold_at_most() -> None:
    def rework(value: float, rounding: str = "started_step") -> float:
        return threshold_points(value, direction="at_most", step_rounding=rounding, **REWORK).points

    assert rework(2) == 4.0 and rework(0) == 4.0
    assert [rework(2.5, r) for r in READINGS] == [3, 4, 3.5]
    assert rework(3) == 3.0 and rework(10) == 0.0
    above = threshold_points(3.5, direction="at_most", step_rounding="started_step", **REWORK)
    assert above.reasons == ("返工率 3.50% 高于 2%，每高 1% 扣 1 分：扣 2 分",)


def test_threshold_in_other_units() -> None:
    # 人员到位: ≥ 0.8 inspectors per community, −1 per 0.1 less
    def staffing(value: float) -> float:
        staffing_rule = {"threshold": 0.8, "step": 0.1, "per_step": 1, "unit": "人/社区"}
        return threshold_points(
            value, max_points=5, label="人员到位", step_rounding="started_step", **staffing_rule
        ).points

    assert [staffing(v) for v in (0.8, 0.75, 0.7, 0.69, 0.2)] == [5, 4, 4, 3, 0]


# --- ratio and direct ---------------------------------------------------------------------


def test_ratio_truncated_like_the_published_figure() -> None:
    # 1 分 × 9,318 / 9,324 = 0.99936 → 0.99 (DOMAIN.md §7)
    raw = ratio_points(
        0.99936, max_points=1, label="自处置结案", scale=1, unit="", rounding=TRUNCATE
    )
    assert raw.points == 0.99
    assert ratio_points(0.99936, max_points=1, label="x", scale=1, unit="").points == 1.0
    rated = ratio_points(99.94, max_points=1, label="网格员自处置结案率", rounding=TRUNCATE)
    assert rated.points == 0.99
    assert rated.reasons == (
        "网格员自处置结案率 99.94%，按 1 分 × 99.94% 计：得 0.99 分，扣 0.01 分",
    )


def test_ratio_cap_factor_and_complement() -> None:
    assert ratio_points(100, max_points=35, label="结案率").points == 35.0
    assert ratio_points(120, max_points=35, label="结案率").points == 35.0
    assert ratio_points(0, max_points=35, label="结案率").points == 0.0
    assert ratio_points(90, max_points=3, label="巡查覆盖率").points == 2.7
    assert ratio_points(90, max_points=3, factor=2, label="x").points == 1.8
    missed = ratio_points(3, max_points=17, complement=True, label="漏报率", rounding=TRUNCATE)
    assert missed.points == 16.49
    assert missed.reasons == (
        "漏报率 3.00%，按 17 分 ×（100% − 3.00%）计：得 16.49 分，扣 0.51 分",
    )


def test_direct_points() -> None:
    assert direct_points(1, max_points=1, label="联席会议制度") == direct_points(
        1, max_points=1, label="联席会议制度"
    )
    half = direct_points(0.5, max_points=1, label="联席会议制度")
    assert half.points == 0.5
    assert half.reasons == ("联席会议制度评定 0.5 分（满分 1 分）：扣 0.5 分",)
    assert direct_points(0, max_points=2, label="x").points == 0.0
    with pytest.raises(ValueError, match="不在 0 至 1 分之间"):
        direct_points(1.5, max_points=1, label="联席会议制度")


# --- baseline -----------------------------------------------------------------------------


def routine(value: float, rounding: str = "whole_step", **kw: object) -> float:
    """City/commercial grids: 600 → 8, +1 per 100 above (no cap), −1 per 50 below (≤ −8)."""
    params: dict = {
        "base": 600,
        "base_points": 8,
        "above_step": 100,
        "above_points": 1,
        "below_step": 50,
        "below_points": 1,
        "max_deduction": 8,
    } | kw
    return baseline_points(
        value, label="常规事件", step_rounding=rounding, unit="件/网格", **params
    ).points


def test_baseline_bonus_and_deduction() -> None:
    assert routine(600) == 8.0
    assert routine(699) == 8.0 and routine(700) == 9.0
    assert routine(1000) == 12.0  # no cap
    assert routine(1000, max_bonus=2) == 10.0
    assert routine(599) == 8.0 and routine(599, "started_step") == 7.0
    assert routine(550) == 7.0
    assert routine(200) == 0.0  # 8 steps of 50
    assert routine(100) == 0.0  # 10 steps, at most −8


def test_baseline_relative_to_the_towns_base() -> None:
    # 办结数量: base 500 → 20, +1 per 10 % above, −1 per 5 % below
    def handled(value: float) -> float:
        return baseline_points(value, **HANDLED).points

    assert [handled(500), handled(549), handled(550), handled(1000)] == [20, 20, 21, 30]
    assert [handled(476), handled(475), handled(450), handled(0)] == [20, 19, 18, 0]
    below = baseline_points(450, **HANDLED)
    assert below.reasons == ("办结数量 450 件，低于基数 500 件 10.00%，每低 5% 扣 1 分：扣 2 分",)
    capped = baseline_points(100, **(HANDLED | {"max_deduction": 6}))
    assert capped.points == 14.0  # 80 % below: 16 steps, at most −6
    assert capped.reasons[0].endswith("扣 6 分（最多扣 6 分）")


# --- relative to the average --------------------------------------------------------------


def test_points_relative_to_the_average_of_all_units() -> None:
    # +0.5 point per percentage point above the average, max 5
    scored = average_points(
        {"a": 100, "b": 80, "c": 90}, max_points=5, label="结案率", per_point=0.5
    )
    assert {k: s.points for k, s in scored.items()} == {"a": 5.0, "b": 0.0, "c": 0.0}
    capped = average_points({"a": 100, "b": 70}, max_points=5, label="结案率", per_point=0.5)
    assert capped["a"].points == 5.0  # 15 points above: 7.5, capped
    some = average_points({"a": 96, "b": 92, "c": 94}, max_points=5, label="结案率", per_point=0.5)
    assert some["a"].points == 1.0
    assert some["a"].reasons == (
        "结案率 96.00% 高于各单位平均 94.00% 2 个百分点，每高 1 个百分点得 0.5 分："
        "得 1 分，扣 4 分",
    )
    assert some["c"].reasons == ("结案率 94.00% 不高于各单位平均 94.00%：得 0 分，扣 5 分",)


def test_average_with_base_points_and_a_deduction_below() -> None:
    rule = {"per_point": 0.5, "base_points": 3, "below_per_point": 0.5}
    scored = average_points({"a": 90, "b": 94}, max_points=5, label="x", **rule)
    assert (scored["a"].points, scored["b"].points) == (2.0, 4.0)
    assert average_points({}, max_points=5, label="x", per_point=0.5) == {}


# --- bands, levels, ranking ---------------------------------------------------------------

SHARE_BANDS = [Band(3, at_most=10), Band(2, at_most=20), Band(1, at_most=30), Band(0)]


def test_tiered_share() -> None:
    # simple and self-handled cases ≤ 10 % → 3; 11–20 % → 2; 21–30 % → 1; > 30 % → 0
    def share(value: float) -> float:
        return band_points(
            value, max_points=3, label="简易及自处置案件占比", bands=SHARE_BANDS
        ).points

    values = [0, 10, 10.01, 15, 20, 20.5, 30, 30.01, 100]
    assert [share(v) for v in values] == [3, 3, 2, 2, 2, 1, 1, 0, 0]
    assert band_points(
        15, max_points=3, label="简易及自处置案件占比", bands=SHARE_BANDS
    ).reasons == ("简易及自处置案件占比 15.00%（≤ 20%）：得 2 分，扣 1 分",)


def test_bands_with_strict_bounds_and_no_match() -> None:
    above_90 = [Band(2, above=90)]
    assert band_points(90.01, max_points=2, label="满意度", bands=above_90).points == 2.0
    none = band_points(90, max_points=2, label="满意度", bands=above_90)
    assert none.points == 0.0 and none.reasons == (
        "满意度 90.00%（不在任何档内）：得 0 分，扣 2 分",
    )
    assert Band(1, at_least=6, below=12).describe("篇") == "≥ 6 篇 且 < 12 篇"


def test_levels() -> None:
    rule = {"max_points": 4, "label": "分中心建设", "points": [4, 3, 0]}
    assert [level_points(n, **rule).points for n in (1, 2, 3)] == [4, 3, 0]
    assert level_points(2, **rule).reasons == ("分中心建设评为第 2 档：得 3 分，扣 1 分",)
    for bad in (0, 4, 1.5):
        with pytest.raises(ValueError, match="档次须为 1 至 3 的整数"):
            level_points(bad, **rule)


def test_competition_ranks() -> None:
    assert competition_ranks({"a": 3, "b": 5, "c": 5, "d": 1}) == {"b": 1, "c": 1, "a": 3, "d": 4}
    assert competition_ranks({"a": 3, "b": 5}, descending=False) == {"a": 1, "b": 2}


def test_ranking_tiers() -> None:
    tiers = [5, 4, 3, 2, 1, 0]
    six = ranking_points(
        {f"u{v}": v for v in (10, 20, 30, 40, 50, 60)},
        max_points=5,
        label="发现率",
        tier_points=tiers,
    )
    assert [six[f"u{v}"].points for v in (60, 50, 40, 30, 20, 10)] == [5, 4, 3, 2, 1, 0]
    twelve = ranking_points(
        {f"u{v:02}": v for v in range(12)}, max_points=5, label="x", tier_points=tiers
    )
    best_first = [twelve[f"u{v:02}"].points for v in range(11, -1, -1)]
    assert best_first == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0]  # two units per tier
    tied = ranking_points(
        {"a": 90, "b": 90, "c": 80}, max_points=2, label="平台派件", tier_points=[2, 1, 0]
    )
    assert {k: s.points for k, s in tied.items()} == {"a": 2.0, "b": 2.0, "c": 0.0}
    assert tied["c"].reasons == (
        "平台派件 80.00% 在 3 个单位中排第 3 名（第 3 档）：得 0 分，扣 2 分",
    )
    low_first = ranking_points(
        {"a": 1, "b": 2}, max_points=2, label="x", tier_points=[2, 0], descending=False
    )
    assert (low_first["a"].points, low_first["b"].points) == (2.0, 0.0)


# --- sample, occurrences, composite -------------------------------------------------------


def test_sample_share() -> None:
    assert sample_points(46, 50, max_points=5, label="案件质量").points == 4.6
    assert sample_points(50, 50, max_points=5, label="案件质量").points == 5.0
    assert sample_points(0, 0, max_points=5, label="案件质量").points == 5.0
    assert sample_points(0, 0, max_points=5, label="案件质量", when_none_sampled="zero").points == 0
    assert sample_points(2, 3, max_points=3, label="结案质量", rounding=TRUNCATE).points == 2.0
    assert sample_points(1, 3, max_points=5, label="x", rounding=TRUNCATE).points == 1.66
    assert sample_points(46, 50, max_points=5, label="案件质量").reasons == (
        "案件质量抽查 50 件，合格 46 件（合格率 92.00%），按 5 分 × 合格率计：得 4.6 分，扣 0.4 分",
    )
    with pytest.raises(ValueError, match="不成立"):
        sample_points(51, 50, max_points=5, label="案件质量")


def test_occurrences_until_the_item_is_used_up() -> None:
    def late(n: int) -> float:
        return occurrence_points({"value": n}, label="督办件", deduct={"value": 1}, start=5).points

    assert [late(0), late(2), late(5), late(7)] == [5, 3, 0, 0]
    late_label = {"value": "督办件超期"}
    used_up = occurrence_points(
        {"value": 7}, label="督办件", deduct={"value": 1}, labels=late_label, start=5, unit="件"
    )
    assert used_up.reasons == (
        "督办件超期 7 件，每件扣 1 分：扣 7 分",
        "督办件合计扣 5 分（扣完为止）",
    )
    with pytest.raises(ValueError, match="不能为负"):
        occurrence_points({"value": -1}, label="督办件", deduct={"value": 1}, start=5)


def test_occurrences_of_several_kinds_with_bounds() -> None:
    counts = {"missed": 3, "wrong_grade": 0, "missed_major": 1}
    deduct = {"missed": 1, "wrong_grade": 1, "missed_major": 5}
    faults = occurrence_points(
        counts, label="上报差错", deduct=deduct, start=0, floor=-30, ceiling=0
    )
    assert faults.points == -8.0
    training = {"full": 1, "partial": 0.5}
    some = occurrence_points(
        {"full": 3, "partial": 2}, label="专业化", deduct={}, add=training, start=0, ceiling=5
    )
    assert some.points == 4.0
    most = occurrence_points(
        {"full": 5, "partial": 2}, label="专业化", deduct={}, add=training, start=0, ceiling=5
    )
    assert most.points == 5.0 and most.reasons[-1] == "专业化最多得 5 分"
    unbounded = occurrence_points(
        {"city": 3}, label="投诉", deduct={"city": 3}, start=0, floor=None, ceiling=0
    )
    assert unbounded.points == -9.0


def test_weighted_composite() -> None:
    # total = 60 % grid-management score + 40 % third-party street-environment score
    terms = {
        "grid": Term(0.6, 100, label="网格化管理"),
        "street": Term(0.4, 100, label="第三方测评"),
    }
    assert (
        composite_points(
            {"grid": 90, "street": 80}, max_points=100, label="综合", terms=terms
        ).points
        == 86
    )
    assert (
        composite_points(
            {"grid": 100, "street": 100}, max_points=100, label="综合", terms=terms
        ).points
        == 100
    )
    # 1+5+X: 1 × 自处置结案率 + community 1.5 + linkage 2 + 0.5 × 抽查率, truncated per term
    grid_mode = {
        "self": Term(1, 100, 100, "网格员自处置结案率", "%"),
        "community": Term(1, 1.5, label="社区自处置上报"),
        "linkage": Term(1, 2, label="执法队员与监督员联动"),
        "spot": Term(0.5, 100, 100, "抽查率", "%"),
    }
    values = {"self": 99.94, "community": 1.5, "linkage": 2, "spot": 80}
    scored = composite_points(
        values, max_points=5, label="1+5+X", terms=grid_mode, rounding=TRUNCATE
    )
    assert scored.points == 4.89  # 0.99 + 1.5 + 2 + 0.4
    assert scored.reasons == (
        "网格员自处置结案率 99.94%：得 0.99 分（满分 1 分），扣 0.01 分",
        "抽查率 80.00%：得 0.4 分（满分 0.5 分），扣 0.1 分",
    )
    over = composite_points({**values, "community": 3}, max_points=5, label="x", terms=grid_mode)
    assert over.points == 4.9  # a term counts at most its full value: 1 + 1.5 + 2 + 0.4


# --- quota, case quantity, annual ---------------------------------------------------------


def test_quota_allocation_on_three_units() -> None:
    # T = 1,000; population 50 / 30 / 20 (thousand); area 10 / 30 / 60 km²
    quotas = allocate_quota(1000, {"A": 50, "B": 30, "C": 20}, {"A": 10, "B": 30, "C": 60})
    # A: 1000 × 0.6 × 50/100 + 1000 × 0.4 × 10/100 = 300 + 40
    assert quotas == {"A": Decimal(340), "B": Decimal(300), "C": Decimal(360)}
    assert sum(quotas.values()) == 1000
    uneven = allocate_quota(100, {"A": 1, "B": 2}, {"A": 1, "B": 1})
    assert uneven == {"A": Decimal(40), "B": Decimal(60)}  # 60 × 1/3 + 40 × 1/2
    with pytest.raises(ValueError, match="人口和面积"):
        allocate_quota(100, {"A": 0}, {"A": 1})


def test_case_quantity() -> None:
    def quantity(done: float, quota: float, last_year: float | None = None, **kw: object) -> float:
        return case_quantity_points(done, quota, last_year, **kw).points  # type: ignore[arg-type]

    assert quantity(180, 200) == 21.6  # 24 × 90 %
    assert quantity(200, 200) == 24.0  # exactly the quota: no bonus yet
    assert quantity(219, 200) == 24.0  # 9.5 points above 100 %: no whole step yet
    assert quantity(220, 200) == 25.0  # 10 points above: +1
    assert quantity(240, 200) == 26.0  # 20 points above: +2
    assert quantity(300, 200) == 27.0  # 50 points above: at most +3
    assert quantity(180, 200, 150) == 24.6  # +20 % on last year: 4 steps, at most +3
    assert quantity(210, 200, 200) == 25.0  # +5 % on last year: +1; 5 points above: 0
    assert quantity(300, 200, 200) == 30.0  # 24 + 3 + 3
    assert quantity(400, 200, 100, max_points=28) == 28.0
    assert quantity(180, 200, 200) == 21.6  # no growth
    assert case_quantity_points(180, 200, 150).reasons == (
        "案件数量 180 件，为定额 200 件的 90.00%，按 24 分 × 完成比例计 21.6 分：扣 2.4 分",
        "未超出定额：无超额加分（最多 3 分）",
    )


def test_case_quantity_with_the_allocated_quotas() -> None:
    quotas = allocate_quota(1000, {"A": 50, "B": 30, "C": 20}, {"A": 10, "B": 30, "C": 60})
    done = {"A": 374, "B": 270, "C": 360}
    points = {u: case_quantity_points(done[u], quotas[u]).points for u in done}
    assert points == {"A": 25.0, "B": 21.6, "C": 24.0}  # 110 %, 90 %, 100 %


def test_annual_score() -> None:
    assert annual_score([90, 80, 85], 95) == 86.0  # 85 × 0.9 + 95 × 0.1
    assert annual_score([88.66, 90.01], 91, rounding=TRUNCATE) == 89.5  # 89.5015
    with pytest.raises(ValueError):
        annual_score([], 90)
