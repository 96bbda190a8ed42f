"""The workflow stage of a case (DOMAIN.md §3), derived from its timestamps.

A case's stage is the last workflow step it has reached: reported (信息收集) → registered
(立案) → dispatched (派遣) → handled (处置) → verified (核查) → closed (结案). Nothing stores
the stage: it is read from the timestamps, so it can never disagree with them.
"""

from __future__ import annotations

from datetime import datetime

STAGES = ("reported", "registered", "dispatched", "handled", "verified", "closed")
STAGE_LABELS = {
    "reported": "已上报",
    "registered": "已立案",
    "dispatched": "已派遣",
    "handled": "已处置",
    "verified": "已核查",
    "closed": "已结案",
}

#: SQL expression of a case's stage; the case table is aliased ``f``.
STAGE_SQL = (
    "CASE WHEN f.closed_at IS NOT NULL THEN 'closed' "
    "WHEN f.verified_at IS NOT NULL THEN 'verified' "
    "WHEN f.handled_at IS NOT NULL THEN 'handled' "
    "WHEN f.dispatched_at IS NOT NULL THEN 'dispatched' "
    "WHEN f.registered_at IS NOT NULL THEN 'registered' ELSE 'reported' END"
)


def stage(
    *,
    registered_at: datetime | None,
    dispatched_at: datetime | None,
    handled_at: datetime | None,
    verified_at: datetime | None,
    closed_at: datetime | None,
) -> str:
    """The stage of a case from its workflow timestamps (the same rule as ``STAGE_SQL``)."""
    for name, value in (
        ("closed", closed_at),
        ("verified", verified_at),
        ("handled", handled_at),
        ("dispatched", dispatched_at),
        ("registered", registered_at),
    ):
        if value is not None:
            return name
    return "reported"
