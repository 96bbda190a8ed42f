"""The column contract of case imports (DOMAIN.md §3) and the vocabularies of its values."""

from __future__ import annotations

#: Columns of the import contract, in order; the first ones are required.
COLUMNS = (
    "case_id",
    "source",
    "platform",
    "case_type",
    "major_class",
    "sub_class",
    "description",
    "lon",
    "lat",
    "department",
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "due_at",
    "rework_count",
    "extended",
    "returned_count",
    "satisfaction",
)
#: Optional columns beyond the contract that a centre's export often carries.
EXTRA_COLUMNS = ("urgency", "postponed", "component_code")
REQUIRED = ("case_id", "source", "sub_class", "lon", "lat")
TIMESTAMPS = (
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "due_at",
)
#: Workflow order (DOMAIN.md §3): each stamp, when present, is not before the previous one.
WORKFLOW = TIMESTAMPS[:-1]

ALIASES = {
    "案卷号": "case_id",
    "案件编号": "case_id",
    "来源": "source",
    "案件来源": "source",
    "平台": "platform",
    "类型": "case_type",
    "案件类型": "case_type",
    "大类": "major_class",
    "小类": "sub_class",
    "描述": "description",
    "问题描述": "description",
    "经度": "lon",
    "纬度": "lat",
    "处置部门": "department",
    "上报时间": "reported_at",
    "立案时间": "registered_at",
    "派遣时间": "dispatched_at",
    "处置时间": "handled_at",
    "核查时间": "verified_at",
    "结案时间": "closed_at",
    "处置时限": "due_at",
    "返工次数": "rework_count",
    "延期": "extended",
    "回退次数": "returned_count",
    "满意度": "satisfaction",
    "紧急程度": "urgency",
    "缓办": "postponed",
    "部件编码": "component_code",
    "部件标识码": "component_code",
}

SOURCES = {
    "city_supervisor": "市级监督员",
    "district_supervisor": "区级监督员",
    "hotline": "热线",
    "public": "社会渠道",
    "satellite": "卫星遥感",
    "grid_worker": "网格员自处置",
    "community": "社区上报",
}
SOURCE_ALIASES = {
    **{label: code for code, label in SOURCES.items()},
    "市级监督员上报": "city_supervisor",
    "区级监督员上报": "district_supervisor",
    "监督员": "district_supervisor",
    "接诉即办": "hotline",
    "12345": "hotline",
    "12319": "hotline",
    "12345热线": "hotline",
    "12319热线": "hotline",
    "微信": "public",
    "微博": "public",
    "app": "public",
    "APP": "public",
    "公众举报": "public",
    "卫星": "satellite",
    "网格员": "grid_worker",
    "自处置": "grid_worker",
    "社区": "community",
}
PLATFORMS = {"city": "市级平台", "district": "区级平台"}
PLATFORM_ALIASES = {"市级平台": "city", "区级平台": "district", "市级": "city", "区级": "district"}
CASE_TYPES = {"component": "部件", "event": "事件"}
CASE_TYPE_ALIASES = {"部件": "component", "事件": "event", "事项": "event"}
URGENCY_ALIASES = {"紧急": "urgent", "一般": "normal", "普通": "normal", "": "normal"}
SATISFACTION = ("满意", "基本满意", "不满意")
SATISFACTION_ALIASES = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
TRUE_TEXT = {"true", "1", "yes", "y", "是", "t"}
FALSE_TEXT = {"false", "0", "no", "n", "否", "f", ""}
#: Subclasses of illegal small ads, excluded from repeat cases (DOMAIN.md §4).
SMALL_AD_SUB_CLASSES = ("07001", "07002")


def canonical_header(name: str) -> str:
    """The contract name of a header: itself, lower-cased, or its Chinese alias's target."""
    text = name.strip().lstrip("\ufeff")
    return ALIASES.get(text, text.lower())
