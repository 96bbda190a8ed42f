"""Shares of the period's cases: top subclasses of each type, and sources (DOMAIN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.cases.columns import CASE_TYPES, SOURCES
from geogrid.catalogue import Catalogue
from geogrid.indicators.engine import case_filters
from geogrid.indicators.params import IndicatorQuery
from geogrid.indicators.rules import rate

_SQL = """
SELECT f.case_type, f.sub_class, f.source, count(*) AS n
FROM cases f
WHERE f.registered_at >= :t0 AND f.registered_at < :t1 AND f.registered_at <= :c {filters}
GROUP BY 1, 2, 3
"""


@dataclass(frozen=True)
class Shares:
    """Top subclasses per case type (share of their type) and every source's share."""

    top_sub_classes: list[dict[str, Any]]
    sources: list[dict[str, Any]]


def compute_shares(
    conn: Connection, query: IndicatorQuery, catalogue: Catalogue, *, top: int = 10
) -> Shares:
    """Shares of the cases registered in ``query.period`` (filters as for indicators).

    A source's share is its registered cases over all registered; a subclass's share is
    over the registered cases of its type (component or event), in percent, 2 decimals.
    """
    where, params = case_filters(query)
    rows = conn.execute(
        sa.text(_SQL.format(filters=where)),
        {"t0": query.period.t0, "t1": query.period.t1, "c": query.period.cutoff, **params},
    ).all()
    by_class: dict[tuple[str, str], int] = {}
    by_type: dict[str, int] = {}
    by_source: dict[str, int] = {}
    for case_type, sub_class, source, n in rows:
        by_class[(case_type, sub_class)] = by_class.get((case_type, sub_class), 0) + n
        by_type[case_type] = by_type.get(case_type, 0) + n
        by_source[source] = by_source.get(source, 0) + n
    total = sum(by_source.values())
    top_rows: list[dict[str, Any]] = []
    for case_type in CASE_TYPES:
        ranked = sorted(
            ((n, code) for (t, code), n in by_class.items() if t == case_type),
            key=lambda item: (-item[0], item[1]),
        )
        for rank, (n, code) in enumerate(ranked[:top], start=1):
            top_rows.append(
                {
                    "case_type": case_type,
                    "rank": rank,
                    "sub_class": code,
                    "sub_class_name": catalogue.name(case_type, code),  # type: ignore[arg-type]
                    "registered": n,
                    "share": rate(n, by_type[case_type]),
                }
            )
    sources = [
        {
            "source": code,
            "source_name": label,
            "registered": by_source.get(code, 0),
            "share": rate(by_source.get(code, 0), total),
        }
        for code, label in SOURCES.items()
    ]
    return Shares(top_rows, sources)
