"""Sanitation rules as plain values: vocabularies, the sweeping rule, the self-handling tiers.

Pure: no database, no files. The sweeping rule (:class:`SweepRule`) is what
:mod:`geogrid.sanitation.sweeping` measures with; :func:`self_handling_points` is the tiered
share rule of DOMAIN.md §7.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from geogrid.errors import InvalidParameter

#: The sanitation subclasses (CATALOGUE.md) whose cases the companies' tables count.
SANITATION_SUB_CLASSES: dict[str, str] = {
    "06010": "暴露垃圾",
    "06011": "积存垃圾渣土",
    "06012": "道路不洁",
    "06042": "垃圾站（箱）满溢",
    "03005": "垃圾箱异常",
}
#: The case source of self-handled cases (网格员自处置, DOMAIN.md §3).
SELF_HANDLED_SOURCE = "grid_worker"

ROAD_CLASSES: dict[str, str] = {"main": "主干道", "secondary": "次干道", "alley": "背街小巷"}
ROAD_CLASS_ALIASES: dict[str, str] = {
    **{k: k for k in ROAD_CLASSES},
    **{v: k for k, v in ROAD_CLASSES.items()},
    "主干路": "main",
    "快速路": "main",
    "次干路": "secondary",
    "支路": "alley",
    "巷道": "alley",
    "小巷": "alley",
    "街巷": "alley",
}
TRACKER_KINDS: dict[str, str] = {
    "sweeper": "扫路车",
    "washer": "洗扫车",
    "garbage_truck": "垃圾清运车",
    "crew": "保洁班组",
}
TRACKER_KIND_ALIASES: dict[str, str] = {
    **{k: k for k in TRACKER_KINDS},
    **{v: k for k, v in TRACKER_KINDS.items()},
    "扫地车": "sweeper",
    "清扫车": "sweeper",
    "洒水车": "washer",
    "冲洗车": "washer",
    "垃圾车": "garbage_truck",
    "清运车": "garbage_truck",
    "班组": "crew",
    "保洁员": "crew",
}
#: Kinds whose tracks sweep a road (a garbage truck's do not).
SWEEPING_KINDS = ("sweeper", "washer", "crew")
#: The tiered share rule of DOMAIN.md §7: a share (%) up to the bound earns the points.
SELF_HANDLING_TIERS: tuple[tuple[float, int], ...] = ((10.0, 3), (20.0, 2), (30.0, 1))
SELF_HANDLING_MAX_POINTS = 3


def self_handling_points(share: float | None) -> int | None:
    """Points of a self-handled share (%): ≤ 10 → 3; ≤ 20 → 2; ≤ 30 → 1; more → 0.

    DOMAIN.md §7, "simple and self-handled cases ≤ 10 % → 3; 11–20 % → 2; 21–30 % → 1;
    > 30 % → 0", read as the bands ≤ 10, ≤ 20, ≤ 30, other (10.5 % is in the second, as
    :func:`geogrid.assessment.shapes.band_points` reads it). None when the share is (no cases).
    """
    if share is None:
        return None
    for bound, points in SELF_HANDLING_TIERS:
        if share <= bound:
            return points
    return 0


@dataclass(frozen=True)
class SweepRule:
    """When a road counts as swept (all configurable; the defaults of issue 10).

    Parameters
    ----------
    lateral_m
        A point of a road segment is swept by a track line that passes beside it: its foot on
        the line lies between the line's two fixes and it is at most this far (m) from it.
    max_speed_kmh
        A track line (two consecutive usable fixes) sweeps only when its speed is at most this
        (km/h); a vehicle driving at 40 km/h is travelling, not sweeping.
    max_gap_s
        Two fixes further apart in time (s) are not joined into a track line.
    max_angle_deg
        A track line sweeps only a road it runs along: the angle between the line and the road
        at the point is at most this (a vehicle crossing the road does not sweep it).
    pass_gap_s
        Visits of one tracker to a point more than this (s) apart are separate sweeps.
    min_share
        A segment was swept once (twice …) when at least this share of its length was swept
        once (twice …).
    step_m
        Roads are measured on points this far apart (each stands for ``step_m`` of road).
    kinds
        Tracker kinds whose tracks sweep.
    """

    lateral_m: float = 10.0
    max_speed_kmh: float = 15.0
    max_gap_s: float = 120.0
    max_angle_deg: float = 45.0
    pass_gap_s: float = 120.0
    min_share: float = 0.9
    step_m: float = 5.0
    kinds: tuple[str, ...] = SWEEPING_KINDS

    def __post_init__(self) -> None:
        checks = (
            ("lateral_m", 0 < self.lateral_m <= 100, "between 0 and 100 m"),
            ("max_speed_kmh", 0 < self.max_speed_kmh <= 120, "between 0 and 120 km/h"),
            ("max_gap_s", 0 < self.max_gap_s <= 3600, "between 0 and 3600 s"),
            ("max_angle_deg", 0 < self.max_angle_deg <= 90, "between 0 and 90°"),
            ("pass_gap_s", 0 <= self.pass_gap_s <= 86400, "between 0 and 86400 s"),
            ("min_share", 0 < self.min_share <= 1, "between 0 and 1"),
            ("step_m", 0.5 <= self.step_m <= 50, "between 0.5 and 50 m"),
        )
        for name, ok, bounds in checks:
            if not ok:
                raise InvalidParameter(f"Parameter '{name}' must be {bounds}.")
        unknown = [k for k in self.kinds if k not in TRACKER_KINDS]
        if unknown or not self.kinds:
            raise InvalidParameter(
                f"Parameter 'kinds' must name some of {', '.join(TRACKER_KINDS)}"
                + (f", not {', '.join(unknown)}." if unknown else ".")
            )

    @property
    def max_speed_mps(self) -> float:
        """``max_speed_kmh`` in m/s."""
        return self.max_speed_kmh / 3.6

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kinds"] = list(self.kinds)
        return out


def required_sweeps(road_class: str, levels: dict[str, int], override: int | None) -> int:
    """Sweeps a day a segment needs: its own number, else its area's for its road class."""
    return int(override) if override is not None else int(levels[road_class])


def sweep_status(sweeps: int, required: int) -> str:
    """``done`` (at least the required sweeps), ``short`` (fewer) or ``missed`` (none)."""
    if sweeps >= required:
        return "done"
    return "short" if sweeps > 0 else "missed"


STATUS_LABELS = {"done": "达标", "short": "遍数不足", "missed": "漏扫"}
