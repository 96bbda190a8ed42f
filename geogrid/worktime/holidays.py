"""Reading the holiday calendar: public holidays and swapped working days (调休) as CSV.

Columns ``date,kind,name`` (``name`` optional), ``kind`` ``holiday`` (a day off, weekends of a
holiday included) or ``workday`` (a Saturday or Sunday worked instead). Lines starting with ``#``
are comments; "row n" in a problem is line n of the file.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib.resources import files
from pathlib import Path

from geogrid.catalogue.csvfile import read_rows, read_text
from geogrid.errors import Problem, ValidationFailed

KINDS = ("holiday", "workday")


def parse_holidays(text: str, *, source: str) -> tuple[frozenset[date], frozenset[date]]:
    """The holidays and the swapped working days of a calendar CSV text.

    Raises
    ------
    ValidationFailed
        Listing every bad row: a date not in ``YYYY-MM-DD`` form, an unknown kind, a date given
        twice, a swapped working day that is not a Saturday or Sunday.
    """
    rows = read_rows(
        text, source=source, columns=("date", "kind", "name"), required=("date", "kind")
    )
    holidays: set[date] = set()
    workdays: set[date] = set()
    problems: list[Problem] = []
    for number, row in rows:
        where = f"row {number}"
        try:
            day = date.fromisoformat(row["date"])
        except ValueError:
            problems.append(Problem(where, "date", f"'{row['date']}' is not a YYYY-MM-DD date."))
            continue
        kind = row["kind"]
        if kind not in KINDS:
            problems.append(Problem(where, "kind", f"Kind '{kind}' is not holiday or workday."))
        elif day in holidays or day in workdays:
            problems.append(Problem(where, "duplicate", f"{day} is given twice."))
        elif kind == "workday" and day.weekday() < 5:
            problems.append(
                Problem(
                    where,
                    "workday_weekday",
                    f"{day} is a {day:%A}: a swapped working day (调休) is a Saturday or Sunday.",
                )
            )
        else:
            (holidays if kind == "holiday" else workdays).add(day)
    if problems:
        raise ValidationFailed(
            f"The calendar file {source} has {len(problems)} problem(s).", problems
        )
    return frozenset(holidays), frozenset(workdays)


@functools.lru_cache(maxsize=1)
def shipped_holidays() -> tuple[frozenset[date], frozenset[date]]:
    """The shipped Chinese calendar 2019-2026 (``data/holidays.csv``), read once per process."""
    text = files("geogrid.worktime").joinpath("data", "holidays.csv").read_text(encoding="utf-8")
    return parse_holidays(text, source="holidays.csv")


def read_holidays(path: Path) -> tuple[frozenset[date], frozenset[date]]:
    """The holidays and swapped working days of a calendar file (UTF-8 or GB18030).

    Raises
    ------
    ValidationFailed
        When the file cannot be read or a row breaks a rule.
    """
    try:
        text = read_text(path)
    except OSError as exc:
        problem = Problem(str(path), "file", f"The calendar file cannot be read: {exc}.")
        raise ValidationFailed(f"The calendar file {path.name} cannot be read.", [problem]) from exc
    return parse_holidays(text, source=path.name)
