"""The working-time calendar: Chinese public holidays, swapped working days (调休), working
periods, and deadline arithmetic in working hours, working days and wall-clock time (DOMAIN.md §4).

``WorkCalendar.load()`` gives the shipped calendar 2019-2026 (``data/holidays.csv``); the rules of
each unit are in ``geogrid.worktime.calendar``.
"""

from geogrid.worktime.calendar import DEFAULT_PERIODS, WorkCalendar

__all__ = ["DEFAULT_PERIODS", "WorkCalendar"]
