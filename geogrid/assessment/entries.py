"""What a run is given, checked before anything is stored (DOMAIN.md §7).

- The rule set: a preset, a file (the CLI only) or YAML text (:func:`rule_source`).
- The units filter: codes or names of units of the level (:func:`chosen_units`).
- Manual inputs ``{unit: {field: value}}`` (:func:`check_entries`): every problem named by unit
  and item — an unknown unit (or one outside the run's filter), an unknown item, a value that
  is not a number or out of the item's range (:func:`field_range`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from geogrid.assessment.figures import fmt
from geogrid.assessment.inputs import INDICATORS
from geogrid.assessment.manual import ManualField, field_header, manual_fields
from geogrid.assessment.registry import LevelsParams
from geogrid.assessment.rules import RuleSet, preset_names
from geogrid.errors import NotFound, Problem, ValidationFailed

RulesFormat = Literal["yaml", "toml"]


@dataclass(frozen=True)
class RuleSource:
    """The text of a rule set as given, its format and the name shown in messages."""

    text: str
    format: RulesFormat
    shown: str


def rule_source(source: str | Path, *, files_allowed: bool = True) -> RuleSource:
    """The rule set a user names: a preset, a file (when ``files_allowed``) or YAML text.

    The API passes ``files_allowed=False``: a request never names a file of the server. A
    single word that is no preset is refused as an unknown preset, not parsed as YAML.
    """
    text = str(source).strip()
    if text in preset_names():
        resource = files("geogrid.assessment").joinpath("presets", f"{text}.yaml")
        return RuleSource(resource.read_text(encoding="utf-8"), "yaml", text)
    if files_allowed:
        path = Path(source)
        if path.is_file():
            kind: RulesFormat = "toml" if path.suffix.lower() == ".toml" else "yaml"
            return RuleSource(path.read_text(encoding="utf-8"), kind, path.name)
    if "\n" not in text and ":" not in text:
        what = "No rule file" if files_allowed else "No preset"
        raise NotFound(
            f"{what} '{text}'; presets: {', '.join(preset_names())}."
            + ("" if files_allowed else " Or give the rule set's YAML text.")
        )
    return RuleSource(str(source), "yaml", "rules")


@dataclass(frozen=True)
class FieldRange:
    """The values a manual field accepts: ``low``..``high`` (None: no upper bound)."""

    low: float
    high: float | None
    whole: bool
    #: What the assessor enters, in Chinese (the template's instructions).
    text: str

    def accepts(self, value: float) -> bool:
        """Whether ``value`` lies in the range (and is whole when it must be)."""
        if value < self.low or (self.high is not None and value > self.high):
            return False
        return not self.whole or float(value).is_integer()

    def english(self) -> str:
        """The range in words, for error messages."""
        kind = "a whole number" if self.whole else "a number"
        if self.high is None:
            return f"{kind} ≥ {fmt(self.low)}"
        return f"{kind} from {fmt(self.low)} to {fmt(self.high)}"


def field_range(rule_set: RuleSet, field: ManualField) -> FieldRange:
    """What a manual field accepts, from its item's shape (DOMAIN.md §7).

    Points entered by hand (``direct``): 0 to the item's points; a level (``levels``): a whole
    level 1..N; a percentage (a manual indicator in %, or a shape reading %): 0 to 100; a count
    (``occurrences``, ``sample_share``): a whole number ≥ 0; anything else: a number ≥ 0.
    """
    item = rule_set.item(field.item)
    params = item.shape_params()
    indicator = INDICATORS.get(field.field)
    if indicator is not None and indicator.manual:
        if indicator.unit == "%":
            return FieldRange(0, 100, False, f"{indicator.label}，百分比 0 至 100")
        return FieldRange(0, None, False, f"{indicator.label}，不小于 0")
    if item.shape == "direct":
        return FieldRange(0, item.points, False, f"得分，0 至 {fmt(item.points)} 分")
    if isinstance(params, LevelsParams):
        levels = "，".join(f"第 {i} 档 {fmt(p)} 分" for i, p in enumerate(params.points, 1))
        top = len(params.points)
        return FieldRange(1, top, True, f"档次，1 至 {top}（{levels}）")
    if item.shape in ("occurrences", "sample_share"):
        unit = str(getattr(params, "unit", "") or "件")
        what = "件数" if item.shape == "sample_share" else f"次数（{unit}）"
        return FieldRange(0, None, True, f"{what}，不小于 0 的整数")
    if getattr(params, "unit", None) == "%":
        return FieldRange(0, 100, False, "百分比，0 至 100")
    return FieldRange(0, None, False, "数值，不小于 0")


def problems_error(message: str, problems: list[Problem]) -> ValidationFailed:
    return ValidationFailed(
        f"{message}: {len(problems)} problem(s). First: {problems[0].message}", problems
    )


def _unit_codes(keys: Collection[str], names: Mapping[str, str]) -> dict[str, str | None]:
    """Each key (a unit's code or its unique name) → the unit's code, None when unknown."""
    by_name: dict[str, list[str]] = {}
    for code, name in names.items():
        by_name.setdefault(name, []).append(code)
    return {
        key: key if key in names else (by_name[key][0] if len(by_name.get(key, [])) == 1 else None)
        for key in keys
    }


def chosen_units(units: Collection[str] | None, names: Mapping[str, str]) -> tuple[str, ...]:
    """The codes of the units a filter names (codes or unique names); () for no filter.

    Raises
    ------
    ValidationFailed
        Naming every unit that is no unit of ``names``.
    """
    if not units:
        return ()
    codes = _unit_codes(units, names)
    unknown = [k for k, c in codes.items() if c is None]
    if unknown:
        raise problems_error(
            "The units filter names units that are not assessed at this level",
            [
                Problem(f"unit '{k}'", "unknown_unit", f"Unit '{k}' is no unit of this level.")
                for k in unknown
            ],
        )
    return tuple(sorted({c for c in codes.values() if c is not None}))


def check_entries(
    rule_set: RuleSet, entries: Any, names: Mapping[str, str], allowed: Collection[str]
) -> dict[str, dict[str, float | None]]:
    """Manual inputs checked against the rule set and the run's units, keyed by unit code.

    ``entries`` maps a unit (code or name) to ``{field: value}``; a field is an item's key,
    ``key.role``, a manual indicator or the field's Chinese label or template header. None
    removes the input.

    Raises
    ------
    ValidationFailed
        Every problem, each naming the unit and the item: unknown unit (or one outside the
        run's filter), unknown item, not a number, out of range.
    """
    if not isinstance(entries, Mapping) or not entries:
        raise ValidationFailed(
            "Give manual inputs as {unit: {item: value}}, a unit's code or name to its items."
        )
    fields = manual_fields(rule_set)
    known = (
        {f.label: f for f in fields if f.role == "value"}
        | {field_header(f, rule_set): f for f in fields}
        | {f.field: f for f in fields}
    )
    scope = {c: names.get(c, c) for c in allowed}
    codes = _unit_codes([str(k) for k in entries], scope)
    problems: list[Problem] = []
    checked: dict[str, dict[str, float | None]] = {}
    for key, values in entries.items():
        code = codes[str(key)]
        if code is None:
            problems.append(
                Problem(
                    f"unit '{key}'",
                    "unknown_unit",
                    f"Unit '{key}' is not assessed in this run.",
                )
            )
            continue
        shown = code if scope[code] == code else f"{scope[code]} ({code})"
        if not isinstance(values, Mapping):
            problems.append(
                Problem(
                    f"unit '{key}'",
                    "not_a_mapping",
                    f"Unit {shown}: give its manual inputs as {{item: value}}.",
                )
            )
            continue
        out = checked.setdefault(code, {})
        for name, value in values.items():
            field = known.get(str(name))
            if field is None:
                problems.append(
                    Problem(
                        f"unit '{key}', item '{name}'",
                        "unknown_item",
                        f"Unit {shown}: '{name}' is not a manual input of rule set "
                        f"'{rule_set.name}' (manual inputs: {', '.join(f.field for f in fields)}).",
                    )
                )
                continue
            where = f"unit '{key}', item '{field.field}'"
            said = f"Unit {shown}, {field.label} ({field.field})"
            if value is None:
                out[field.field] = None
            elif (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                problems.append(Problem(where, "not_a_number", f"{said}: '{value}' is no number."))
            elif not (span := field_range(rule_set, field)).accepts(value):
                problems.append(
                    Problem(
                        where,
                        "out_of_range",
                        f"{said}: {fmt(value)} is out of range; it takes {span.english()}.",
                    )
                )
            else:
                out[field.field] = float(value)
    if problems:
        raise problems_error("The manual inputs were not stored", problems)
    return checked
