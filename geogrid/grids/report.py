"""The reviewable outputs of a grid plan: 对照表 (CSV/XLSX) and the changes as GeoJSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.changes.plans import get_plan
from geogrid.grids.diff import KIND_LABELS, OUTLINED_KINDS
from geogrid.grids.impact import CROSS_REFERENCE_COLUMNS, cross_reference_rows, impact_by_grid
from geogrid.grids.update import KIND, plan_changes
from geogrid.io.tables import Sheet, csv_lines, write_xlsx

STATUS_LABELS = {"pending": "待审核", "applied": "已实施", "rejected": "已驳回", "stale": "已过期"}


def cross_reference_csv(conn: Connection, plan_id: int) -> Iterator[str]:
    """The plan's 对照表 as CSV lines (streamed)."""
    get_plan(conn, plan_id, kind=KIND)
    return csv_lines(
        [label for _, label in CROSS_REFERENCE_COLUMNS], cross_reference_rows(conn, plan_id)
    )


def write_plan_xlsx(conn: Connection, plan_id: int, path: Path) -> None:
    """The plan as a workbook: 方案概况, 网格变化, 变化统计, 案件影响, 案件对照表."""
    plan = get_plan(conn, plan_id, kind=KIND)
    s = plan.summary
    overview = [
        ("方案编号", plan.id),
        ("文件", plan.file_name),
        ("SHA-256", plan.file_sha256),
        ("坐标系", plan.source_crs or ""),
        ("提交人", plan.created_by),
        ("提交时间", plan.created_at.isoformat(timespec="seconds")),
        ("生效时间", plan.effective_from.isoformat(timespec="seconds")),
        ("状态", STATUS_LABELS.get(plan.status, plan.status)),
        ("涉及社区数", len(s.get("community_codes", []))),
        ("调整前网格数", s.get("grids_before", 0)),
        ("调整后网格数", s.get("grids_in_file", 0)),
        *((f"{KIND_LABELS.get(k, k)}（处）", v) for k, v in s.get("changes", {}).items()),
        ("涉及案件数", s.get("cases", {}).get("listed", 0)),
        ("需调整归属的案件数", s.get("cases", {}).get("reassigned", 0)),
        ("无法归属的案件数", s.get("cases", {}).get("unassigned", 0)),
    ]
    changes = [
        (
            KIND_LABELS.get(c["kind"], c["kind"]),
            "、".join(c["old_codes"]),
            "、".join(c["new_codes"]),
            None if c["iou"] is None else round(c["iou"], 4),
            c["street_code"],
            c["community_code"],
            None if c["old_area_m2"] is None else round(c["old_area_m2"], 1),
            None if c["new_area_m2"] is None else round(c["new_area_m2"], 1),
        )
        for c in plan_changes(conn, plan_id)
    ]
    by_level = [
        (level_label, code, *(counts.get(k, 0) for k in KIND_LABELS))
        for level, level_label in (("street", "街道"), ("community", "社区"))
        for code, counts in sorted(s.get(f"by_{level}", {}).items())
    ]
    sheets = [
        Sheet("方案概况", ("项目", "内容"), overview, (22, 70)),
        Sheet(
            "网格变化",
            (
                "变化类型",
                "原网格编码",
                "新网格编码",
                "IoU",
                "街道",
                "社区",
                "原面积（㎡）",
                "新面积（㎡）",
            ),
            changes,
            (12, 36, 36, 8, 12, 15, 14, 14),
        ),
        Sheet("变化统计", ("层级", "编码", *KIND_LABELS.values()), by_level),
        Sheet(
            "案件影响",
            ("单元网格", "迁出案件数", "迁入案件数"),
            (
                (r["grid_code"], r["cases_leaving"], r["cases_entering"])
                for r in impact_by_grid(conn, plan_id)
            ),
            (18, 12, 12),
        ),
        Sheet(
            "案件对照表",
            [label for _, label in CROSS_REFERENCE_COLUMNS],
            cross_reference_rows(conn, plan_id),
            (20, 18, 15, 12, 18, 15, 12, 10),
        ),
    ]
    write_xlsx(sheets, path)


CHANGES_GEOJSON = """
WITH new_parts AS (
    SELECT c.seq, ST_Collect(d.geom) AS geom
    FROM change_plan_changes c
    CROSS JOIN LATERAL (SELECT (ST_Dump(f.geom)).geom FROM change_plan_features f
        WHERE f.plan_id = c.plan_id AND f.layer = 'grids' AND f.code = ANY(c.new_codes)) d
    WHERE c.plan_id = :p GROUP BY c.seq
), old_parts AS (
    SELECT c.seq, ST_Collect(d.geom) AS geom
    FROM change_plan_changes c
    CROSS JOIN LATERAL (SELECT (ST_Dump(g.geom)).geom FROM grids g
        WHERE g.code = ANY(c.old_codes) AND (g.ended_by = :p OR (g.valid_to IS NULL AND :pending))
        ) d
    WHERE c.plan_id = :p GROUP BY c.seq
)
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(q.geom, 7)::json,
        'properties', json_build_object('kind', q.kind, 'old_codes', q.old_codes,
            'new_codes', q.new_codes, 'iou', q.iou, 'street_code', q.street_code,
            'community_code', q.community_code, 'old_area_m2', q.old_area_m2,
            'new_area_m2', q.new_area_m2, 'role', q.role))
    ORDER BY q.seq, q.role), '[]'::json))::text
FROM (
    SELECT c.*, 'change' AS role,
           CASE WHEN c.kind = 'removed' THEN o.geom ELSE n.geom END AS geom
    FROM change_plan_changes c
    LEFT JOIN new_parts n ON n.seq = c.seq LEFT JOIN old_parts o ON o.seq = c.seq
    WHERE c.plan_id = :p
    UNION ALL
    SELECT c.*, 'old' AS role, o.geom
    FROM change_plan_changes c JOIN old_parts o ON o.seq = c.seq
    WHERE c.plan_id = :p AND c.kind = ANY(:outlined)
) q WHERE q.geom IS NOT NULL
"""


def changes_geojson(conn: Connection, plan_id: int) -> str:
    """The plan's changes as a GeoJSON FeatureCollection (text): new shapes and old outlines.

    The same shape as :func:`geogrid.grids.diff.changes_to_geojson`: one ``role: "change"``
    feature per change (its new grids, or the old ones when removed) and, for the kinds whose
    shape changes, a ``role: "old"`` feature with the grids it replaces.
    """
    plan = get_plan(conn, plan_id, kind=KIND)
    params = {
        "p": plan_id,
        "pending": plan.status in ("pending", "stale"),
        "outlined": sorted(OUTLINED_KINDS),
    }
    return str(conn.execute(sa.text(CHANGES_GEOJSON), params).scalar())
