"""The one update mechanism: dry-run plan → review → apply, with versioned history.

Used for grids (``geogrid.grids.update``) and components alike. A plan records the file it
came from, who made it, the layer versions it was computed against and what it would change;
applying it is one transaction that refuses a plan made stale by any later write, so two
concurrent applies cannot both succeed. Every applied plan is a version: the state after
version V is rebuilt from rows with ``change_id <= V`` (or none) and ``ended_by`` null or ``> V``.
"""

from geogrid.changes.plans import Plan, create_plan, get_plan, list_plans, lock_for_apply

__all__ = ["Plan", "create_plan", "get_plan", "list_plans", "lock_for_apply"]
