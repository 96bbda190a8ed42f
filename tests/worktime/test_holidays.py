"""The shipped holiday calendar and a district's replacement file, one file per rule."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from geogrid.errors import ValidationFailed
from geogrid.worktime import WorkCalendar
from geogrid.worktime.holidays import shipped_holidays


def days(first: date, last: date) -> set[date]:
    return {first + timedelta(n) for n in range((last - first).days + 1)}


def of_year(dates: frozenset[date], year: int) -> set[date]:
    return {d for d in dates if d.year == year}


def test_2025_as_published() -> None:
    holidays, workdays = shipped_holidays()
    assert of_year(holidays, 2025) == (
        {date(2025, 1, 1)}
        | days(date(2025, 1, 28), date(2025, 2, 4))
        | days(date(2025, 4, 4), date(2025, 4, 6))
        | days(date(2025, 5, 1), date(2025, 5, 5))
        | days(date(2025, 5, 31), date(2025, 6, 2))
        | days(date(2025, 10, 1), date(2025, 10, 8))
    )
    assert of_year(workdays, 2025) == {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    }


def test_2026_as_published() -> None:
    holidays, workdays = shipped_holidays()
    assert of_year(holidays, 2026) == (
        days(date(2026, 1, 1), date(2026, 1, 3))
        | days(date(2026, 2, 15), date(2026, 2, 23))
        | days(date(2026, 4, 4), date(2026, 4, 6))
        | days(date(2026, 5, 1), date(2026, 5, 5))
        | days(date(2026, 6, 19), date(2026, 6, 21))
        | days(date(2026, 9, 25), date(2026, 9, 27))
        | days(date(2026, 10, 1), date(2026, 10, 7))
    )
    assert of_year(workdays, 2026) == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }


# Working days a year = weekdays − holidays on weekdays + swapped days; e.g. 2025: 261 − 18 + 5.
# 11 statutory holidays until 2024, 13 from 2025; 2020 lost 2 to the Spring Festival extension.
WORKING_DAYS_A_YEAR = {
    2019: 250, 2020: 249, 2021: 250, 2022: 249, 2023: 249, 2024: 251, 2025: 248, 2026: 248,
}  # fmt: skip


@pytest.mark.parametrize(("year", "expected"), WORKING_DAYS_A_YEAR.items())
def test_working_days_of_each_year(year: int, expected: int) -> None:
    holidays, workdays = shipped_holidays()
    assert {date(year, 1, 1), date(year, 5, 1), date(year, 10, 1)} <= holidays
    assert all(d.weekday() >= 5 for d in workdays)
    cal = WorkCalendar.load()
    assert sum(cal.is_working_day(d) for d in days(date(year, 1, 1), date(year, 12, 31))) == (
        expected
    )


def test_2020_spring_festival_extension() -> None:
    holidays, workdays = shipped_holidays()
    assert date(2020, 2, 2) in holidays
    assert date(2020, 2, 1) not in workdays


def test_a_replacement_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text("date,kind\n2025-03-10,holiday\n2025-03-15,workday\n", encoding="utf-8")
    cal = WorkCalendar.load(path)
    assert not cal.is_working_day(date(2025, 3, 10))
    assert cal.is_working_day(date(2025, 3, 15))
    assert cal.is_working_day(date(2025, 10, 1))  # the shipped data is replaced


@pytest.mark.parametrize(
    ("rows", "rule"),
    [
        ("2025-13-01,holiday", "date"),
        ("2025/03/10,holiday", "date"),
        ("2025-03-10,day off", "kind"),
        ("2025-03-10,workday", "workday_weekday"),
        ("2025-03-10,holiday\n2025-03-10,holiday", "duplicate"),
    ],
)
def test_one_rule_per_file(tmp_path: Path, rows: str, rule: str) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text(f"# district calendar\ndate,kind,name\n{rows}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        WorkCalendar.load(path)
    problem = info.value.problems[-1]
    assert (problem.rule, len(info.value.problems)) == (rule, 1)
    assert problem.where == f"row {2 + rows.count(chr(10)) + 1}"


def test_header_without_kind(tmp_path: Path) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text("date\n2025-03-10\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="header"):
        WorkCalendar.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="cannot be read"):
        WorkCalendar.load(tmp_path / "absent.csv")
