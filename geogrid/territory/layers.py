"""The street and community layers (DOMAIN.md §1)."""

from __future__ import annotations

from geogrid.features.collection import Collection, Filter, Property, code_or_name, registry

AREA = Property("area_m2", "round(f.area_m2::numeric, 1)::float8", "number", "面积（平方米）")
STREET_CODE = Property("street_code", "f.street_code", title="街道编码")
STREET_NAME = Property("street_name", "s.name", title="街道名称")
BY_STREET = Filter(
    "street",
    "(f.street_code = :value OR s.name = :value)",
    "Street code (9 digits) or name.",
    code_or_name,
)
"""Shared by every layer whose features lie in one street (joined as ``s``)."""

STREETS = registry.add(
    Collection(
        id="streets",
        title="街道",
        description="Streets and towns (街道/镇) of the district, current boundaries.",
        source="streets f WHERE f.valid_to IS NULL",
        key="f.code",
        properties=(
            Property("code", "f.code", title="街道编码"),
            Property("name", "f.name", title="街道名称"),
            Property("kind", "f.kind", title="类型"),
            Property("district_code", "f.district_code", title="区县编码"),
            AREA,
        ),
        filters=(Filter("name", "f.name = :value", "Street name.", code_or_name),),
        depends_on=("streets",),
        mercator=True,
    )
)

COMMUNITIES = registry.add(
    Collection(
        id="communities",
        title="社区",
        description="Communities and villages (社区/村), current boundaries.",
        source=(
            "communities f JOIN streets s ON s.district_code = f.district_code "
            "AND s.code = f.street_code AND s.valid_to IS NULL WHERE f.valid_to IS NULL"
        ),
        key="f.code",
        properties=(
            Property("code", "f.code", title="社区编码"),
            Property("name", "f.name", title="社区名称"),
            STREET_CODE,
            STREET_NAME,
            AREA,
        ),
        filters=(
            BY_STREET,
            Filter("name", "f.name = :value", "Community name.", code_or_name),
        ),
        depends_on=("communities", "streets"),
        mercator=True,
    )
)
