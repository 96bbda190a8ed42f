"""A component plan for review, as a workbook (概况 and 变更明细, DOMAIN.md §1b)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.changes.plans import get_plan
from geogrid.components.rules import STATUSES
from geogrid.components.update import KIND, KIND_LABELS
from geogrid.io.tables import Sheet, write_xlsx

CHANGE_HEADERS = (
    "序号",
    "变更类型",
    "原编码",
    "新编码",
    "街道编码",
    "社区编码",
    "小类",
    "位移（米）",
    "原权属单位",
    "新权属单位",
    "原状态",
    "新状态",
    "文件行号",
)

_CHANGES = """
SELECT seq, kind, old_codes[1], new_codes[1], street_code, community_code,
       details->>'sub_class', (details->>'moved_m')::float8, details->>'old_owner',
       details->>'new_owner', details->>'old_status', details->>'new_status',
       (details->>'row')::integer
FROM change_plan_changes WHERE plan_id = :p ORDER BY seq
"""


def _change_rows(conn: Connection, plan_id: int) -> Iterator[Sequence[object]]:
    for row in conn.execute(sa.text(_CHANGES), {"p": plan_id}):
        values = list(row)
        values[1] = KIND_LABELS.get(values[1], values[1])
        values[10] = STATUSES.get(values[10], values[10])
        values[11] = STATUSES.get(values[11], values[11])
        yield values


def write_component_plan_xlsx(conn: Connection, plan_id: int, path: Path) -> None:
    """Write plan ``plan_id`` (overview and every change) to ``path``."""
    plan = get_plan(conn, plan_id, kind=KIND)
    summary = plan.summary
    overview: list[Sequence[object]] = [
        ["方案编号", plan.id],
        ["文件", plan.file_name],
        ["状态", plan.status],
        ["提交人", plan.created_by],
        ["提交时间", plan.created_at.isoformat(timespec="seconds")],
        ["文件中部件数", summary.get("components_in_file")],
        ["自动生成编码数", summary.get("codes_generated")],
        ["部分更新（不删除）", "是" if summary.get("partial") else "否"],
        ["未变化", summary.get("unchanged")],
    ]
    overview += [[KIND_LABELS[k], n] for k, n in summary.get("changes", {}).items()]
    write_xlsx(
        [
            Sheet("概况", ["项目", "值"], overview, widths=[24, 40]),
            Sheet("变更明细", CHANGE_HEADERS, _change_rows(conn, plan_id)),
        ],
        path,
    )
