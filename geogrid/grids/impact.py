"""Impact of a grid update on historical cases: the cross-reference table (对照表).

DOMAIN.md §1b: for every case in a changed street, community or grid, its old assignment and
its new one. Cases keep the grid they were registered in (``grid_code``, historical truth) and
carry the current one (``current_grid_code``), which applying the update re-assigns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

IMPACT_SQL = """
WITH identical AS MATERIALIZED (
    -- Current grids the plan gives back exactly as they are: their cases cannot move.
    SELECT g.code FROM change_plan_features f
    JOIN grids g ON g.code = f.code AND g.valid_to IS NULL AND g.geom = f.geom
                AND g.community_code = f.attrs ->> 'community_code'
    WHERE f.plan_id = :plan AND f.layer = 'grids'
), candidates AS MATERIALIZED (
    SELECT k.district_code, k.case_id, k.geom, k.current_grid_code, k.current_community_code,
           k.current_street_code
    FROM cases k
    WHERE k.geom IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM identical i WHERE i.code = k.current_grid_code)
      AND (k.current_community_code = ANY(:communities)
           OR k.geom && (SELECT ST_Extent(geom)::geometry FROM change_plan_features
                         WHERE plan_id = :plan AND layer = 'grids'))
), located AS (
    SELECT DISTINCT ON (k.district_code, k.case_id) k.*, n.code,
           n.attrs ->> 'community_code' AS new_community
    FROM candidates k
    LEFT JOIN change_plan_features n
           ON n.plan_id = :plan AND n.layer = 'grids' AND ST_Intersects(n.geom, k.geom)
    ORDER BY k.district_code, k.case_id, n.code
)
INSERT INTO change_plan_impact (plan_id, district_code, case_id, old_grid_code,
    old_community_code, old_street_code, new_grid_code, new_community_code, new_street_code)
SELECT :plan, district_code, case_id, current_grid_code, current_community_code,
       current_street_code, code, new_community, left(code, 9)
FROM located
WHERE (current_community_code = ANY(:communities) OR code IS NOT NULL)
  AND (current_grid_code IS DISTINCT FROM code
       OR current_grid_code = ANY(:changed) OR code = ANY(:changed))
"""


def compute_impact(
    conn: Connection, plan_id: int, communities: Sequence[str], changed_codes: Sequence[str]
) -> dict[str, int]:
    """Fill the plan's cross-reference table; return counts of listed/reassigned/unassigned.

    Must run while the grids the plan replaces are still current: cases in a grid that the
    plan gives back with exactly the same geometry keep it and are not located again.

    Parameters
    ----------
    communities
        Community codes the plan replaces the grids of.
    changed_codes
        Old and new codes of grids that change (every kind but ``unchanged``): their cases
        are listed even when their grid code stays the same.
    """
    conn.execute(sa.text("DELETE FROM change_plan_impact WHERE plan_id = :p"), {"p": plan_id})
    conn.execute(
        sa.text(IMPACT_SQL),
        {"plan": plan_id, "communities": list(communities), "changed": list(changed_codes)},
    )
    row = conn.execute(
        sa.text(
            "SELECT count(*), count(*) FILTER (WHERE old_grid_code IS DISTINCT FROM new_grid_code),"
            " count(*) FILTER (WHERE new_grid_code IS NULL) "
            "FROM change_plan_impact WHERE plan_id = :p"
        ),
        {"p": plan_id},
    ).one()
    return {"listed": int(row[0]), "reassigned": int(row[1]), "unassigned": int(row[2])}


def reassign_cases(conn: Connection, plan_id: int) -> int:
    """Set the current grid, community and street of the plan's listed cases; return count."""
    res = conn.execute(
        sa.text(
            "UPDATE cases c SET current_grid_code = i.new_grid_code, "
            "current_community_code = i.new_community_code, "
            "current_street_code = i.new_street_code "
            "FROM change_plan_impact i WHERE i.plan_id = :p AND c.district_code = i.district_code "
            "AND c.case_id = i.case_id AND (c.current_grid_code IS DISTINCT FROM i.new_grid_code "
            "OR c.current_community_code IS DISTINCT FROM i.new_community_code)"
        ),
        {"p": plan_id},
    )
    return int(res.rowcount or 0)


CROSS_REFERENCE_COLUMNS = (
    ("case_id", "案卷号"),
    ("old_grid_code", "原单元网格"),
    ("old_community_code", "原社区"),
    ("old_street_code", "原街道"),
    ("new_grid_code", "新单元网格"),
    ("new_community_code", "新社区"),
    ("new_street_code", "新街道"),
    ("reassigned", "是否调整"),
)


def cross_reference_rows(conn: Connection, plan_id: int) -> sa.CursorResult[tuple[object, ...]]:
    """The plan's 对照表 rows in case order (a streaming result: may hold millions)."""
    return conn.execution_options(stream_results=True, max_row_buffer=10000).execute(
        sa.text(
            "SELECT case_id, old_grid_code, old_community_code, old_street_code, new_grid_code, "
            "new_community_code, new_street_code, "
            "CASE WHEN old_grid_code IS DISTINCT FROM new_grid_code THEN '是' ELSE '否' END "
            "FROM change_plan_impact WHERE plan_id = :p ORDER BY case_id"
        ),
        {"p": plan_id},
    )


def impact_by_grid(conn: Connection, plan_id: int) -> list[dict[str, object]]:
    """Cases leaving and entering each changed grid."""
    rows = conn.execute(
        sa.text(
            "SELECT code, sum(leaving)::int, sum(entering)::int FROM ("
            " SELECT old_grid_code AS code, 1 AS leaving, 0 AS entering FROM change_plan_impact"
            " WHERE plan_id = :p AND old_grid_code IS DISTINCT FROM new_grid_code"
            " UNION ALL SELECT new_grid_code, 0, 1 FROM change_plan_impact"
            " WHERE plan_id = :p AND old_grid_code IS DISTINCT FROM new_grid_code"
            ") q WHERE code IS NOT NULL GROUP BY code ORDER BY code"
        ),
        {"p": plan_id},
    ).all()
    return [{"grid_code": r[0], "cases_leaving": r[1], "cases_entering": r[2]} for r in rows]
