"""The result of scoring a rule set: per unit and item the input, the points, the reasons.

Also the result as tables (CSV, XLSX): the scores of the units with their parts and items, and
one row per item that lost (or gained) points with its explanation sentences.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from geogrid.assessment.figures import dec, fmt
from geogrid.io.tables import Sheet, csv_lines, write_xlsx


@dataclass(frozen=True)
class ItemResult:
    """One item of one unit: its input values, its points (None: pending) and why."""

    key: str
    name: str
    part: str
    max_points: float
    inputs: dict[str, float | None]
    points: float | None
    reasons: tuple[str, ...] = ()

    @property
    def lost(self) -> float:
        """Points short of the item's maximum (0 when pending or above it)."""
        if self.points is None:
            return 0.0
        return float(max(dec(0), dec(self.max_points) - dec(self.points)))


@dataclass(frozen=True)
class UnitResult:
    """One scored unit: its items, the points of each part, its total and rank."""

    unit: str
    name: str
    items: tuple[ItemResult, ...]
    parts: dict[str, float]
    total: float
    rank: int

    @property
    def pending(self) -> tuple[str, ...]:
        """Keys of the items without points yet (a manual input missing)."""
        return tuple(i.key for i in self.items if i.points is None)

    def item(self, key: str) -> ItemResult:
        """The item of ``key``."""
        return next(i for i in self.items if i.key == key)

    def lost_reasons(self, top: int | None = None) -> list[ItemResult]:
        """Items that lost points, most points lost first."""
        lost = sorted((i for i in self.items if i.lost > 0), key=lambda i: -i.lost)
        return lost[:top] if top is not None else lost


@dataclass(frozen=True)
class PartInfo:
    """A part of the rule set as results show it."""

    key: str
    name: str
    points: float
    bonus: bool = False


@dataclass(frozen=True)
class AssessmentResult:
    """A rule set scored for a period: every unit, best first (ties share a rank)."""

    rule_set: str
    version: str
    title: str
    level: str
    period: str
    parts: tuple[PartInfo, ...]
    units: tuple[UnitResult, ...]

    def unit(self, code: str) -> UnitResult:
        """The result of the unit ``code``."""
        return next(u for u in self.units if u.unit == code)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssessmentResult:
        """The result :meth:`as_dict` gave, read back (a stored run's JSON)."""
        return cls(
            str(data["rule_set"]),
            str(data["version"]),
            str(data["title"]),
            str(data["level"]),
            str(data["period"]),
            tuple(PartInfo(p["key"], p["name"], p["points"], p["bonus"]) for p in data["parts"]),
            tuple(
                UnitResult(
                    u["unit"],
                    u["name"],
                    tuple(
                        ItemResult(
                            i["key"],
                            i["name"],
                            i["part"],
                            i["max_points"],
                            dict(i["inputs"]),
                            i["points"],
                            tuple(i["reasons"]),
                        )
                        for i in u["items"]
                    ),
                    {p["key"]: u["parts"][p["key"]] for p in data["parts"]},
                    u["total"],
                    u["rank"],
                )
                for u in data["units"]
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for JSON)."""
        data = asdict(self)
        for unit, result in zip(data["units"], self.units, strict=True):
            unit["pending"] = list(result.pending)
            for item, item_result in zip(unit["items"], result.items, strict=True):
                item["lost"] = item_result.lost
                item["reasons"] = list(item["reasons"])
        return data


def _cell(value: float | None) -> Any:
    return "待定" if value is None else value


def score_rows(result: AssessmentResult) -> tuple[list[str], Iterator[list[Any]]]:
    """Headers and rows of the scores: rank, unit, parts, total, then every item's points."""
    items = [i for i in result.units[0].items] if result.units else []
    headers = [
        "排名",
        "单位编码",
        "单位名称",
        *(f"{p.name}（{fmt(p.points)}）" for p in result.parts),
        "总分",
        *(f"{i.name}（{fmt(i.max_points)}）" for i in items),
    ]

    def rows() -> Iterator[list[Any]]:
        for unit in result.units:
            yield [
                unit.rank,
                unit.unit,
                unit.name,
                *(unit.parts[p.key] for p in result.parts),
                unit.total,
                *(_cell(i.points) for i in unit.items),
            ]

    return headers, rows()


def reason_rows(result: AssessmentResult) -> tuple[list[str], Iterator[list[Any]]]:
    """Headers and rows of the explanations: one row per item with a sentence."""
    headers = ["单位编码", "单位名称", "项目", "输入值", "满分", "得分", "扣分", "说明"]

    def rows() -> Iterator[list[Any]]:
        for unit in result.units:
            for item in unit.items:
                if not item.reasons:
                    continue
                shown = "；".join(
                    f"{k}={'—' if v is None else fmt(v)}" for k, v in item.inputs.items()
                )
                yield [
                    unit.unit,
                    unit.name,
                    item.name,
                    shown,
                    item.max_points,
                    _cell(item.points),
                    item.lost,
                    "；".join(item.reasons),
                ]

    return headers, rows()


def result_csv(result: AssessmentResult) -> Iterator[str]:
    """The scores as CSV lines (UTF-8 with BOM, Chinese headers)."""
    headers, rows = score_rows(result)
    return csv_lines(headers, rows)


def result_xlsx(result: AssessmentResult, path: Path) -> None:
    """The scores and the explanations as a two-sheet workbook."""
    headers, rows = score_rows(result)
    reason_headers, reasons = reason_rows(result)
    write_xlsx(
        [
            Sheet(f"考核得分 {result.period}"[:31], headers, rows, widths=[6, 16, 14]),
            Sheet("扣分说明", reason_headers, reasons, widths=[16, 14, 20, 24, 6, 6, 6, 80]),
        ],
        path,
    )
