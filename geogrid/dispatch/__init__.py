"""Responsibility and dispatch (责任规则与派遣, DOMAIN.md §3; issue 10).

Responsibility rules say which unit (a department or a sanitation company) handles the cases
of a subclass, a major class or all, in an area (unit grids, a polygon, road segments with a
buffer), during a validity period. They are uploaded and reviewed through the one plan
mechanism (``geogrid.changes``): dry run → review (changes, conflicts, re-dispatch of open
cases) → apply → history. :func:`dispatch` gives one case's responsible unit and why;
:func:`dispatch_many` a whole table's in one statement; case registration and imports call
:func:`dispatch_located` for every case that arrives without a department.
"""

from geogrid.dispatch.match import Dispatch, dispatch, dispatch_located, dispatch_many
from geogrid.dispatch.update import (
    RuleConflicts,
    apply_responsibility_update,
    current_rules,
    plan_responsibility_update,
    redispatch_plan,
    rule_history,
)
from geogrid.dispatch.upload import read_rule_upload

__all__ = [
    "Dispatch",
    "RuleConflicts",
    "apply_responsibility_update",
    "current_rules",
    "dispatch",
    "dispatch_located",
    "dispatch_many",
    "plan_responsibility_update",
    "read_rule_upload",
    "redispatch_plan",
    "rule_history",
]
