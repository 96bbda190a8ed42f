"""The component layer (管理部件, DOMAIN.md §2) served as OGC API - Features and vector tiles.

Only current versions (``valid_to IS NULL``) are served; points, lines and polygons share the
layer (``geometry_type`` tells them apart). A city holds some 500,000 components, so tiles start
at zoom 13 and carry only what a map styles and labels by.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from geogrid.components.rules import STATUSES, status_code
from geogrid.errors import InvalidParameter
from geogrid.features.collection import Collection, Filter, Property, registry

STATUS_NAME_SQL = (
    "CASE f.status "
    + " ".join(f"WHEN '{code}' THEN '{label}'" for code, label in STATUSES.items())
    + " END"
)
"""The Chinese name of a component's status (DOMAIN.md §2)."""


def parse_major_class(value: str) -> str:
    """A 2-digit major class (01–05 for components, DOMAIN.md §2); InvalidParameter otherwise."""
    value = value.strip()
    if not re.fullmatch(r"\d{2}", value):
        raise InvalidParameter(
            f"Filter 'class' must be a 2-digit major class such as 01 (市政公用设施), "
            f"got '{value}'."
        )
    return value


def parse_sub_class(value: str) -> str:
    """A 5-digit class code such as 01037 (路灯); InvalidParameter otherwise."""
    value = value.strip()
    if not re.fullmatch(r"\d{5}", value):
        raise InvalidParameter(
            f"Filter 'sub_class' must be a 5-digit class code such as 01037, got '{value}'."
        )
    return value


def parse_status(value: str) -> str:
    """The status code of a code or Chinese name (intact, 完好); InvalidParameter otherwise."""
    code = status_code(value)
    if code is None:
        known = ", ".join(f"{c} ({label})" for c, label in STATUSES.items())
        raise InvalidParameter(f"Filter 'status' must be one of {known}, got '{value.strip()}'.")
    return code


def parse_grid(value: str) -> str:
    """A unit grid code: 15 digits (legacy 14, DOMAIN.md §1); InvalidParameter otherwise."""
    value = value.strip()
    if not re.fullmatch(r"\d{14,15}", value):
        raise InvalidParameter(f"Filter 'grid' must be a 15-digit grid code, got '{value}'.")
    return value


def _text(name: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 100:
        raise InvalidParameter(f"Filter '{name}' must be 1 to 100 characters long.")
    return value


def parse_owner(value: str) -> str:
    """An owner (权属单位), matched exactly; InvalidParameter when blank or over 100 characters."""
    return _text("owner", value)


def parse_street(value: str) -> str:
    """A 9-digit street code or a street name (龙城街道); InvalidParameter otherwise."""
    value = _text("street", value)
    if value.isdigit() and len(value) != 9:
        raise InvalidParameter(
            f"Filter 'street' must be a 9-digit street code or a street name, got '{value}'."
        )
    return value


STREET_SQL = (
    "f.street_code = ANY(array_append(ARRAY(SELECT s.code FROM streets s "
    "WHERE s.valid_to IS NULL AND s.name = :value), CAST(:value AS text)))"
)
"""Street code or name; the names are looked up once, so the street index still serves."""

COMPONENTS = registry.add(
    Collection(
        id="components",
        title="管理部件",
        description="Components (管理部件) of the district, current versions: points, lines and "
        "polygons. Filter by class, sub_class, status, owner, grid, street.",
        source="components f WHERE f.valid_to IS NULL",
        key="f.code",
        properties=(
            Property("code", "f.code", title="部件编码"),
            Property("major_class", "f.major_class", title="大类"),
            Property("sub_class", "f.sub_class", title="小类"),
            Property("name", "f.name", title="名称", in_tiles=False),  # halves a dense tile
            Property("department", "f.department", title="主管部门", in_tiles=False),
            Property("owner", "f.owner", title="权属单位", in_tiles=False),
            Property("maintainer", "f.maintainer", title="养护单位", in_tiles=False),
            Property("status", "f.status", title="状态"),
            Property("status_name", STATUS_NAME_SQL, title="状态名称", in_tiles=False),
            Property("install_date", "f.install_date", title="初始日期", in_tiles=False),
            Property("change_date", "f.change_date", title="变更日期", in_tiles=False),
            Property("photo_url", "f.photo_url", title="照片", in_tiles=False),
            Property("note", "f.note", title="备注", in_tiles=False),
            Property("grid_code", "f.grid_code", title="网格编码", in_tiles=False),
            Property("community_code", "f.community_code", title="社区编码", in_tiles=False),
            Property("street_code", "f.street_code", title="街道编码", in_tiles=False),
            Property(
                "geometry_type",
                "substr(ST_GeometryType(f.geom), 4)",
                title="几何类型",
                in_tiles=False,
            ),
            Property("version", "f.version", "integer", "版本", in_tiles=False),
            Property("valid_from", "f.valid_from", title="启用时间", in_tiles=False),
        ),
        filters=(
            Filter(
                "class",
                "f.major_class = :value",
                "2-digit major class, e.g. 01.",
                parse_major_class,
            ),
            Filter(
                "sub_class",
                "f.sub_class = :value",
                "5-digit class code, e.g. 01037.",
                parse_sub_class,
            ),
            Filter(
                "status",
                "f.status = :value",
                "Status code or Chinese name: intact (完好), damaged (破损), missing (丢失), "
                "occupied (占用), retired (废弃), removed (移除).",
                parse_status,
            ),
            Filter("owner", "f.owner = :value", "Owner (权属单位), exact text.", parse_owner),
            Filter("grid", "f.grid_code = :value", "15-digit unit grid code.", parse_grid),
            Filter("street", STREET_SQL, "Street code (9 digits) or name.", parse_street),
        ),
        depends_on=("components",),
        order_by="f.code",
        geometry_type="Geometry",
        min_zoom=13,
        mercator=True,
    )
)


def component_filter_sql(raw: Mapping[str, str | None]) -> tuple[str, dict[str, object]]:
    """SQL conditions and bound values of the components layer's filters (empty values ignored).

    Parameters
    ----------
    raw
        Filter name → raw query text (names of :data:`COMPONENTS`' filters: ``class``,
        ``sub_class``, ``status``, ``owner``, ``grid``, ``street``). None or blank means "all".

    Returns
    -------
    tuple
        ``" AND ..."`` conditions on the alias ``f`` (empty string for none) and their
        parameters (``cf0``, ``cf1``, …).

    Raises
    ------
    InvalidParameter
        For an unknown filter or a malformed value; the sentence names the filter.
    """
    clauses: list[str] = []
    params: dict[str, object] = {}
    for i, (name, value) in enumerate(sorted(raw.items())):
        if value is None or not value.strip():
            continue
        flt = COMPONENTS.filter(name)
        clauses.append(flt.sql.replace(":value", f":cf{i}"))
        params[f"cf{i}"] = flt.parse(value)
    return "".join(f" AND {c}" for c in clauses), params
