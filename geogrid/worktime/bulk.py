"""Deadlines of many cases at once (an import of 200,000 cases), same results as ``add``.

Working hours: every local moment gets a position on a cumulative working-time axis (microseconds
of working time since the first day of the batch); the deadline is the position plus the amount,
mapped back to a day with ``searchsorted`` and to a time of day within that day's periods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from geogrid.catalogue.model import Deadline

if TYPE_CHECKING:
    from geogrid.worktime.calendar import WorkCalendar

DAY_US = 86_400_000_000
US_PER_HOUR = 3_600_000_000
EPOCH = date(1970, 1, 1)
EPOCH_NAIVE = datetime(1970, 1, 1)
ONE_US = timedelta(microseconds=1)


def add_many(
    cal: WorkCalendar, starts: Sequence[datetime], deadlines: Sequence[Deadline]
) -> list[datetime]:
    """``[cal.add(s, d) ...]`` grouped by deadline; lengths are checked by the caller."""
    groups: dict[Deadline, list[int]] = {}
    for i, deadline in enumerate(deadlines):
        groups.setdefault(deadline, []).append(i)
    results: list[datetime | None] = [None] * len(starts)
    for deadline, index in groups.items():
        group = [starts[i] for i in index]
        if deadline.unit == "working_hours" and deadline.amount > 0:
            cal._check(deadline)
            ends = _working_hours(cal, group, round(float(deadline.amount) * US_PER_HOUR))
        elif deadline.unit == "working_days" and deadline.amount > 0:
            ends = _working_days(cal, group, deadline)
        else:
            ends = [cal.add(s, deadline) for s in group]
        for i, end in zip(index, ends, strict=True):
            results[i] = end
    return [r for r in results if r is not None]


def _working_days(cal: WorkCalendar, starts: list[datetime], deadline: Deadline) -> list[datetime]:
    """Working days depend only on the local day of the start: one computation per day."""
    cal._check(deadline)
    count = int(deadline.amount)
    cache: dict[date, datetime] = {}
    ends = []
    for start in starts:
        day = cal.localise(start).date()
        end = cache.get(day)
        if end is None:
            end = cache[day] = cal.end_of_working_days(day, count).replace(tzinfo=cal.tz)
        ends.append(end)
    return ends


def _working_hours(cal: WorkCalendar, starts: list[datetime], amount_us: int) -> list[datetime]:
    us = np.fromiter(
        ((cal.localise(s).replace(tzinfo=None) - EPOCH_NAIVE) // ONE_US for s in starts),
        dtype=np.int64,
        count=len(starts),
    )
    day = us // DAY_US
    tod = us - day * DAY_US
    first = int(day.min())
    begins = np.array([a for a, _ in cal.spans], dtype=np.int64)
    ends = np.array([b for _, b in cal.spans], dtype=np.int64)
    within = np.zeros_like(us)
    for a, b in zip(begins, ends, strict=True):
        within += np.clip(tod - a, 0, b - a)
    # Enough days for the amount over weekends and the longest holidays; grown if not.
    extra = int(amount_us // cal.day_us * 2) + 30
    while True:
        last = int(day.max()) + extra
        working = np.array(
            [cal.is_working_day(EPOCH + timedelta(days=d)) for d in range(first, last + 1)],
            dtype=np.int64,
        )
        cum_end = np.cumsum(working * cal.day_us)
        cum_before = cum_end - working * cal.day_us
        rel = day - first
        target = cum_before[rel] + within * working[rel] + amount_us
        if int(cum_end[-1]) >= int(target.max()):
            break
        extra *= 2
    k = np.searchsorted(cum_end, target, side="left")
    offset = target - cum_before[k]
    span_end = np.cumsum(ends - begins)
    j = np.searchsorted(span_end, offset, side="left")
    time_of_day = begins[j] + offset - (span_end[j] - (ends - begins)[j])
    result: npt.NDArray[np.int64] = (first + k) * DAY_US + time_of_day
    local = result.astype("datetime64[us]").tolist()
    return [moment.replace(tzinfo=cal.tz) for moment in local]
