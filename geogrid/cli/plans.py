"""What the grid and component commands share: listing and rejecting change plans."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from geogrid.changes.plans import list_plans, reject_plan
from geogrid.cli.common import transaction


def print_plans(out: Console, kind: str) -> None:
    """Print the plans of ``kind`` (grids, components), newest first."""
    with transaction() as conn:
        plans = list_plans(conn, kind=kind)
    table = Table("id", "status", "file", "by", "created")
    for p in plans:
        table.add_row(
            str(p.id),
            p.status,
            p.file_name,
            p.created_by,
            p.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)


def reject(out: Console, kind: str, plan_id: int, by: str) -> None:
    """Reject plan ``plan_id`` of ``kind`` and say so."""
    with transaction() as conn:
        plan = reject_plan(conn, plan_id, kind=kind, decided_by=by)
    out.print(f"Plan {plan.id} is {plan.status}.")
