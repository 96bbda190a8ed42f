"""Stored assessment runs (考核, DOMAIN.md §7): create, read, list, enter manual inputs, re-score.

A run is one rule set scored for one period at one level, stored with everything needed to
score it again and to show why each point was lost (tables ``assessment_runs``,
``assessment_inputs``, ``assessment_scorings``, migration 0011):

- the rule set's text as loaded (a preset edited later, or a file changed, leaves the run as
  it was scored);
- the indicator values resolved from the data when the run was created. Entering manual
  inputs re-scores from these stored values with the pure :func:`~geogrid.assessment.score`,
  so a run changes only by what was entered, never by cases imported since; a new run takes
  new data into account;
- the manual inputs (人工录入) of each unit, with who entered them and when;
- every scoring, the first included (``created``, then ``inputs``): the inputs it changed,
  each unit's total and the whole result. The run holds the current result; earlier ones
  stay in the history.

A units filter shows only the chosen units, but they are scored together with every unit of
the level, so that shapes comparing units (ranking tiers, the average, the quota) give them the
points of a full run; their ranks are those among all units of the level.

Manual inputs are checked before anything is stored, every problem named by unit and item:
an unknown unit, an unknown item, a value that is not a number or out of the item's range
(:mod:`.entries`), or a value a shape refuses. A JSON ``null`` removes an input (the item is
pending again); an empty cell of an uploaded table changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.assessment.engine import score
from geogrid.assessment.entries import (
    RuleSource,
    check_entries,
    chosen_units,
    field_range,
)
from geogrid.assessment.inputs import UNIT_LEVELS, period_of, resolve_inputs
from geogrid.assessment.manual import field_header, manual_fields, read_manual
from geogrid.assessment.result import AssessmentResult
from geogrid.assessment.rules import RuleSet, parse_rule_set
from geogrid.errors import InvalidParameter, NotFound, ValidationFailed
from geogrid.patrol.coverage import CoverageRule

Progress = Callable[[str, float], None]
Entries = Mapping[str, Mapping[str, Any]]
MAX_LISTED = 500


@dataclass(frozen=True)
class ManualEntry:
    """A stored manual input: the value, who entered it and when."""

    value: float
    entered_by: str
    entered_at: datetime


@dataclass(frozen=True)
class Scoring:
    """One scoring of a run: why, what it changed, each unit's total."""

    n: int
    cause: str
    changes: dict[str, dict[str, float | None]]
    totals: dict[str, float]
    scored_by: str
    scored_at: datetime


@dataclass(frozen=True)
class Run:
    """A stored run: the rule set, the period, the stored inputs and the current result."""

    id: int
    rule_set: RuleSet
    rules_text: str
    rules_format: str
    period: str
    level: str
    units: tuple[str, ...] | None
    status: str
    created_by: str
    created_at: datetime
    scored_at: datetime
    scorings: int
    values: dict[str, dict[str, float | None]]
    names: dict[str, str]
    result: AssessmentResult
    manual: dict[str, dict[str, ManualEntry]]
    history: tuple[Scoring, ...] = ()

    @property
    def shown_units(self) -> list[str]:
        """The units the run shows (the filter, or every unit of the level), by code."""
        return list(self.units) if self.units else sorted(self.names)

    def manual_values(self) -> dict[str, dict[str, float | None]]:
        """The stored manual inputs as plain values, unit → field → value."""
        return {u: {f: e.value for f, e in fs.items()} for u, fs in self.manual.items()}

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for JSON): the run, the result per unit and item, inputs, history."""
        result = self.result.as_dict()
        rs = self.rule_set
        return {
            "id": self.id,
            "rule_set": {
                "name": rs.name,
                "version": rs.version,
                "title": rs.title,
                "units": rs.units,
                "period": rs.period,
                "total": rs.total,
                "bonus": rs.bonus,
            },
            "period": self.period,
            "level": self.level,
            "units_filter": list(self.units) if self.units else None,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "scored_at": self.scored_at.isoformat(),
            "scorings": self.scorings,
            "parts": result["parts"],
            "units": result["units"],
            "manual_fields": [
                {
                    "field": f.field,
                    "item": f.item,
                    "role": f.role,
                    "label": f.label,
                    "header": field_header(f, rs),
                    "max_points": rs.item(f.item).points,
                    "accepts": field_range(rs, f).text,
                }
                for f in manual_fields(rs)
            ],
            "manual_inputs": {
                unit: {
                    name: {
                        "value": e.value,
                        "entered_by": e.entered_by,
                        "entered_at": e.entered_at.isoformat(),
                    }
                    for name, e in fields.items()
                }
                for unit, fields in self.manual.items()
            },
            "history": [
                {
                    "n": s.n,
                    "cause": s.cause,
                    "changes": s.changes,
                    "totals": s.totals,
                    "scored_by": s.scored_by,
                    "scored_at": s.scored_at.isoformat(),
                }
                for s in self.history
            ],
        }


def _scored(
    rule_set: RuleSet,
    values: Mapping[str, Mapping[str, float | None]],
    names: Mapping[str, str],
    manual: Mapping[str, Mapping[str, float | None]],
    *,
    level: str,
    period: str,
    units: tuple[str, ...] | None,
) -> AssessmentResult:
    result = score(rule_set, values, manual, names=names, level=level, period=period)
    if units:
        shown = tuple(u for u in result.units if u.unit in units)
        result = dataclasses.replace(result, units=shown)
    return result


def _status(result: AssessmentResult) -> str:
    return "pending" if any(u.pending for u in result.units) else "complete"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _store_inputs(
    conn: Connection,
    run_id: int,
    rule_set: RuleSet,
    changes: Mapping[str, Mapping[str, float | None]],
    *,
    entered_by: str,
) -> None:
    items = {f.field: f.item for f in manual_fields(rule_set)}
    upserts, deletes = [], []
    for unit, fields in changes.items():
        for field, value in fields.items():
            key = {"run": run_id, "unit": unit, "field": field}
            if value is None:
                deletes.append(key)
            else:
                upserts.append(key | {"item": items[field], "value": value, "by": entered_by})
    if deletes:
        conn.execute(
            sa.text(
                "DELETE FROM assessment_inputs "
                "WHERE run_id = :run AND unit = :unit AND field = :field"
            ),
            deletes,
        )
    if upserts:
        conn.execute(
            sa.text(
                "INSERT INTO assessment_inputs (run_id, unit, field, item, value, entered_by) "
                "VALUES (:run, :unit, :field, :item, :value, :by) "
                "ON CONFLICT (run_id, unit, field) DO UPDATE SET value = EXCLUDED.value, "
                "entered_by = EXCLUDED.entered_by, entered_at = now()"
            ),
            upserts,
        )


def _record_scoring(
    conn: Connection,
    run_id: int,
    n: int,
    cause: str,
    changes: Mapping[str, Mapping[str, float | None]],
    result: AssessmentResult,
    scored_by: str,
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO assessment_scorings (run_id, n, cause, changes, totals, result, "
            "scored_by) VALUES (:run, :n, :cause, CAST(:changes AS jsonb), "
            "CAST(:totals AS jsonb), CAST(:result AS jsonb), :by)"
        ),
        {
            "run": run_id,
            "n": n,
            "cause": cause,
            "changes": _json(changes),
            "totals": _json({u.unit: u.total for u in result.units}),
            "result": _json(result.as_dict()),
            "by": scored_by,
        },
    )


def create_run(
    conn: Connection,
    source: RuleSource,
    period: str,
    *,
    created_by: str,
    level: str | None = None,
    units: Collection[str] | None = None,
    manual: Entries | None = None,
    indicator_options: Mapping[str, Any] | None = None,
    coverage_rule: CoverageRule | None = None,
    progress: Progress | None = None,
) -> Run:
    """Score a rule set for a period on the database and store the run.

    Parameters
    ----------
    conn
        A connection in a transaction (the run is written in it).
    source
        The rule set (:func:`rule_source`); its text is stored as given.
    period
        ``YYYY-MM``, or ``YYYY`` for a calendar year (annual rule sets).
    created_by
        Who asked for the run (also the author of ``manual``).
    level
        The units scored; default the rule set's.
    units
        Show only these units (codes or names), scored among all units of the level.
    manual
        Manual inputs, unit (code or name) → field → value (checked as by
        :func:`check_entries`).
    indicator_options, coverage_rule
        As for :func:`~geogrid.assessment.assess_month`.
    progress
        Called with a stage and a fraction done (background jobs).

    Raises
    ------
    ValidationFailed
        The rule set, the units filter or a manual input is invalid (nothing is stored).
    InvalidParameter
        The period or the level is malformed, or an indicator cannot be computed per level.
    """
    step = progress or (lambda stage, fraction: None)
    rule_set = parse_rule_set(source.text, shown=source.shown, kind=source.format)
    level = level or rule_set.units
    if level not in UNIT_LEVELS:
        raise InvalidParameter(f"Parameter 'level' must be one of {', '.join(UNIT_LEVELS)}.")
    tz = str((indicator_options or {}).get("tz", "Asia/Shanghai"))
    span = period_of(period, tz=tz)
    label = f"{span.start.year}" if len(period.strip()) == 4 else f"{span.start:%Y-%m}"
    step("resolving indicators", 0.1)
    found = resolve_inputs(
        conn,
        sorted(rule_set.indicators()),
        level=level,
        period=span,
        indicator_options=indicator_options,
        coverage_rule=coverage_rule,
    )
    chosen = chosen_units(units, found.names)
    allowed = chosen or tuple(found.names)
    entered = check_entries(rule_set, manual, found.names, allowed) if manual else {}
    given = {u: {f: v for f, v in fs.items() if v is not None} for u, fs in entered.items()}
    step("scoring", 0.8)
    result = _scored(
        rule_set,
        found.values,
        found.names,
        given,
        level=level,
        period=label,
        units=chosen or None,
    )
    run_id = conn.execute(
        sa.text(
            "INSERT INTO assessment_runs (rule_set, rule_set_version, rule_set_title, "
            "rules_text, rules_format, period, level, units, status, inputs, result, "
            "created_by) VALUES (:name, :version, :title, :text, :format, :period, :level, "
            ":units, :status, CAST(:inputs AS jsonb), CAST(:result AS jsonb), :by) "
            "RETURNING id"
        ),
        {
            "name": rule_set.name,
            "version": rule_set.version,
            "title": rule_set.title,
            "text": source.text,
            "format": source.format,
            "period": label,
            "level": level,
            "units": list(chosen) or None,
            "status": _status(result),
            "inputs": _json({"values": found.values, "names": found.names}),
            "result": _json(result.as_dict()),
            "by": created_by,
        },
    ).scalar_one()
    _store_inputs(conn, run_id, rule_set, given, entered_by=created_by)
    _record_scoring(conn, run_id, 1, "created", given, result, created_by)
    return get_run(conn, run_id)


_RUN_COLUMNS = (
    "id, rules_text, rules_format, rule_set, period, level, units, status, inputs, result, "
    "created_by, created_at, scored_at, scorings"
)


def get_run(conn: Connection, run_id: int, *, lock: bool = False) -> Run:
    """The stored run ``run_id`` with its manual inputs and history.

    ``lock`` takes a row lock until the transaction ends (entering inputs).

    Raises
    ------
    NotFound
        There is no such run.
    """
    row = (
        conn.execute(
            sa.text(
                f"SELECT {_RUN_COLUMNS} FROM assessment_runs WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": run_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(f"There is no assessment run {run_id}.")
    manual: dict[str, dict[str, ManualEntry]] = {}
    for unit, field, value, by, at in conn.execute(
        sa.text(
            "SELECT unit, field, value, entered_by, entered_at FROM assessment_inputs "
            "WHERE run_id = :id ORDER BY unit, field"
        ),
        {"id": run_id},
    ):
        manual.setdefault(unit, {})[field] = ManualEntry(value, by, at)
    history = tuple(
        Scoring(n, cause, changes, totals, by, at)
        for n, cause, changes, totals, by, at in conn.execute(
            sa.text(
                "SELECT n, cause, changes, totals, scored_by, scored_at FROM assessment_scorings "
                "WHERE run_id = :id ORDER BY n"
            ),
            {"id": run_id},
        )
    )
    stored = row["inputs"]
    return Run(
        id=row["id"],
        rule_set=parse_rule_set(row["rules_text"], shown=row["rule_set"], kind=row["rules_format"]),
        rules_text=row["rules_text"],
        rules_format=row["rules_format"],
        period=row["period"],
        level=row["level"],
        units=tuple(row["units"]) if row["units"] else None,
        status=row["status"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        scored_at=row["scored_at"],
        scorings=row["scorings"],
        values=stored["values"],
        names=stored["names"],
        result=AssessmentResult.from_dict(row["result"]),
        manual=manual,
        history=history,
    )


def list_runs(
    conn: Connection,
    *,
    rule_set: str | None = None,
    period: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest runs first (at most ``limit``), optionally of one rule set and period."""
    if not 1 <= limit <= MAX_LISTED:
        raise InvalidParameter(f"Parameter 'limit' must be 1 to {MAX_LISTED}.")
    rows = conn.execute(
        sa.text(
            "SELECT id, rule_set, rule_set_version, rule_set_title, period, level, units, "
            "status, created_by, created_at, scored_at, scorings, "
            "jsonb_array_length(result->'units') AS units_scored, "
            "(SELECT coalesce(sum(jsonb_array_length(u->'pending')), 0) "
            " FROM jsonb_array_elements(result->'units') u) AS pending_items "
            "FROM assessment_runs "
            "WHERE (CAST(:rule_set AS text) IS NULL OR rule_set = :rule_set) "
            "AND (CAST(:period AS text) IS NULL OR period = :period) "
            "ORDER BY created_at DESC, id DESC LIMIT :limit"
        ),
        {"rule_set": rule_set, "period": period, "limit": limit},
    ).mappings()
    return [
        {
            **row,
            "created_at": row["created_at"].isoformat(),
            "scored_at": row["scored_at"].isoformat(),
            "pending_items": int(row["pending_items"]),
        }
        for row in rows
    ]


def enter_inputs(conn: Connection, run_id: int, entries: Entries, *, entered_by: str) -> Run:
    """Store manual inputs of a run and re-score it from its stored indicator values.

    The previous result stays in the run's history (a new scoring is recorded).

    Raises
    ------
    NotFound
        There is no such run.
    ValidationFailed
        A unit, item or value is refused (see :func:`check_entries`), or a shape cannot use a
        value; nothing is stored.
    """
    run = get_run(conn, run_id, lock=True)
    changes = check_entries(run.rule_set, entries, run.names, run.shown_units)
    merged = run.manual_values()
    for unit, fields in changes.items():
        for field, value in fields.items():
            if value is None:
                merged.get(unit, {}).pop(field, None)
            else:
                merged.setdefault(unit, {})[field] = value
    result = _scored(
        run.rule_set,
        run.values,
        run.names,
        merged,
        level=run.level,
        period=run.period,
        units=run.units,
    )
    _store_inputs(conn, run_id, run.rule_set, changes, entered_by=entered_by)
    n = run.scorings + 1
    conn.execute(
        sa.text(
            "UPDATE assessment_runs SET result = CAST(:result AS jsonb), status = :status, "
            "scored_at = now(), scorings = :n WHERE id = :id"
        ),
        {"result": _json(result.as_dict()), "status": _status(result), "n": n, "id": run_id},
    )
    _record_scoring(conn, run_id, n, "inputs", changes, result, entered_by)
    return get_run(conn, run_id)


def enter_inputs_table(
    conn: Connection, run_id: int, path: Path, *, entered_by: str, name: str | None = None
) -> Run:
    """:func:`enter_inputs` from a CSV or XLSX table (the template of :mod:`.template`).

    An empty cell changes nothing; a row's unit may be given by code or name.
    """
    run = get_run(conn, run_id)
    table = read_manual(path, run.rule_set, name=name)
    if not any(table.values()):
        shown = name or path.name
        raise ValidationFailed(f"'{shown}' holds no manual input: every input cell is empty.")
    return enter_inputs(conn, run_id, table, entered_by=entered_by)
