"""The case layer (案件, DOMAIN.md §3) served as an OGC API - Features collection and tiles."""

from __future__ import annotations

import re

from geogrid.cases.columns import PLATFORMS, SOURCE_ALIASES, SOURCES
from geogrid.cases.status import STAGE_SQL, STAGES
from geogrid.errors import InvalidParameter
from geogrid.features.collection import Collection, Filter, Property, registry

STATUSES = (*STAGES, "open", "overdue")


def _source(value: str) -> str:
    value = value.strip()
    code = value if value in SOURCES else SOURCE_ALIASES.get(value)
    if code is None:
        raise InvalidParameter(f"Unknown source '{value}'; use one of {', '.join(SOURCES)}.")
    return code


def _sub_class(value: str) -> str:
    if not re.fullmatch(r"\d{5}", value.strip()):
        raise InvalidParameter(f"Filter 'sub_class' must be a 5-digit class code, got '{value}'.")
    return value.strip()


def _status(value: str) -> str:
    if value.strip() not in STATUSES:
        raise InvalidParameter(f"Unknown status '{value}'; use one of {', '.join(STATUSES)}.")
    return value.strip()


def _platform(value: str) -> str:
    if value.strip() not in PLATFORMS:
        raise InvalidParameter(f"Unknown platform '{value}'; use city or district.")
    return value.strip()


def _code(value: str) -> str:
    if not re.fullmatch(r"\d{6,15}", value.strip()):
        raise InvalidParameter(f"A territory code is 6 to 15 digits, got '{value}'.")
    return value.strip()


OVERDUE_SQL = (
    "(f.due_at IS NOT NULL AND (f.closed_at > f.due_at "
    "OR (f.closed_at IS NULL AND f.due_at < now())))"
)

CASES = registry.add(
    Collection(
        id="cases",
        title="案件",
        description="Cases (案件) with their workflow times; filter by datetime (registration), "
        "source, sub_class, status, platform, grid, street.",
        source="cases f WHERE f.geom IS NOT NULL",
        key="f.case_id",
        properties=(
            Property("case_id", "f.case_id", title="案卷号"),
            Property("source", "f.source", title="来源"),
            Property("platform", "f.platform", title="平台"),
            Property("case_type", "f.case_type", title="类型"),
            Property("major_class", "f.major_class", title="大类"),
            Property("sub_class", "f.sub_class", title="小类"),
            Property(
                "sub_class_recorded", "f.sub_class_recorded", title="原小类编码", in_tiles=False
            ),
            Property("description", "f.description", title="描述", in_tiles=False),
            Property("status", STAGE_SQL, title="状态"),
            Property("overdue", OVERDUE_SQL, "boolean", "超期"),
            Property("urgency", "f.urgency", title="紧急程度", in_tiles=False),
            Property("department", "f.department", title="处置部门"),
            Property("grid_code", "f.grid_code", title="立案网格", in_tiles=False),
            Property("community_code", "f.community_code", title="立案社区", in_tiles=False),
            Property("street_code", "f.street_code", title="立案街道", in_tiles=False),
            Property("current_grid_code", "f.current_grid_code", title="现网格"),
            Property(
                "current_community_code", "f.current_community_code", title="现社区", in_tiles=False
            ),
            Property(
                "current_street_code", "f.current_street_code", title="现街道", in_tiles=False
            ),
            Property("reported_at", "f.reported_at", title="上报时间", in_tiles=False),
            Property("registered_at", "f.registered_at", title="立案时间"),
            Property("dispatched_at", "f.dispatched_at", title="派遣时间", in_tiles=False),
            Property("handled_at", "f.handled_at", title="处置时间", in_tiles=False),
            Property("verified_at", "f.verified_at", title="核查时间", in_tiles=False),
            Property("closed_at", "f.closed_at", title="结案时间"),
            Property("due_at", "f.due_at", title="处置时限", in_tiles=False),
            Property("rework_count", "f.rework_count", "integer", "返工次数", in_tiles=False),
            Property("extended", "f.extended", "boolean", "延期", in_tiles=False),
            Property("returned_count", "f.returned_count", "integer", "回退次数", in_tiles=False),
            Property("satisfaction", "f.satisfaction", title="满意度", in_tiles=False),
        ),
        filters=(
            Filter("source", "f.source = :value", "Case source, e.g. hotline.", _source),
            Filter("sub_class", "f.sub_class = :value", "5-digit subclass code.", _sub_class),
            Filter(
                "status",
                f"(({STAGE_SQL}) = :value OR (:value = 'open' AND f.closed_at IS NULL) "
                f"OR (:value = 'overdue' AND {OVERDUE_SQL}))",
                "Workflow stage, open (not closed) or overdue.",
                _status,
            ),
            Filter("platform", "f.platform = :value", "city or district.", _platform),
            Filter("grid", "f.current_grid_code = :value", "Current grid code.", _code),
            Filter("street", "f.current_street_code = :value", "Current street code.", _code),
        ),
        depends_on=("cases",),
        order_by="f.registered_at DESC NULLS LAST, f.case_id",
        geometry_type="Point",
        min_zoom=14,
        temporal="f.registered_at",
    )
)
