"""What the images say about one patch: indices, change measures and thresholds (pure).

Every figure is computed from the patch's mean reflectance per band (the mean over the valid
pixels whose centres lie inside the patch), so each stored figure can be recomputed by hand
from the stored means.

Indices
-------
- NDVI = (NIR − R) / (NIR + R) (Rouse et al. 1974): vegetation.
- Bare-soil index, with a SWIR band: BSI = ((SWIR + R) − (NIR + B)) / ((SWIR + R) + (NIR + B))
  (Rikimaru, Roy & Miyatake 2002, *Tropical forest cover density mapping*; used for monthly
  bare-soil monitoring in Beijing by Chen et al. 2004). Sub-metre sensors (GF-2, Jilin-1,
  WorldView 4-band) have no SWIR: then geogrid uses ``bsi_vnir`` =
  ((R + B) − (G + NIR)) / ((R + B) + (G + NIR)), a proxy of the same normalised-difference form
  defined by geogrid (no published SWIR-free bare-soil index was found): bare soil reflects red
  more than green, while vegetation and the green dust nets used to cover soil reverse that
  (the basis of NGRDI, Tucker 1979) and vegetation raises NIR (the basis of NDVI).
- Brightness = (R + G + B) / 3, and the change vector of the band means (change vector
  analysis, Malila 1980) for buildings, land use and other changes.

Image states
------------
- dust_source: ``reversed`` (covered) when the bare-soil index fell by at least
  ``bare_soil_drop`` or NDVI rose by at least ``ndvi_rise``; else ``present``.
- building, land_use, other: with a reference image (before the change), ``reversed`` when the
  after image went back towards it, reversion = 1 − |after − reference| / |before − reference|
  ≥ ``reversion_min``; without one, when the relative change |after − before| / |before| ≥
  ``change_min`` (the footprint looks different: roof gone); else ``present``.
- ``unknown`` when an image is missing or has less than ``min_valid_share`` of valid pixels
  inside the patch (clouds, nodata, the patch outside the image).
The default thresholds are starting points to calibrate with local imagery.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from geogrid.errors import InvalidParameter
from geogrid.satellite.rules import CHANGE_TYPES

SPECTRAL = ("red", "green", "blue", "nir", "swir")


@dataclass(frozen=True)
class ImageThresholds:
    """Thresholds deciding the image state of a patch of one change type (see module doc)."""

    min_valid_share: float = 0.5
    bare_soil_drop: float = 0.10
    ndvi_rise: float = 0.15
    change_min: float = 0.25
    reversion_min: float = 0.5


def _default_thresholds() -> dict[str, ImageThresholds]:
    return {kind: ImageThresholds() for kind in CHANGE_TYPES}


@dataclass(frozen=True)
class VerifyRules:
    """The parameters of verification: field distance, patrol fixes, image thresholds per type."""

    distance_m: float = 50.0
    min_fixes: int = 1
    thresholds: Mapping[str, ImageThresholds] = field(default_factory=_default_thresholds)

    def for_type(self, change_type: str) -> ImageThresholds:
        return self.thresholds.get(change_type, ImageThresholds())

    def as_dict(self) -> dict[str, Any]:
        return {
            "distance_m": self.distance_m,
            "min_fixes": self.min_fixes,
            "thresholds": {k: asdict(v) for k, v in self.thresholds.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerifyRules:
        """Rules from a mapping like :meth:`as_dict`'s; absent keys keep their defaults.

        ``thresholds`` may hold a ``default`` entry applied to every change type first.

        Raises
        ------
        InvalidParameter
            For an unknown key, change type or a value that is not a non-negative number.
        """
        unknown = set(data) - {"distance_m", "min_fixes", "thresholds"}
        if unknown:
            raise InvalidParameter(f"Unknown verification rule(s): {', '.join(sorted(unknown))}.")
        given = data.get("thresholds") or {}
        if not isinstance(given, Mapping):
            raise InvalidParameter("'thresholds' must map change types to thresholds.")
        bad_types = set(given) - set(CHANGE_TYPES) - {"default"}
        if bad_types:
            raise InvalidParameter(
                f"Unknown change type(s) in thresholds: {', '.join(sorted(bad_types))}; "
                f"use {', '.join(CHANGE_TYPES)} or default."
            )
        base = _thresholds(given.get("default") or {}, ImageThresholds(), "default")
        thresholds = {kind: _thresholds(given.get(kind) or {}, base, kind) for kind in CHANGE_TYPES}
        distance = _number(data.get("distance_m", 50.0), "distance_m")
        min_fixes = _number(data.get("min_fixes", 1), "min_fixes")
        return cls(distance, max(int(min_fixes), 1), thresholds)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InvalidParameter(f"Verification rule '{name}' must be a number ≥ 0, not {value!r}.")
    return float(value)


def _thresholds(given: Mapping[str, Any], base: ImageThresholds, kind: str) -> ImageThresholds:
    names = {f.name for f in fields(ImageThresholds)}
    unknown = set(given) - names
    if unknown:
        raise InvalidParameter(
            f"Unknown threshold(s) for {kind}: {', '.join(sorted(unknown))}; "
            f"use {', '.join(sorted(names))}."
        )
    return replace(base, **{k: _number(v, f"{kind}.{k}") for k, v in given.items()})


@dataclass(frozen=True)
class ImageStats:
    """One image over one patch: pixels inside, valid pixels, mean reflectance per band role."""

    pixels: int
    valid_pixels: int
    means: dict[str, float]

    @property
    def valid_share(self) -> float:
        return self.valid_pixels / self.pixels if self.pixels else 0.0


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def ndvi(means: Mapping[str, float]) -> float | None:
    """NDVI of mean reflectances (Rouse et al. 1974); None when NIR + R is 0."""
    return _ratio(means["nir"] - means["red"], means["nir"] + means["red"])


def bare_soil(means: Mapping[str, float]) -> tuple[str, float | None]:
    """The bare-soil index of mean reflectances: ``("bsi", …)`` with SWIR, else the proxy."""
    r, g, b, n = means["red"], means["green"], means["blue"], means["nir"]
    if "swir" in means:
        s = means["swir"]
        return "bsi", _ratio((s + r) - (n + b), (s + r) + (n + b))
    return "bsi_vnir", _ratio((r + b) - (g + n), (r + b) + (g + n))


def brightness(means: Mapping[str, float]) -> float:
    """Mean visible reflectance (R + G + B) / 3."""
    return (means["red"] + means["green"] + means["blue"]) / 3


def _distance(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    keys = [k for k in SPECTRAL if k in a and k in b]
    return math.sqrt(sum((a[k] - b[k]) ** 2 for k in keys))


def _norm(a: Mapping[str, float]) -> float:
    return math.sqrt(sum(a[k] ** 2 for k in SPECTRAL if k in a))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def describe(stats: ImageStats) -> dict[str, Any]:
    """The figures of one image over one patch (valid share, means, indices)."""
    out: dict[str, Any] = {
        "pixels": stats.pixels,
        "valid_pixels": stats.valid_pixels,
        "valid_share": _rounded(stats.valid_share),
    }
    if stats.valid_pixels:
        name, value = bare_soil(stats.means)
        out |= {
            "means": {k: _rounded(v) for k, v in stats.means.items()},
            "ndvi": _rounded(ndvi(stats.means)),
            name: _rounded(value),
            "brightness": _rounded(brightness(stats.means)),
        }
    return out


def assess_images(
    change_type: str,
    *,
    before: ImageStats | None,
    after: ImageStats | None,
    reference: ImageStats | None,
    thresholds: ImageThresholds,
) -> dict[str, Any]:
    """The image figures of a patch and its image state (``reversed``, ``present``, ``unknown``).

    Returns
    -------
    dict
        ``state``, ``reason``, the per-image figures (``before``, ``after``, ``reference``) and
        the change figures that decided the state.
    """
    out: dict[str, Any] = {}
    for role, stats in (("reference", reference), ("before", before), ("after", after)):
        if stats is not None:
            out[role] = describe(stats)
    least = thresholds.min_valid_share
    for role, stats in (("before", before), ("after", after)):
        if stats is None:
            return out | {"state": "unknown", "reason": f"No {role} image covers the patch."}
        if stats.valid_share < least or stats.valid_pixels == 0:
            return out | {
                "state": "unknown",
                "reason": f"The {role} image has {stats.valid_share:.0%} valid pixels over the "
                f"patch, less than {least:.0%} (clouds, nodata or outside the image).",
            }
    assert before is not None and after is not None
    b, a = before.means, after.means
    out["change"] = {k: _rounded(a[k] - b[k]) for k in SPECTRAL if k in a and k in b}
    if change_type == "dust_source":
        return out | _dust(b, a, thresholds)
    usable_reference = reference is not None and reference.valid_share >= least
    if usable_reference and reference is not None and _distance(b, reference.means) > 0:
        reversion = 1 - _distance(a, reference.means) / _distance(b, reference.means)
        reversed_ = reversion >= thresholds.reversion_min
        return out | {
            "reversion": _rounded(reversion),
            "state": "reversed" if reversed_ else "present",
            "reason": f"Reversion towards the reference image {reversion:.2f} "
            f"{'≥' if reversed_ else '<'} {thresholds.reversion_min:.2f}.",
        }
    relative = _distance(a, b) / _norm(b) if _norm(b) > 0 else 0.0
    reversed_ = relative >= thresholds.change_min
    return out | {
        "relative_change": _rounded(relative),
        "brightness_change": _rounded(brightness(a) - brightness(b)),
        "state": "reversed" if reversed_ else "present",
        "reason": f"Relative change of the band means {relative:.2f} "
        f"{'≥' if reversed_ else '<'} {thresholds.change_min:.2f}.",
    }


def _dust(b: Mapping[str, float], a: Mapping[str, float], th: ImageThresholds) -> dict[str, Any]:
    name, soil_before = bare_soil(b)
    _, soil_after = bare_soil(a)
    ndvi_before, ndvi_after = ndvi(b), ndvi(a)
    soil_drop = (
        soil_before - soil_after if soil_before is not None and soil_after is not None else None
    )
    ndvi_gain = (
        ndvi_after - ndvi_before if ndvi_before is not None and ndvi_after is not None else None
    )
    covered = soil_drop is not None and soil_drop >= th.bare_soil_drop
    greened = ndvi_gain is not None and ndvi_gain >= th.ndvi_rise
    if covered or greened:
        reason = (
            f"The bare-soil index ({name}) fell by {soil_drop:.3f} ≥ {th.bare_soil_drop:.3f}."
            if covered
            else f"NDVI rose by {ndvi_gain:.3f} ≥ {th.ndvi_rise:.3f}."
        )
    else:
        reason = (
            f"The bare-soil index ({name}) fell by {soil_drop or 0:.3f} < "
            f"{th.bare_soil_drop:.3f} and NDVI rose by {ndvi_gain or 0:.3f} < {th.ndvi_rise:.3f}."
        )
    return {
        "bare_soil_index": name,
        "bare_soil_drop": _rounded(soil_drop),
        "ndvi_rise": _rounded(ndvi_gain),
        "state": "reversed" if covered or greened else "present",
        "reason": reason,
    }
