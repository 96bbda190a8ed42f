"""The values of the classification catalogue: a deadline and one catalogue item.

Components (管理部件) and events (管理事项) share the 5-digit code space of GB/T 47678.5-2026
(CATALOGUE.md), so an item is always keyed by (kind, code) (DOMAIN.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Kind = Literal["component", "event"]
DeadlineUnit = Literal["working_hours", "working_days", "hours", "days"]
Geometry = Literal["point", "line", "polygon"]

KINDS: tuple[Kind, ...] = get_args(Kind)
DEADLINE_UNITS: tuple[DeadlineUnit, ...] = get_args(DeadlineUnit)
GEOMETRIES: tuple[Geometry, ...] = get_args(Geometry)


@dataclass(frozen=True)
class Deadline:
    """A handling time limit (处置时限) of a subclass at one urgency (DOMAIN.md §4).

    ``working_hours`` and ``working_days`` count on the working calendar
    (``geogrid.worktime.WorkCalendar``); ``hours`` and ``days`` are wall-clock time.
    """

    amount: float
    unit: DeadlineUnit

    def __str__(self) -> str:
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount} {self.unit}"


@dataclass(frozen=True)
class CatalogueItem:
    """One component type or event type, with what a district configures for it.

    ``major`` is the 2-digit major class, ``code`` the 5-digit subclass. ``geometry`` is the
    geometry type a component of this type is surveyed as ("point", "line" or "polygon"; None
    for events); ``department`` the default competent / handling department (主管部门 / 处置部门).
    """

    kind: Kind
    code: str
    name: str
    major: str
    major_name: str
    geometry: str | None
    department: str | None
    deadline_normal: Deadline
    deadline_urgent: Deadline
