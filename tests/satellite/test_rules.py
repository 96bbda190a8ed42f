"""The pure rules of patches: verdicts, identifiers, indices, image states, rule parsing."""

from __future__ import annotations

import math

import pytest

from geogrid.errors import InvalidParameter
from geogrid.satellite.metrics import (
    ImageStats,
    ImageThresholds,
    VerifyRules,
    assess_images,
    bare_soil,
    ndvi,
)
from geogrid.satellite.rules import case_id, change_type, check_batch_id, decide_verdict


def means(r: float, g: float, b: float, n: float, **more: float) -> dict[str, float]:
    return {"red": r, "green": g, "blue": b, "nir": n, **more}


def stats(values: dict[str, float], pixels: int = 400, valid: int = 400) -> ImageStats:
    return ImageStats(pixels, valid, values if valid else {})


@pytest.mark.parametrize(
    ("image", "field", "handling", "verdict"),
    [
        ("reversed", False, "documents", "verified"),
        ("reversed", True, "on_site", "verified"),
        ("present", True, "on_site", "not_verified"),
        ("present", False, "documents", "not_verified"),
        ("unknown", True, "on_site", "field_verified"),
        ("unknown", True, "documents", "field_verified"),
        ("unknown", False, "documents", "documents_only"),
        ("unknown", False, "on_site", "inconclusive"),
        ("unknown", False, "pending", "inconclusive"),
    ],
)
def test_verdict_rule(image: str, field: bool, handling: str, verdict: str) -> None:
    decided, why = decide_verdict(image_state=image, field_evidence=field, handling_state=handling)
    assert decided == verdict and why.endswith(".")


def test_identifiers_and_change_types() -> None:
    assert check_batch_id("2022-05") is None
    assert check_batch_id("../etc") is not None and check_batch_id("x" * 17) is not None
    assert case_id("2022-05", "TB001") == "SAT-2022-05-TB001"
    assert change_type("地面扬尘源") == "dust_source" and change_type("裸土") == "dust_source"
    assert change_type("Building") is None and change_type("building") == "building"
    assert change_type("房屋") is None


def test_indices_by_hand() -> None:
    soil = means(0.30, 0.25, 0.20, 0.35)
    assert ndvi(soil) == pytest.approx(0.05 / 0.65)
    assert bare_soil(soil) == ("bsi_vnir", pytest.approx((0.50 - 0.60) / 1.10))
    with_swir = means(0.30, 0.25, 0.20, 0.35, swir=0.40)
    assert bare_soil(with_swir) == ("bsi", pytest.approx((0.70 - 0.55) / 1.25))
    assert ndvi(means(0, 0, 0, 0)) is None


def test_dust_covered_by_a_green_net() -> None:
    image = assess_images(
        "dust_source",
        before=stats(means(0.30, 0.25, 0.20, 0.35)),
        after=stats(means(0.08, 0.18, 0.12, 0.15)),
        reference=None,
        thresholds=ImageThresholds(),
    )
    drop = (0.50 - 0.60) / 1.10 - (0.20 - 0.33) / 0.53
    assert image["state"] == "reversed"
    assert image["bare_soil_drop"] == pytest.approx(drop, abs=1e-6)
    assert image["change"]["red"] == pytest.approx(-0.22)


def test_dust_still_bare_and_greened() -> None:
    soil = means(0.30, 0.25, 0.20, 0.35)
    still = assess_images(
        "dust_source",
        before=stats(soil),
        after=stats(soil),
        reference=None,
        thresholds=ImageThresholds(),
    )
    assert still["state"] == "present" and still["bare_soil_drop"] == 0
    strict = ImageThresholds(bare_soil_drop=1.0, ndvi_rise=0.5)
    grass = assess_images(
        "dust_source",
        before=stats(soil),
        after=stats(means(0.05, 0.10, 0.04, 0.45)),
        reference=None,
        thresholds=strict,
    )
    assert grass["state"] == "reversed" and grass["ndvi_rise"] > 0.5
    assert "NDVI rose" in grass["reason"]


def test_building_relative_change_and_reversion() -> None:
    roof, soil = means(0.6, 0.6, 0.6, 0.5), means(0.3, 0.25, 0.2, 0.35)
    gone = assess_images(
        "building",
        before=stats(roof),
        after=stats(soil),
        reference=None,
        thresholds=ImageThresholds(),
    )
    expected = math.dist((0.6, 0.6, 0.6, 0.5), (0.3, 0.25, 0.2, 0.35)) / math.hypot(
        0.6, 0.6, 0.6, 0.5
    )
    assert gone["state"] == "reversed"
    assert gone["relative_change"] == pytest.approx(expected, abs=1e-6)
    there = assess_images(
        "building",
        before=stats(roof),
        after=stats(roof),
        reference=None,
        thresholds=ImageThresholds(),
    )
    assert there["state"] == "present" and there["relative_change"] == 0
    # with the image from before the change: half-way back is a reversion of 0.5
    half = means(0.45, 0.425, 0.4, 0.425)
    back = assess_images(
        "building",
        before=stats(roof),
        after=stats(half),
        reference=stats(soil),
        thresholds=ImageThresholds(reversion_min=0.6),
    )
    assert back["reversion"] == pytest.approx(0.5) and back["state"] == "present"


def test_unknown_without_after_image_or_valid_pixels() -> None:
    soil = means(0.3, 0.25, 0.2, 0.35)
    missing = assess_images(
        "dust_source",
        before=stats(soil),
        after=None,
        reference=None,
        thresholds=ImageThresholds(),
    )
    assert missing["state"] == "unknown" and "No after image" in missing["reason"]
    cloudy = assess_images(
        "dust_source",
        before=stats(soil),
        after=stats(soil, valid=199),
        reference=None,
        thresholds=ImageThresholds(min_valid_share=0.5),
    )
    assert cloudy["state"] == "unknown" and "50%" in cloudy["reason"]
    assert cloudy["after"]["valid_share"] == pytest.approx(199 / 400)


def test_rules_from_a_mapping() -> None:
    rules = VerifyRules.from_dict(
        {
            "distance_m": 30,
            "thresholds": {"default": {"min_valid_share": 0.7}, "dust_source": {"ndvi_rise": 0.2}},
        }
    )
    assert rules.distance_m == 30 and rules.min_fixes == 1
    assert rules.for_type("dust_source") == ImageThresholds(min_valid_share=0.7, ndvi_rise=0.2)
    assert rules.for_type("building").min_valid_share == 0.7
    assert VerifyRules.from_dict(rules.as_dict()) == rules
    for bad in (
        {"radius": 1},
        {"thresholds": {"house": {}}},
        {"distance_m": -1},
        {"thresholds": {"building": {"change_min": "big"}}},
    ):
        with pytest.raises(InvalidParameter):
            VerifyRules.from_dict(bad)
