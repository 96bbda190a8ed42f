"""Properties of working-time arithmetic, and ``add_many`` agreeing with ``add``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geogrid.catalogue import Deadline
from geogrid.worktime import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar.load()
WORKING_DAYS = [
    d
    for d in (date(2019, 1, 1) + timedelta(days=n) for n in range(8 * 365))
    if CAL.is_working_day(d)
]

any_start = st.datetimes(
    min_value=datetime(2019, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH)
)


@st.composite
def working_time_start(draw: st.DrawFn) -> datetime:
    """A moment inside a working period of a working day, to the second."""
    day = draw(st.sampled_from(WORKING_DAYS))
    period = draw(st.sampled_from(CAL.periods))
    begin = datetime.combine(day, period[0], tzinfo=SH)
    length = int((datetime.combine(day, period[1]) - datetime.combine(day, period[0])).seconds)
    return begin + timedelta(seconds=draw(st.integers(0, length - 1)))


deadlines = st.one_of(
    st.builds(Deadline, st.integers(0, 6000).map(lambda m: m / 60), st.just("working_hours")),
    st.builds(Deadline, st.integers(0, 30), st.just("working_days")),
    st.builds(Deadline, st.integers(0, 2000).map(lambda m: m / 60), st.just("hours")),
    st.builds(Deadline, st.integers(0, 30), st.just("days")),
)


@settings(max_examples=300, deadline=None)
@given(working_time_start(), st.integers(0, 3000), st.integers(0, 3000))
def test_working_hours_add_up(start: datetime, m1: int, m2: int) -> None:
    """add(s, h1 + h2) == add(add(s, h1), h2), for whole minutes h1, h2."""
    h1, h2 = Deadline(m1 / 60, "working_hours"), Deadline(m2 / 60, "working_hours")
    both = Deadline((m1 + m2) / 60, "working_hours")
    assert CAL.add(start, both) == CAL.add(CAL.add(start, h1), h2)


@settings(max_examples=300, deadline=None)
@given(any_start, deadlines)
def test_never_before_the_start(start: datetime, deadline: Deadline) -> None:
    assert CAL.add(start, deadline) >= start


@settings(max_examples=300, deadline=None)
@given(any_start, st.integers(1, 6000))
def test_working_hours_end_in_working_time(start: datetime, minutes: int) -> None:
    end = CAL.add(start, Deadline(minutes / 60, "working_hours"))
    assert CAL.is_working_day(end.date())
    assert any(a < end.time() <= b for a, b in CAL.periods)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(any_start, deadlines), min_size=1, max_size=60))
def test_add_many_agrees_with_add(cases: list[tuple[datetime, Deadline]]) -> None:
    starts = [s for s, _ in cases]
    due = [d for _, d in cases]
    assert CAL.add_many(starts, due) == [CAL.add(s, d) for s, d in cases]


def test_add_many_on_period_edges() -> None:
    day = date(2025, 3, 7)  # a Friday
    starts = [
        datetime.combine(day, t, tzinfo=SH)
        for t in (time(0), time(8, 30), time(12), time(13, 30), time(17, 30), time(23, 59))
    ]
    for amount in (0.5, 3.5, 4, 7.5, 100):
        due = [Deadline(amount, "working_hours")] * len(starts)
        expected = [CAL.add(s, d) for s, d in zip(starts, due, strict=True)]
        assert CAL.add_many(starts, due) == expected


def test_add_many_needs_one_deadline_per_start() -> None:
    with pytest.raises(ValueError, match="2 starts but 1 deadlines"):
        CAL.add_many([datetime(2025, 3, 7, tzinfo=SH)] * 2, [Deadline(1, "hours")])
    assert CAL.add_many([], []) == []
