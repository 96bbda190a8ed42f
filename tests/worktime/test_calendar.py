"""Deadline arithmetic on the working calendar (DOMAIN.md §4), hand-computed expectations.

Default working periods 08:30-12:00 and 13:30-17:30 (7.5 h). Dates are checked against a
printed calendar: 2025-03-07 is a Friday, 2025-01-26 a Sunday worked (调休) before the Spring
Festival 2025-01-28..02-04, 2025-02-08 a Saturday worked after it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from geogrid.catalogue import Deadline
from geogrid.worktime import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar.load()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def wh(amount: float) -> Deadline:
    return Deadline(amount, "working_hours")


def wd(amount: int) -> Deadline:
    return Deadline(amount, "working_days")


@pytest.mark.parametrize(
    ("start", "deadline", "expected"),
    [
        # Friday 17:00 + 5 h: 0.5 h on Friday, 3.5 h Monday morning, 1 h after lunch.
        (at(2025, 3, 7, 17), wh(5), at(2025, 3, 10, 14, 30)),
        # Inside the lunch break: begins at 13:30.
        (at(2025, 3, 5, 12, 30), wh(1), at(2025, 3, 5, 14, 30)),
        # Before opening: begins at 08:30.
        (at(2025, 3, 5, 7), wh(1), at(2025, 3, 5, 9, 30)),
        # At closing time: begins the next working morning.
        (at(2025, 3, 5, 17, 30), wh(0.5), at(2025, 3, 6, 9)),
        # Using up the morning exactly ends at 12:00, not 13:30.
        (at(2025, 3, 5, 8, 30), wh(3.5), at(2025, 3, 5, 12)),
        (at(2025, 3, 5, 8, 30), wh(7.5), at(2025, 3, 5, 17, 30)),
        # A Saturday start begins on Monday.
        (at(2025, 3, 8, 10), wh(2), at(2025, 3, 10, 10, 30)),
        # 15 minutes.
        (at(2025, 3, 5, 11, 50), wh(0.25), at(2025, 3, 5, 13, 35)),
        # Nothing to add: the start itself, even outside working time.
        (at(2025, 3, 8, 10), wh(0), at(2025, 3, 8, 10)),
    ],
)
def test_working_hours(start: datetime, deadline: Deadline, expected: datetime) -> None:
    assert CAL.add(start, deadline) == expected


@pytest.mark.parametrize(
    ("start", "deadline", "expected"),
    [
        # The start's day never counts (民法典 §201), whatever the time.
        (at(2025, 3, 5, 8), wd(1), at(2025, 3, 6, 17, 30)),
        (at(2025, 3, 5, 17, 29), wd(1), at(2025, 3, 6, 17, 30)),
        (at(2025, 3, 5, 20), wd(1), at(2025, 3, 6, 17, 30)),
        # Friday + 1: Monday. Saturday + 1: Monday.
        (at(2025, 3, 7, 9), wd(1), at(2025, 3, 10, 17, 30)),
        (at(2025, 3, 8, 9), wd(1), at(2025, 3, 10, 17, 30)),
        (at(2025, 3, 7, 9), wd(15), at(2025, 3, 28, 17, 30)),
        (at(2025, 3, 7, 9), wd(0), at(2025, 3, 7, 9)),
    ],
)
def test_working_days(start: datetime, deadline: Deadline, expected: datetime) -> None:
    assert CAL.add(start, deadline) == expected


def test_spring_festival_2025() -> None:
    assert CAL.is_working_day(date(2025, 1, 26))  # Sunday worked
    assert CAL.is_working_day(date(2025, 1, 27))
    assert not CAL.is_working_day(date(2025, 1, 28))
    assert not CAL.is_working_day(date(2025, 2, 4))
    assert CAL.is_working_day(date(2025, 2, 5))
    assert CAL.is_working_day(date(2025, 2, 8))  # Saturday worked
    assert not CAL.is_working_day(date(2025, 2, 9))
    start = at(2025, 1, 27, 16)
    # 1 working day: the next working day after the festival, Wednesday 5 February.
    assert CAL.add(start, wd(1)) == at(2025, 2, 5, 17, 30)
    # 4 working days: 5, 6, 7 and the Saturday 8 February.
    assert CAL.add(start, wd(4)) == at(2025, 2, 8, 17, 30)
    assert CAL.add(start, wd(5)) == at(2025, 2, 10, 17, 30)
    # 7.5 working hours: 1.5 h on the 27th, then 6 h on 5 February.
    assert CAL.add(start, wh(7.5)) == at(2025, 2, 5, 16)
    # Friday 24 January 17:00 + 5 h ends on the Sunday worked, not on Monday.
    assert CAL.add(at(2025, 1, 24, 17), wh(5)) == at(2025, 1, 26, 14, 30)


def test_national_day_2026() -> None:
    assert CAL.is_working_day(date(2026, 9, 20))  # Sunday worked
    assert not CAL.is_working_day(date(2026, 10, 1))
    assert not CAL.is_working_day(date(2026, 10, 7))
    assert CAL.is_working_day(date(2026, 10, 8))
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday worked
    start = at(2026, 9, 30, 10)
    assert CAL.add(start, wd(1)) == at(2026, 10, 8, 17, 30)
    assert CAL.add(start, wd(3)) == at(2026, 10, 10, 17, 30)
    assert CAL.add(at(2026, 9, 30, 17), wh(1)) == at(2026, 10, 8, 9)


def test_wall_clock_units_ignore_the_calendar() -> None:
    start = at(2025, 1, 27, 16)
    assert CAL.add(start, Deadline(24, "hours")) == at(2025, 1, 28, 16)
    assert CAL.add(start, Deadline(1.5, "hours")) == at(2025, 1, 27, 17, 30)
    assert CAL.add(start, Deadline(3, "days")) == at(2025, 1, 30, 16)
    assert CAL.add(start, Deadline(0.5, "days")) == at(2025, 1, 28, 4)


def test_aware_in_any_zone_aware_out_in_the_calendars() -> None:
    friday_17_local = datetime(2025, 3, 7, 9, tzinfo=UTC)
    end = CAL.add(friday_17_local, wh(5))
    assert end == at(2025, 3, 10, 14, 30)
    assert end.tzinfo == SH
    assert end.utcoffset() == at(2025, 7, 1).utcoffset()  # no daylight saving time
    hours = CAL.add(datetime(2025, 1, 27, 8, tzinfo=UTC), Deadline(1, "hours"))
    assert (hours.hour, hours.tzinfo) == (17, SH)


@pytest.mark.parametrize("deadline", [wh(1), wd(1), Deadline(1, "hours"), Deadline(1, "days")])
def test_naive_input_raises(deadline: Deadline) -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add(datetime(2025, 3, 7, 17), deadline)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_many([datetime(2025, 3, 7, 17)], [deadline])


def test_bad_deadlines_raise() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add(at(2025, 3, 7), wh(-1))
    with pytest.raises(ValueError, match="whole number"):
        CAL.add(at(2025, 3, 7), Deadline(1.5, "working_days"))


def test_configured_periods_and_holidays() -> None:
    cal = WorkCalendar(
        holidays={date(2025, 3, 10)},
        workdays=set(),
        periods=((time(9), time(17)),),
        tz="Asia/Urumqi",
    )
    urumqi = ZoneInfo("Asia/Urumqi")
    # Friday 16:00 + 2 h: 1 h on Friday; Monday is a holiday; Tuesday 10:00.
    assert cal.add(datetime(2025, 3, 7, 16, tzinfo=urumqi), wh(2)) == datetime(
        2025, 3, 11, 10, tzinfo=urumqi
    )
    assert cal.add(datetime(2025, 3, 7, 16, tzinfo=urumqi), wd(1)) == datetime(
        2025, 3, 11, 17, tzinfo=urumqi
    )


@pytest.mark.parametrize(
    "periods",
    [
        (),
        ((time(12), time(8)),),
        ((time(8), time(12)), (time(11), time(17))),
        ((time(13), time(17)), (time(8), time(12))),
    ],
)
def test_bad_periods_raise(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError, match="period"):
        WorkCalendar(holidays=set(), workdays=set(), periods=periods)


def test_a_day_both_holiday_and_workday_raises() -> None:
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(holidays={date(2025, 3, 8)}, workdays={date(2025, 3, 8)})
