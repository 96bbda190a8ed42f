"""Indicator tables computed in PostGIS, set-based, for any level (DOMAIN.md §4).

One statement counts the period's cases per key; a second, served by the GiST index on each
case's open range ``[registered_at, closed_at)``, counts the cases still open at the cut-off
since the accumulation start (累计未结案数). Repeat cases are found first
(:mod:`geogrid.indicators.repeats`) and joined by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.cases.columns import PLATFORMS, SOURCES
from geogrid.indicators.params import IndicatorQuery
from geogrid.indicators.repeats import find_repeat_cases
from geogrid.indicators.rules import COUNTS, OUTPUT_COUNTS, RATES, rates

#: The latest name of every code (current or retired) of a territory level.
CURRENT_NAMES = {
    level: f"SELECT DISTINCT ON (code) code, name FROM {table} ORDER BY code, valid_from DESC"
    for level, table in (("community", "communities"), ("street", "streets"))
}


@dataclass(frozen=True)
class Level:
    """How one level groups cases: key columns, their SQL over ``cases f``, all known keys."""

    keys: tuple[str, ...]
    exprs: tuple[str, ...]
    universe: str | None = None
    names: tuple[tuple[str, str, str], ...] = ()  # (output column, names source, key column)


def level_of(name: str, boundaries: str) -> Level:
    """The grouping of ``name`` (a level of ``LEVELS``) under registered or current boundaries."""
    pre = "current_" if boundaries == "current" else ""
    territory = {
        "grid": Level(
            ("grid_code", "community_code", "street_code"),
            (f"f.{pre}grid_code", f"f.{pre}community_code", f"f.{pre}street_code"),
            "SELECT code AS grid_code, community_code, street_code FROM grids "
            "WHERE valid_to IS NULL",
            (
                ("community_name", "community", "community_code"),
                ("street_name", "street", "street_code"),
            ),
        ),
        "community": Level(
            ("community_code", "street_code"),
            (f"f.{pre}community_code", f"f.{pre}street_code"),
            "SELECT code AS community_code, street_code FROM communities WHERE valid_to IS NULL",
            (
                ("community_name", "community", "community_code"),
                ("street_name", "street", "street_code"),
            ),
        ),
        "street": Level(
            ("street_code",),
            (f"f.{pre}street_code",),
            "SELECT code AS street_code FROM streets WHERE valid_to IS NULL",
            (("street_name", "street", "street_code"),),
        ),
        "district": Level(
            ("district_code",), ("f.district_code",), "SELECT code AS district_code FROM districts"
        ),
        "department": Level(("department",), ("f.department",)),
        "source": Level(("source",), ("f.source",)),
        "platform": Level(("platform",), ("f.platform",)),
        "sub_class": Level(("case_type", "sub_class"), ("f.case_type", "f.sub_class")),
        # the responsible unit of sanitation cases: every company, then any other unit
        "company": Level(
            ("company",), ("f.department",), "SELECT name AS company FROM sanitation_companies"
        ),
    }
    return territory[name]


def case_filters(query: IndicatorQuery) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if query.platform:
        clauses.append("f.platform = :platform")
        params["platform"] = query.platform
    if query.source:
        clauses.append("f.source = :source")
        params["source"] = query.source
    if query.sub_classes:
        clauses.append("f.sub_class = ANY(:sub_classes)")
        params["sub_classes"] = list(query.sub_classes)
    if query.excluded_sources:
        clauses.append("f.source <> ALL(:excluded_sources)")
        params["excluded_sources"] = list(query.excluded_sources)
    return "".join(f" AND {c}" for c in clauses), params


def indicator_sql(level: Level) -> str:
    """The statement of one indicator table; bound parameters :t0 :t1 :c :acc :repeats ..."""
    keyed = ", ".join(
        f"coalesce({e}, '') AS {k}" for e, k in zip(level.exprs, level.keys, strict=True)
    )
    keys = ", ".join(level.keys)
    # GROUP BY positions: a key name would mean the same-named column of the cases table
    positions = ", ".join(str(i) for i in range(1, len(level.keys) + 1))
    universe = f"{level.universe} UNION " if level.universe else ""
    names = "".join(
        f" LEFT JOIN ({CURRENT_NAMES[src]}) n_{out} ON n_{out}.code = k.{col}"
        for out, src, col in level.names
    )
    name_cols = "".join(f", n_{out}.name AS {out}" for out, _, _ in level.names)
    counted = ", ".join(f"coalesce(agg.{c}, 0) AS {c}" for c in COUNTS if c != "open_cumulative")
    return f"""
WITH p AS (
    SELECT {keyed}, f.case_id, f.sub_class AS c_sub, f.closed_at,
           coalesce(f.due_at, 'infinity'::timestamptz) AS due, f.rework_count,
           f.extended AS c_extended, f.returned_count
    FROM cases f
    WHERE f.registered_at >= :t0 AND f.registered_at < :t1 AND f.registered_at <= :c {{filters}}
), agg AS (
    SELECT {keys},
        count(*) AS registered,
        count(*) FILTER (WHERE closed_at <= :c) AS closed,
        count(*) FILTER (WHERE closed_at <= :c AND closed_at <= due) AS closed_on_time,
        count(*) FILTER (WHERE closed_at <= :c AND closed_at > due) AS closed_overdue,
        count(*) FILTER (WHERE (closed_at IS NULL OR closed_at > :c) AND due >= :c) AS open_on_time,
        count(*) FILTER (WHERE (closed_at IS NULL OR closed_at > :c) AND due < :c) AS open_overdue,
        count(*) FILTER (WHERE rework_count > 0) AS reworked,
        count(*) FILTER (WHERE c_extended AND c_sub <> ALL(:excluded)) AS extended,
        count(*) FILTER (WHERE c_sub <> ALL(:excluded)) AS extension_base,
        count(*) FILTER (WHERE due <= :c OR (closed_at <= :c AND closed_at <= due)) AS due,
        coalesce(sum(returned_count), 0) AS returned,
        count(r.case_id) AS repeat_cases
    FROM p LEFT JOIN unnest(CAST(:repeats AS text[])) AS r(case_id) USING (case_id)
    GROUP BY {keys}
), cum AS (
    SELECT {keyed}, count(*) AS open_cumulative
    FROM cases f
    WHERE f.registered_at IS NOT NULL
      AND tstzrange(f.registered_at, f.closed_at, '[)') @> CAST(:c AS timestamptz)
      AND f.registered_at >= :acc {{filters}}
    GROUP BY {positions}
), k AS (
    {universe}SELECT {keys} FROM agg UNION SELECT {keys} FROM cum
)
SELECT k.*{name_cols}, {counted}, coalesce(cum.open_cumulative, 0) AS open_cumulative
FROM k LEFT JOIN agg USING ({keys}) LEFT JOIN cum USING ({keys}){names}
ORDER BY {keys}
"""


@dataclass(frozen=True)
class IndicatorTable:
    """Rows of an indicator table (keys, names, counts, rates) and the district totals."""

    query: IndicatorQuery
    keys: tuple[str, ...]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]

    @property
    def columns(self) -> list[str]:
        """Output columns: keys and names, then counts and rates."""
        first = list(self.rows[0]) if self.rows else list(self.keys)
        return (
            [c for c in first if c not in COUNTS and c not in RATES]
            + list(OUTPUT_COUNTS)
            + list(RATES)
        )


def _named(level: str, row: dict[str, Any]) -> dict[str, Any]:
    if level == "source":
        row["source_name"] = SOURCES.get(row["source"], row["source"])
    elif level == "platform":
        row["platform_name"] = PLATFORMS.get(row["platform"], row["platform"])
    return row


def compute_indicators(conn: Connection, query: IndicatorQuery) -> IndicatorTable:
    """Count and rate the cases registered in ``query.period`` per key of ``query.level``.

    Parameters
    ----------
    conn
        Any connection (read only).
    query
        Level, period and cut-off, filters, boundaries, denominator (DOMAIN.md §4).

    Returns
    -------
    IndicatorTable
        One row per key (territory levels list every current unit, with zeros), with the
        counts and rates of DOMAIN.md §4 (percent, 2 decimals, null when the denominator
        is 0), and a totals row over all cases of the period.
    """
    level = level_of(query.level, query.boundaries)
    where, params = case_filters(query)
    sql = indicator_sql(level).replace("{filters}", where)
    period = {"t0": query.period.t0, "t1": query.period.t1, "c": query.period.cutoff, **params}
    repeats = find_repeat_cases(conn, period, where, distance_m=query.repeat_distance_m)
    bound = {
        **period,
        "acc": query.accumulation_start,
        "repeats": repeats,
        "excluded": list(query.extension_excluded),
    }
    result = conn.execute(sa.text(sql), bound).mappings().all()
    rows = []
    totals = dict.fromkeys(COUNTS, 0)
    for record in result:
        row = _named(query.level, {k: (v if v != "" else None) for k, v in record.items()})
        for c in COUNTS:
            row[c] = int(row[c])
            totals[c] += row[c]
        rows.append(row | rates(row, denominator=query.denominator))
    total_row: dict[str, Any] = totals | rates(totals, denominator=query.denominator)
    return IndicatorTable(query, level.keys, rows, total_row)
