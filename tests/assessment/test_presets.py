"""Each built-in rule set scored on a small hand-made set of values, every item's points worked
out by hand (pure: no database)."""

from __future__ import annotations

from geogrid.assessment import AssessmentResult, load_rule_set, score


def points(result: AssessmentResult, unit: str) -> dict[str, float | None]:
    return {i.key: i.points for i in result.unit(unit).items}


# --- kunming-district-2021: truncated, 23 items, 100 + 1 ---------------------------------

KUNMING_INPUTS = {
    "530114": {
        "coverage_rate": 92.5,
        "closure_rate": 97.13,
        "hotline_on_time_rate": 88.0,
        "self_handled_closure_rate": 99.94,
        "satellite_score": 5.33,  # geogrid.satellite: 9 patches, 7 closed by documents
    },
    # no case, no patrol data, no patch, no grid-worker case due, no manual input yet
    "530115": {
        "coverage_rate": None,
        "closure_rate": None,
        "hotline_on_time_rate": None,
        "self_handled_closure_rate": None,
        "satellite_score": None,
    },
}
KUNMING_MANUAL = {
    "530114": {
        "joint_meeting": 1,
        "publicity": 1,
        "grid_update": 1,
        "department_cooperation": 0.5,
        "results_publication": 1,
        "report_quality.qualified": 47,
        "report_quality.sampled": 50,
        "missed_reports": 3.2,
        "data_census": 2,
        "obstruction": 1,
        "supervisor_evaluation": 1,
        "closure_quality.qualified": 29,
        "closure_quality.sampled": 30,
        "early_warning": 2,
        "grid_work_mode.community": 1.5,
        "grid_work_mode.linkage": 2,
        "grid_work_mode.spot_check": 80,
        "whistle": 5,
        "innovation": 1,
        "urging": 1,
        "mohurd": 2,
        "special": 2.5,
        "bonus": 0.5,
    }
}


def test_kunming_district_2021() -> None:
    result = score(
        load_rule_set("kunming-district-2021"),
        KUNMING_INPUTS,
        KUNMING_MANUAL,
        names={"530114": "呈贡区", "530115": "晋宁区"},
        period="2026-10",
    )
    assert points(result, "530114") == {
        "joint_meeting": 1,
        "publicity": 1,
        "grid_update": 1,
        "department_cooperation": 0.5,
        "results_publication": 1,
        "patrol_coverage": 2.77,  # 3 × 92.5 % = 2.775, truncated
        "report_quality": 2.82,  # 3 × 47 / 50
        "missed_reports": 16.45,  # 17 × (1 − 3.2 %) = 16.456
        "data_census": 2,
        "obstruction": 1,
        "supervisor_evaluation": 1,
        "closure": 33.99,  # 35 × 97.13 % = 33.9955
        "closure_quality": 2.9,  # 3 × 29 / 30
        "early_warning": 2,
        "hotline": 4.4,  # 5 × 88 %
        "satellite": 5.33,
        "grid_work_mode": 4.89,  # 0.99 + 1.5 + 2 + 0.5 × 80 %
        "whistle": 5,
        "innovation": 1,
        "urging": 1,
        "mohurd": 2,
        "special": 2.5,
        "bonus": 0.5,
    }
    district = result.unit("530114")
    assert district.parts == {
        "management": 4.5,
        "supervision": 26.04,
        "handling": 48.62,
        "grid_mode": 4.89,
        "linkage": 5,
        "other": 6.5,
        "extra": 0.5,
    }
    assert (district.total, district.rank, district.pending) == (96.05, 1, ())
    assert district.item("closure").reasons == (
        "网格案件处置结案率 97.13%，按 35 分 × 97.13% 计：得 33.99 分，扣 1.01 分",
    )
    assert [i.key for i in district.lost_reasons(2)] == ["closure", "satellite"]  # 1.01, 0.67
    # the unit without data: rates with nothing to divide score full, the rest is pending
    empty = result.unit("530115")
    # rates with nothing to divide score full, and so does a month without patches
    assert (empty.item("closure").points, empty.item("hotline").points) == (35, 5)
    assert empty.item("satellite").points == 6
    assert empty.item("patrol_coverage").points is None
    assert empty.item("patrol_coverage").reasons == (
        "区级监督员巡查覆盖率：巡查覆盖率无数据，待定",
    )
    assert empty.item("whistle").reasons == ("吹哨报到联动：未录入，待定",)
    assert (empty.total, empty.rank, len(empty.pending)) == (46, 2, 20)


# --- template-2022: three streets, quota by population and area ---------------------------

TEMPLATE_INPUTS = {
    "S1": {
        "registered": 374,
        "area_km2": 10,
        "registered_last_year": 340,
        "discovery_rate": 30,
        "closure_rate": 96,
        "on_time_rate": 90,
    },
    "S2": {
        "registered": 270,
        "area_km2": 30,
        "registered_last_year": 300,
        "discovery_rate": 20,
        "closure_rate": 92,
        "on_time_rate": 85,
    },
    "S3": {
        "registered": 356,
        "area_km2": 60,
        "registered_last_year": 0,
        "discovery_rate": 25,
        "closure_rate": 94,
        "on_time_rate": 80,
    },
}
TEMPLATE_MANUAL = {
    "S1": {
        "sub_centre": 1,
        "system_running": 12,
        "geo_info": 1,
        "grid_info": 2,
        "component_info": 1,
        "case_quantity.population": 50,
        "case_quality_sample.qualified": 45,
        "case_quality_sample.sampled": 50,
        "case_diversity": 2,
        "feedback": 1,
        "staffing": 0.75,
        "training.full": 3,
        "training.partial": 1,
        "conduct": 2,
        "special_base": 1,
        "special_level": 2,
        "big_data": 1,
        "participation": 1,
        "media": 1,
        "submissions": 7,
        "mechanism": 4,
    },
    "S2": {
        "sub_centre": 1,
        "system_running": 0,
        "geo_info": 1,
        "grid_info": 1,
        "component_info": 1,
        "case_quantity.population": 30,
        "case_quality_sample.qualified": 50,
        "case_quality_sample.sampled": 50,
        "case_diversity": 1,
        "feedback": 1,
        "staffing": 1.0,
        "training.full": 5,
        "training.partial": 0,
        "conduct": 1,
        "special_base": 1,
        "special_level": 1,
        "big_data": 1,
        "participation": 1,
        "media": 2,
        "submissions": 12,
        "mechanism": 5,
    },
    "S3": {"case_quantity.population": 20},
}


def test_template_2022() -> None:
    result = score(load_rule_set("template-2022"), TEMPLATE_INPUTS, TEMPLATE_MANUAL)
    # T = 374 + 270 + 356 = 1,000 shared 60 % by population (50/30/20), 40 % by area
    # (10/30/60): quotas 340, 300, 360.
    assert points(result, "S1") == {
        "sub_centre": 4,
        "system_running": 2,  # 12 failure days: 2 over 10
        "geo_info": 2,
        "grid_info": 1,
        "component_info": 3,
        "case_quantity": 27,  # 374 / 340 = 110 %: 24 + 1; +10 % on 340 last year: +2
        "case_quality_sample": 4.5,
        "case_diversity": 2,
        "discovery": 5,  # ranked 1st of 3 on 6 tiers
        "feedback": 2,
        "closure": 1,  # 96 against the average 94: +0.5 × 2
        "staffing": 4,  # 0.75 against 0.8: a started step of 0.1
        "training": 3.5,
        "conduct": 2,
        "dispatch": 2,
        "special_base": 1,
        "special_level": 5,
        "big_data": 3,
        "participation": 1,
        "media": 0.3,
        "submissions": 0.2,
        "mechanism": 4,
    }
    assert result.unit("S1").parts == {
        "system": 6,
        "data": 6,
        "cases": 41.5,
        "team": 9.5,
        "tasks": 8,
        "innovation": 8.5,
    }
    s2 = points(result, "S2")
    assert (s2["case_quantity"], s2["discovery"], s2["closure"], s2["dispatch"]) == (
        21.6,  # 270 / 300 = 90 %; fewer than last year
        1,  # 3rd of 3: tier 5 of 6
        0,  # below the average
        1,  # 2nd of 3: tier 2 of 3
    )
    assert (s2["media"], s2["submissions"], s2["training"], s2["staffing"]) == (0.6, 0.4, 5, 5)
    assert result.unit("S2").parts == {
        "system": 8,
        "data": 7,
        "cases": 32.6,
        "team": 15,
        "tasks": 9,
        "innovation": 10,
    }
    s3 = points(result, "S3")
    # 356 / 360 × 24 = 23.733…; no case last year: no growth bonus
    assert (s3["case_quantity"], s3["discovery"], s3["closure"], s3["dispatch"]) == (23.73, 3, 0, 0)
    assert sum(1 for v in s3.values() if v is None) == 18
    assert [(u.unit, u.total, u.rank) for u in result.units] == [
        ("S2", 81.6, 1),
        ("S1", 79.5, 2),
        ("S3", 26.73, 3),
    ]
    assert result.unit("S1").item("case_quantity").inputs == {
        "done": 374,
        "population": 50,
        "area": 10,
        "last_year": 340,
    }


# --- dongying-2018: towns, baselines per grid type, town bases, bonus and deductions -------

DONGYING_INPUTS = {
    "370502001": {
        "reports_per_grid": 550.0,
        "reports_per_grid@city": 650,
        "grids@city": 4,
        "reports_per_grid@rural": 300,
        "grids@rural": 2,
        "reports_per_grid@industrial": None,
        "grids@industrial": 0,
        "closed": 1210,
        "satisfaction_rate": 97.5,
    },
    "370502002": {
        "reports_per_grid": 460.0,
        "reports_per_grid@city": 560,
        "grids@city": 2,
        "reports_per_grid@rural": None,
        "grids@rural": 0,
        "reports_per_grid@industrial": 260,
        "grids@industrial": 1,
        "closed": 420,
        "satisfaction_rate": None,
    },
}
ZERO_ADJUSTMENTS = {
    f"{item}.{level}": 0
    for item in ("complaints", "endorsements")
    for level in ("central", "provincial", "city", "district")
}
DONGYING_MANUAL = {
    "东城街道": {
        "general": 50,
        "major": 11,
        "report_faults.missed": 2,
        "report_faults.wrong_grade": 0,
        "report_faults.false_report": 1,
        "report_faults.missed_major": 1,
        "closed_loop": 3,
        "institutions": 5,
        "standardisation": 4,
        "management": 5,
        "survey": 5,
        "data_maintenance": 4.5,
        "publicity_training": 5,
        **ZERO_ADJUSTMENTS,
        "complaints.city": 1,
        "complaints.district": 1,
        "endorsements.provincial": 1,
        "endorsements.district": 2,
    },
    "六户镇": {
        "general": 40,
        "major": 12,
        "report_faults.missed": 0,
        "report_faults.wrong_grade": 0,
        "report_faults.false_report": 0,
        "report_faults.missed_major": 0,
        "closed_loop": 0,
        "institutions": 5,
        "standardisation": 5,
        "management": 5,
        "survey": 5,
        "data_maintenance": 5,
        "publicity_training": 5,
        **ZERO_ADJUSTMENTS,
    },
}


def test_dongying_2018() -> None:
    names = {"370502001": "东城街道", "370502002": "六户镇"}
    manual = {code: DONGYING_MANUAL[name] for code, name in names.items()}
    result = score(load_rule_set("dongying-2018"), DONGYING_INPUTS, manual, names=names)
    assert points(result, "370502001") == {
        # city grids 650: +50 is no whole step of 100 → 8; rural 300: −100 is 2 whole steps of
        # 40 → 6; over the town's 6 grids: (8 × 4 + 6 × 2) / 6 = 7.333…
        "routine": 7.33,
        "general": 19,  # 50 against 48: +0.5 × 2
        "major": 3,  # 11 against 12
        "report_faults": -8,  # −2 missed, −1 false, −5 missed major
        "handled": 21,  # 1,210 against 东城街道's 1,100: +10 %
        "closed_loop": 3.5,
        "satisfaction": 4,  # 97.5 %: 2 whole points below 100 %, −0.5 each
        "institutions": 5,
        "standardisation": 4,
        "management": 5,
        "survey": 5,
        "data_maintenance": 4.5,
        "publicity_training": 5,
        "complaints": -5,  # city −3, district −2
        "endorsements": 8,  # provincial +4, district +2 × 2
    }
    town = result.unit("370502001")
    assert town.parts == {"reporting": 21.33, "handling": 28.5, "basics": 28.5, "adjustments": 3}
    assert town.total == 81.33
    assert town.item("routine").reasons == (
        "常规事件上报（农村网格 2 个） 300 件/网格，低于基数 400 件/网格，每低 40 件/网格 扣 1 分"
        "：扣 2 分",
        "各类网格得分按网格数加权平均：得 7.33 分",
    )
    assert town.item("routine").inputs["grids@rural"] == 2
    assert points(result, "370502002") == {
        # city 560: −40, no whole step of 50 → 8; industrial 260: +60 is 1 step of 40 → 9;
        # (8 × 2 + 9) / 3 = 8.333…
        "routine": 8.33,
        "general": 10,  # 40 against 48: −8
        "major": 4,
        "report_faults": 0,
        "handled": 17,  # 420 against 六户镇's 500: −16 %, 3 whole steps of 5 %
        "closed_loop": 5,
        "satisfaction": 5,  # no evaluated case: nothing to deduct
        "institutions": 5,
        "standardisation": 5,
        "management": 5,
        "survey": 5,
        "data_maintenance": 5,
        "publicity_training": 5,
        "complaints": 0,
        "endorsements": 0,
    }
    assert result.unit("370502002").total == 79.33
    assert [u.rank for u in result.units] == [1, 2]


# --- district-detail: thresholds, started steps, deductions only --------------------------

DETAIL_INPUTS = {
    "D1": {
        "registration_rate": 68.2,
        "on_time_rate": 78.3,
        "closure_rate": 93.5,
        "rework_rate": 2.0,
        "daily_reports_rate": 91.2,
        "online_rate": 57,
    },
    "D2": {
        "registration_rate": None,
        "on_time_rate": 55,
        "closure_rate": 100,
        "rework_rate": 10,
        "daily_reports_rate": 65,
        "online_rate": None,
    },
}
DETAIL_MANUAL = {
    "D1": {
        "agency": 4,
        "budget": 2,
        "contingency": 1.5,
        "equipment": 8,
        "ledger": 4,
        "supervised": 2,
        "designated": 0,
        "false_records": 1,
        "response": 3,
        "staffing.collectors": 1,
        "staffing.operators": 0,
        "hours": 4,
        "reporting": 7,
        "superiors": 92,
        "partners": 85,
        "communities": 81,
    },
    "D2": {
        "agency": 4,
        "budget": 2,
        "contingency": 2,
        "equipment": 8,
        "ledger": 4,
        "supervised": 0,
        "designated": 0,
        "false_records": 0,
        "response": 0,
        "staffing.collectors": 0,
        "staffing.operators": 0,
        "hours": 4,
        "reporting": 8,
        "superiors": 95,
        "partners": 90,
        "communities": 90,
    },
}


def test_district_detail() -> None:
    result = score(load_rule_set("district-detail"), DETAIL_INPUTS, DETAIL_MANUAL)
    assert points(result, "D1") == {
        "agency": 4,
        "budget": 2,
        "contingency": 1.5,
        "equipment": 8,
        "ledger": 4,
        "registration": 6,  # 68.2 % against 70 %: a started step of 5 %
        "on_time": 6,  # 78.3 % against 80 %
        "closure": 5,  # 93.5 % against 95 %: 2 started steps of 1 %
        "rework": 4,  # exactly 2 %
        "collection": 7,  # 91.2 % ≥ 90 %
        "supervised": 3,
        "designated": 4,
        "false_records": 2,
        "online": 6,  # 57 % against 60 %
        "response": 4,
        "staffing": 2,
        "hours": 4,
        "reporting": 7,
        "superiors": 2,  # 92 % > 90 %
        "partners": 0,  # 85 % is not > 85 %
        "communities": 2,
    }
    d1 = result.unit("D1")
    assert d1.parts == {"organisation": 19.5, "effect": 37, "internal": 23, "social": 4}
    assert d1.total == 83.5
    assert d1.item("on_time").reasons == ("按期结案率 78.30% 低于 80%，每低 5% 扣 1 分：扣 1 分",)
    d2 = points(result, "D2")
    assert (d2["registration"], d2["online"]) == (7, 7)  # nothing to divide: no deduction
    assert (d2["on_time"], d2["closure"], d2["rework"], d2["collection"]) == (0, 7, 0, 0)
    assert result.unit("D2").item("rework").reasons == (
        "返工率 10.00% 高于 2%，每高 1% 扣 1 分：扣 4 分（扣完为止）",
    )
    assert result.unit("D2").item("collection").reasons == (
        "信息采集量 65.00% 低于 70%：不得分，扣 7 分",
    )
    assert result.unit("D2").parts == {
        "organisation": 20,
        "effect": 27,
        "internal": 30,
        "social": 5,
    }
    assert [(u.unit, u.total, u.rank) for u in result.units] == [("D1", 83.5, 1), ("D2", 82, 2)]
