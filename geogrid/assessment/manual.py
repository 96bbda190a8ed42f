"""Manual inputs (人工录入) of a rule set: which fields it needs, and reading them from a table.

Items judged from submitted material take their values from the manual inputs, a mapping
``{unit: {field: value}}`` where a field is the item's key (``meeting``) or, for an item with
several inputs, ``key.role`` (``case_quality.qualified``). As a table (CSV or XLSX): a column
``unit`` (or 单位, 单位编码, 单位名称) holding a unit's code or name, then one column per field,
headed by the field, by the item's Chinese name or as the template heads it
(:func:`field_header`); an empty cell is no value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from geogrid.assessment.figures import fmt
from geogrid.assessment.inputs import INDICATORS
from geogrid.assessment.rules import RuleSet
from geogrid.errors import Problem, ValidationFailed
from geogrid.io.sheets import read_table

UNIT_COLUMNS = ("unit", "单位", "单位编码", "单位名称")
MAX_ROWS = 100_000
"""Most rows of a manual-input table: one per unit, and a district has far fewer units."""
Manual = Mapping[str, Mapping[str, float | None]]


@dataclass(frozen=True)
class ManualField:
    """One manual input of a rule set: its field name, the item and a Chinese label."""

    field: str
    item: str
    role: str
    label: str


def manual_fields(rule_set: RuleSet) -> list[ManualField]:
    """Every field a rule set reads from manual inputs, in file order."""
    fields = []
    for _, item in rule_set.items():
        for role, source in item.sources.items():
            label = item.name if role == "value" else f"{item.name}（{role}）"
            if source == "manual":
                fields.append(ManualField(item.manual_key(role), item.key, role, label))
            elif source in INDICATORS and INDICATORS[source].manual:
                fields.append(ManualField(source, item.key, role, INDICATORS[source].label))
    return list({f.field: f for f in fields}.values())


def field_header(field: ManualField, rule_set: RuleSet) -> str:
    """The field's column header in the XLSX template: its Chinese name and the item's maximum
    points (``机构（4分）``); :func:`read_manual` reads it back."""
    return f"{field.label}（{fmt(rule_set.item(field.item).points)}分）"


def check_manual(manual: Manual, rule_set: RuleSet) -> None:
    """Refuse manual inputs naming a field the rule set does not read, or holding non-numbers."""
    known = {f.field for f in manual_fields(rule_set)}
    problems = []
    for unit, values in manual.items():
        for field, value in values.items():
            if field not in known:
                problems.append(
                    Problem(
                        f"unit '{unit}', field '{field}'",
                        "unknown_field",
                        f"Unit '{unit}': '{field}' is not a manual input of rule set "
                        f"'{rule_set.name}'.",
                    )
                )
            elif value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                problems.append(
                    Problem(
                        f"unit '{unit}', field '{field}'",
                        "not_a_number",
                        f"Unit '{unit}', {field}: '{value}' is not a number.",
                    )
                )
    if problems:
        raise ValidationFailed(
            f"The manual inputs do not fit rule set '{rule_set.name}': {problems[0].message}",
            problems,
        )


def read_manual(
    path: Path, rule_set: RuleSet, *, name: str | None = None
) -> dict[str, dict[str, float | None]]:
    """Manual inputs from a CSV or XLSX table (see the module's docstring).

    Raises
    ------
    ValidationFailed
        No unit column, a column that is no manual field of the rule set, a cell that is not a
        number (each named by row and column), more than :data:`MAX_ROWS` rows.
    """
    shown = name or path.name
    frame = read_table(path, name=shown, max_rows=MAX_ROWS)
    unit_column = next((c for c in UNIT_COLUMNS if c in frame.columns), None)
    if unit_column is None:
        raise ValidationFailed(
            f"'{shown}' has no unit column: name one of {', '.join(UNIT_COLUMNS)}."
        )
    fields = manual_fields(rule_set)
    by_header = (
        {f.field: f.field for f in fields}
        | {f.label: f.field for f in fields if f.role == "value"}
        | {field_header(f, rule_set): f.field for f in fields}
    )
    problems = []
    columns = {}
    for column in frame.columns:
        if column in UNIT_COLUMNS:
            continue
        if column not in by_header:
            problems.append(
                Problem(
                    f"column {column}",
                    "unknown_field",
                    f"Column '{column}' is not a manual input of rule set '{rule_set.name}'.",
                )
            )
        columns[column] = by_header.get(column, column)
    manual: dict[str, dict[str, float | None]] = {}
    for i, row in frame.iterrows():
        line = int(str(i)) + 2
        unit = str(row[unit_column]).strip()
        if not unit:
            continue
        values = manual.setdefault(unit, {})
        for column, field in columns.items():
            text = str(row[column]).strip()
            if not text:
                continue
            value: float | None
            try:
                value = float(text.rstrip("%"))
            except ValueError:
                value = None
            if value is None or not math.isfinite(value):
                kind = "a number" if value is None else "a finite number"
                problems.append(
                    Problem(
                        f"row {line}, column {column}",
                        "not_a_number",
                        f"Row {line}, {column}: '{text}' is not {kind}.",
                    )
                )
                continue
            values[field] = value
    if problems:
        raise ValidationFailed(
            f"'{shown}' was not read: {len(problems)} problem(s). First: {problems[0].message}",
            problems,
        )
    return manual
