"""The rules of satellite patches (图斑, DOMAIN.md §6) as pure functions over plain values.

- Change types and their Chinese names; how a patch becomes a case (subclass, department,
  deadline) — :data:`DISPATCH`.
- Identifiers: a batch id (``2022-05``) and the case id a patch becomes.
- The verdict rule (:func:`decide_verdict`) combining field and image evidence.

Choice of subclass per change type (GB/T 47678.5-2026, CATALOGUE.md): building changes are
suspected illegal construction, 06001 私搭乱建 (the enforcement bureau's subclass, 15 working
days); dust sources are uncovered soil, 08004 工地扬尘 (the housing and construction bureau);
illegal land use is building or occupying land without approval, 08016 无证建设, handled by the
natural-resources bureau (违法用地 is enforced under the Land Administration Law, not by the
construction bureau the catalogue names for 08016); other changes, 06036 乱堆杂物, handled by
the street. The deadlines are satellite-specific, longer than the catalogue's street-level
ones (08004 is 1 working day for a site's dust, too short to cover a whole bare plot):
15 working days for buildings and land use, 5 for dust sources, 10 for others. A column of the
delivery overrides the department, the subclass and the due time per patch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geogrid.catalogue import Deadline

CHANGE_TYPES = {
    "building": "房屋建筑变化",
    "dust_source": "地面扬尘源",
    "land_use": "违法用地",
    "other": "其他",
}
CHANGE_TYPE_ALIASES = {
    **{label: code for code, label in CHANGE_TYPES.items()},
    "房屋建筑": "building",
    "建筑": "building",
    "疑似违法建设": "building",
    "违法建设": "building",
    "新增建筑": "building",
    "扬尘源": "dust_source",
    "裸土": "dust_source",
    "裸露土地": "dust_source",
    "dust": "dust_source",
    "bare_soil": "dust_source",
    "用地": "land_use",
    "违法占地": "land_use",
    "landuse": "land_use",
    "其它": "other",
}

HANDLING_TYPES = {"on_site": "实地处置", "documents": "材料结案"}
HANDLING_STATES = {"pending": "未处置", "on_site": "实地处置", "documents": "材料结案"}
VERDICTS = {
    "verified": "核实已整改",
    "field_verified": "现场核实，待下期影像",
    "not_verified": "影像显示未整改",
    "documents_only": "仅材料结案",
    "inconclusive": "无法判定",
}
IMAGE_ROLES = {"reference": "变化前影像", "before": "处置前影像", "after": "处置后影像"}
BAND_ROLES = ("red", "green", "blue", "nir", "swir", "cloud")
REQUIRED_BANDS = ("red", "green", "blue", "nir")

MAX_BATCH_ID = 16
MAX_PATCH_CODE = 40
_BATCH_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,15}$")


@dataclass(frozen=True)
class Dispatch:
    """How a patch of one change type becomes a case: subclass, department and deadline."""

    sub_class: str
    department: str
    deadline: Deadline


DISPATCH = {
    "building": Dispatch("06001", "区城市管理综合行政执法局", Deadline(15, "working_days")),
    "dust_source": Dispatch("08004", "区住房和城乡建设局", Deadline(5, "working_days")),
    "land_use": Dispatch("08016", "区自然资源局", Deadline(15, "working_days")),
    "other": Dispatch("06036", "属地街道办事处", Deadline(10, "working_days")),
}


def change_type(text: str) -> str | None:
    """The change type code of ``text`` (a code, a Chinese name or an alias), or None."""
    value = text.strip()
    if value in CHANGE_TYPES:
        return value
    return CHANGE_TYPE_ALIASES.get(value, CHANGE_TYPE_ALIASES.get(value.lower()))


def check_batch_id(batch_id: str) -> str | None:
    """Why ``batch_id`` is not a usable batch id (letters, digits, ``-_.``, ≤ 16), or None.

    A batch id names files of its imagery, so it must be safe in a path.
    """
    if not _BATCH_ID.match(batch_id):
        return (
            f"'{batch_id}' is not a batch id: use up to {MAX_BATCH_ID} letters, digits, '-', '_' "
            "or '.', e.g. the month of the delivery 2022-05."
        )
    return None


def case_id(batch_id: str, patch_code: str) -> str:
    """The id of the case a patch becomes: ``SAT-<batch>-<patch>`` (at most 61 characters)."""
    return f"SAT-{batch_id}-{patch_code}"


def decide_verdict(
    *, image_state: str, field_evidence: bool, handling_state: str
) -> tuple[str, str]:
    """The verdict of a patch and the rule that decided it (DOMAIN.md §6).

    Parameters
    ----------
    image_state
        ``reversed`` (the after image shows the change undone), ``present`` (it shows the change
        still there) or ``unknown`` (no after image, or too few valid pixels).
    field_evidence
        A geotagged photo or a clean patrol fix within the distance during the handling window.
    handling_state
        ``pending``, ``on_site`` or ``documents`` (closed by documents only).

    Returns
    -------
    tuple of str
        The verdict (a key of :data:`VERDICTS`) and a sentence saying why.
    """
    if image_state == "reversed":
        return "verified", "The after image shows the change reversed."
    if image_state == "present":
        return "not_verified", "The after image shows the change still there."
    if field_evidence:
        return "field_verified", "Field evidence only; the next image is pending."
    if handling_state == "documents":
        return "documents_only", "Closed by documents with no field or image evidence (材料结案)."
    return "inconclusive", "No usable after image and no field evidence."
