"""The unit-grid layer (单元网格, DOMAIN.md §1)."""

from __future__ import annotations

from geogrid.errors import InvalidParameter
from geogrid.features.collection import Collection, Filter, Property, code_or_name, registry
from geogrid.territory.layers import AREA, BY_STREET, STREET_CODE, STREET_NAME

GRID_TYPES = {"city": "城市/商业", "rural": "农村", "industrial": "厂区"}


def _grid_type(value: str) -> str:
    value = value.strip()
    for key, label in GRID_TYPES.items():
        if value in (key, label):
            return key
    raise InvalidParameter(f"Unknown grid_type '{value}'; use one of {', '.join(GRID_TYPES)}.")


GRIDS = registry.add(
    Collection(
        id="grids",
        title="单元网格",
        description="Unit grids (万米单元网格) of the district, current versions.",
        source=(
            "grids f "
            "JOIN communities c ON c.district_code = f.district_code "
            "AND c.code = f.community_code AND c.valid_to IS NULL "
            "JOIN streets s ON s.district_code = f.district_code "
            "AND s.code = f.street_code AND s.valid_to IS NULL "
            "WHERE f.valid_to IS NULL"
        ),
        key="f.code",
        properties=(
            Property("code", "f.code", title="网格编码"),
            Property("community_code", "f.community_code", title="社区编码"),
            Property("community_name", "c.name", title="社区名称"),
            STREET_CODE,
            STREET_NAME,
            Property("grid_type", "f.grid_type", title="网格类型"),
            AREA,
            Property("version", "f.version", "integer", "版本", in_tiles=False),
            Property("valid_from", "f.valid_from", "string", "启用时间", in_tiles=False),
        ),
        filters=(
            BY_STREET,
            Filter(
                "community",
                "(f.community_code = :value OR c.name = :value)",
                "Community code (12 digits) or name.",
                code_or_name,
            ),
            Filter("grid_type", "f.grid_type = :value", "city, rural or industrial.", _grid_type),
        ),
        depends_on=("grids", "communities", "streets"),
        mercator=True,
    )
)
