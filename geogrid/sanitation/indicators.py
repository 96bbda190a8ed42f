"""Case indicators of the sanitation companies, and their self-handled share (issue 10).

The companies' table is the department table (DOMAIN.md §4) of the sanitation subclasses
(:data:`geogrid.sanitation.rules.SANITATION_SUB_CLASSES`) grouped by responsible unit, the
company dispatch wrote into ``cases.department`` (level ``company`` of
:func:`geogrid.indicators.engine.compute_indicators`). Self-handled cases (网格员自处置, source
``grid_worker``: a company's workers fixing what they find) are counted apart: the companies'
table leaves them out, and :func:`self_handling` gives each company's self-handled cases, their
share of all its sanitation cases and the points of the tiered share rule (DOMAIN.md §7).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from geogrid.indicators.engine import IndicatorTable, compute_indicators
from geogrid.indicators.params import IndicatorQuery
from geogrid.sanitation.rules import (
    SANITATION_SUB_CLASSES,
    SELF_HANDLED_SOURCE,
    self_handling_points,
)

COMPANY_TITLE = "环卫公司案件处置情况（环卫类案件，不含自处置）"
SELF_HANDLING_TITLE = "环卫自处置案件统计（网格员自处置占比分档计分）"
SELF_HANDLING_HEADERS = [
    "环卫公司",
    "环卫类立案数",
    "自处置数",
    "自处置结案数",
    "自处置占比（%）",
    "档次得分",
]


def company_query(query: IndicatorQuery, *, self_handled: bool = False) -> IndicatorQuery:
    """``query`` at level ``company``: the sanitation subclasses, self-handled cases apart.

    With ``self_handled`` only the self-handled cases; else the other sources (or the one
    source ``query`` names).
    """
    return dataclasses.replace(
        query,
        level="company",
        sub_classes=tuple(SANITATION_SUB_CLASSES),
        source=SELF_HANDLED_SOURCE if self_handled else query.source,
        excluded_sources=() if self_handled or query.source else (SELF_HANDLED_SOURCE,),
    )


def company_indicators(conn: Connection, query: IndicatorQuery) -> IndicatorTable:
    """The companies' table: counts and rates of the dispatched sanitation cases per unit."""
    return compute_indicators(conn, company_query(query))


@dataclass(frozen=True)
class SelfHandling:
    """Per company: sanitation cases registered, self-handled, closed, share (%), points."""

    rows: list[dict[str, Any]]
    totals: dict[str, Any]


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole * 100, 2)


def self_handling(conn: Connection, query: IndicatorQuery) -> SelfHandling:
    """Self-handled sanitation cases per company in ``query.period`` and their share.

    ``registered`` counts every sanitation case registered in the period (self-handled or
    not); ``share`` = self-handled / registered × 100 (2 decimals, null without cases);
    ``points`` by the tiered share rule (≤ 10 % → 3, ≤ 20 % → 2, ≤ 30 % → 1, else 0).
    Sorted by share, lowest first (units without cases last).
    """
    everything = dataclasses.replace(
        company_query(query), source=None, excluded_sources=(), platform=query.platform
    )
    every = compute_indicators(conn, everything)
    own = compute_indicators(conn, company_query(query, self_handled=True))
    by_unit = {r["company"]: r for r in own.rows}
    rows = []
    for r in every.rows:
        mine = by_unit.get(r["company"], {})
        handled = int(mine.get("registered", 0))
        share = _share(handled, r["registered"])
        rows.append(
            {
                "company": r["company"],
                "registered": r["registered"],
                "self_handled": handled,
                "self_handled_closed": int(mine.get("closed", 0)),
                "share": share,
                "points": self_handling_points(share),
            }
        )
    rows.sort(key=lambda r: (r["share"] is None, r["share"] or 0, str(r["company"])))
    handled = own.totals["registered"]
    share = _share(handled, every.totals["registered"])
    totals = {
        "registered": every.totals["registered"],
        "self_handled": handled,
        "self_handled_closed": own.totals["closed"],
        "share": share,
        "points": self_handling_points(share),
    }
    return SelfHandling(rows, totals)


def self_handling_table(
    conn: Connection, query: IndicatorQuery
) -> tuple[str, list[str], list[list[Any]]]:
    """The monthly report's self-handling table: title, headers, rows (total last)."""
    result = self_handling(conn, query)
    keys = ("registered", "self_handled", "self_handled_closed", "share", "points")
    body = [
        [r["company"] or "（未指定）", *(r[k] for k in keys)]
        for r in result.rows
        if r["registered"]
    ]
    body.append(["合计", *(result.totals[k] for k in keys)])
    return SELF_HANDLING_TITLE, list(SELF_HANDLING_HEADERS), body
