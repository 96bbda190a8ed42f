"""Responsibility rules as plain values: validation, specificity, the sentences that explain them.

A rule says which unit (处置部门 / 责任单位, a department or a sanitation company) handles the
cases of a scope (one subclass, one major class, or ``*`` all) inside an area (a set of unit
grids, a polygon, or road segments with a buffer), during a validity period (DOMAIN.md §3:
dispatch to the responsible department).

Specificity, most specific first (the order dispatch applies):

1. scope: subclass (5 digits) > major class (2 digits) > ``*``;
2. a rule of one case type (部件 / 事件) > a rule of both (only 01–05 codes and ``*`` can be
   either: subclasses and classes from 06 on are events);
3. area: road segments > polygon > grid set. The narrower drawing wins: a road contract
   (a sweeping company's main road) is drawn inside a cleaning area (保洁责任区, a polygon),
   which is drawn inside the streets' and departments' grid assignments. Comparing area sizes
   instead would let a slightly redrawn polygon silently take over a road;
4. explicit ``priority`` (1 first; a rule without one comes after every rule with one);
5. among road rules, the nearest line; among polygons, the smaller area; then the code.

Two rules **conflict** when they tie on 1–4 (same scope code, same case type, same area kind,
same priority), their places overlap (a shared grid; polygons overlapping by more than
:data:`POLYGON_OVERLAP_M2`; lines sharing more than :data:`ROAD_OVERLAP_M` of road), their
validity periods overlap, and they name different units. A conflict is a problem of the plan:
it cannot be applied until one rule gets a priority (or an area, a period) that settles it.
Step 5 only orders rules that do not conflict (two road segments meeting at a junction, two
polygons touching along a border).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geogrid.catalogue import Catalogue
from geogrid.errors import Problem, ValidationFailed

SCOPE_ALL = "*"
AREA_KINDS = ("road", "polygon", "grids")  # most specific first
CASE_TYPES = ("component", "event")
#: ``cases.dispatch_rule`` of a case no rule matched (the catalogue's department was used).
CATALOGUE_RULE = "catalogue"
RULE_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,31}$")
MAX_BUFFER_M = 500.0
MAX_TEXT = 200
POLYGON_OVERLAP_M2 = 1.0
ROAD_OVERLAP_M = 10.0
ROAD_TOLERANCE_M = 1.0
MAX_LISTED = 1000

UNIT_KIND_ALIASES = {
    "department": "department",
    "dept": "department",
    "部门": "department",
    "处置部门": "department",
    "政府部门": "department",
    "街道": "department",
    "company": "company",
    "公司": "company",
    "企业": "company",
    "环卫公司": "company",
    "作业公司": "company",
}
CASE_TYPE_ALIASES = {
    "component": "component",
    "event": "event",
    "部件": "component",
    "事件": "event",
    "事项": "event",
}
ALL_ALIASES = {"*", "全部", "所有", "all", "any"}


@dataclass(frozen=True)
class Rule:
    """One validated rule of an upload (EPSG:4326; ``valid_to`` exclusive)."""

    where: str
    code: str | None
    case_type: str | None
    scope: str
    unit: str
    unit_kind: str
    area_kind: str
    area_name: str | None
    grid_codes: tuple[str, ...] | None
    geometry: BaseGeometry | None
    buffer_m: float | None
    priority: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    note: str | None


def scope_level(scope: str) -> int:
    """3 for a subclass, 2 for a major class, 1 for ``*`` (higher is more specific)."""
    return {5: 3, 2: 2}.get(len(scope), 1)


def specificity(
    scope: str, case_type: str | None, area_kind: str, priority: int | None
) -> tuple[int, int, int, int]:
    """A key that sorts rules most specific first (steps 1–4 of the module's order)."""
    return (
        -scope_level(scope),
        0 if case_type else 1,
        AREA_KINDS.index(area_kind),
        priority if priority is not None else 2**31,
    )


def infer_unit_kind(unit: str) -> str:
    """``company`` for a name with 公司 / company in it, else ``department``."""
    return "company" if "公司" in unit or "company" in unit.lower() else "department"


def split_grid_codes(text: str) -> list[str]:
    """Grid codes from a cell: separated by commas, semicolons, 、, | or white space."""
    return [c for c in re.split(r"[\s,，;；、|/]+", text.strip()) if c]


def parse_moment(text: str, tz: str, *, end: bool) -> datetime:
    """A validity bound: a date (its start; with ``end``, the start of the next day) or a time.

    ``valid_to 2026-12-31`` means through the end of that day, so it is stored as the
    exclusive bound 2027-01-01 00:00 local time. Naive times are local time in ``tz``.
    """
    value = text.strip().replace("/", "-")
    if value.isdigit() and len(value) == 8:
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if len(value) == 10:
        day = date.fromisoformat(value)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(), ZoneInfo(tz))
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def scope_label(scope: str, case_type: str | None, catalogue: Catalogue, *, zh: bool) -> str:
    """``06010 暴露垃圾``, ``06 市容环境类``, or all subclasses."""
    kind = case_type or ("component" if scope[:2] <= "05" else "event")
    if len(scope) == 5:
        return f"{scope} {catalogue.name(kind, scope)}"  # type: ignore[arg-type]
    if len(scope) == 2:
        name = catalogue.majors(kind).get(scope, "")  # type: ignore[arg-type]
        return f"{scope} {name}".strip()
    if case_type:
        if zh:
            return "全部部件" if case_type == "component" else "全部事件"
        return f"all {case_type}s"
    return "全部小类" if zh else "all subclasses"


def area_label(
    area_kind: str,
    area_name: str | None,
    grid_codes: Sequence[str] | None,
    buffer_m: float | None,
    *,
    zh: bool,
) -> str:
    """The rule's area in a few words: its name, else what it is."""
    if area_name:
        return area_name
    if area_kind == "grids":
        codes = list(grid_codes or [])
        more = len(codes) - 1
        if zh:
            return f"网格 {codes[0]}" + (f" 等 {len(codes)} 个" if more else "")
        return f"grid {codes[0]}" + (f" and {more} more" if more else "")
    if area_kind == "road":
        metres = f"{buffer_m:g}"
        return f"道路两侧 {metres} 米" if zh else f"road segments ± {metres} m"
    return "责任区" if zh else "area"


def reason(
    rule: dict[str, Any] | None,
    *,
    unit: str | None,
    sub_class: str,
    case_type: str,
    catalogue: Catalogue,
) -> tuple[str, str]:
    """The sentence (Chinese, English) saying why a case goes to ``unit``.

    ``rule`` has the rule's ``code``, ``scope``, ``case_type``, ``area_kind``, ``area_name``,
    ``grid_codes`` and ``buffer_m``; None when no rule matched (catalogue fallback).
    """
    subclass = f"{sub_class} {catalogue.name(case_type, sub_class)}"  # type: ignore[arg-type]
    if rule is None:
        if unit is None:
            return (
                f"无匹配的责任规则，目录也未设 {subclass} 的默认处置部门",
                f"No responsibility rule matches and the catalogue names no default "
                f"department for {subclass}.",
            )
        return (
            f"无匹配的责任规则，按目录默认处置部门派遣至 {unit}（{subclass}）",
            f"No responsibility rule matches; dispatched to the catalogue's default "
            f"department {unit} ({subclass}).",
        )
    labels = [
        (
            scope_label(rule["scope"], rule["case_type"], catalogue, zh=zh),
            area_label(
                rule["area_kind"],
                rule["area_name"],
                rule["grid_codes"],
                rule["buffer_m"],
                zh=zh,
            ),
        )
        for zh in (True, False)
    ]
    return (
        f"按规则 {rule['code']}（{labels[0][0]} · {labels[0][1]}）派遣至 {unit}",
        f"Dispatched to {unit} by rule {rule['code']} ({labels[1][0]} · {labels[1][1]}).",
    )


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, where: str, rule: str, message: str) -> None:
        self.items.append(Problem(where, rule, f"{where[0].upper()}{where[1:]}: {message}"))


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _scope(
    row: dict[str, Any], case_type: str | None, catalogue: Catalogue, where: str, p: _Problems
) -> str | None:
    """The 5-digit subclass, 2-digit major class or ``*`` the row applies to."""
    sub = _text(row.get("sub_class"))
    major = _text(row.get("major_class"))
    given = _text(row.get("scope"))
    if given and not sub and not major:
        if given.lower() in ALL_ALIASES:
            return SCOPE_ALL
        sub, major = (given, None) if len(given) > 2 else (None, given)
    if sub and sub.lower() in ALL_ALIASES:
        sub = None
    if sub and len(sub) <= 2 and not major:  # a major class written in the subclass column
        sub, major = None, sub
    if major and major.lower() in ALL_ALIASES:
        major = None
    kinds = [case_type] if case_type else list(CASE_TYPES)
    if sub:
        mapped = {catalogue.map_code(k, sub) for k in kinds} - {None}  # type: ignore[arg-type]
        if len(mapped) > 1:
            p.add(
                where,
                "ambiguous_sub_class",
                f"subclass '{sub}' maps to {' and '.join(sorted(map(str, mapped)))}; "
                "give the case type (部件 / 事件).",
            )
            return None
        if not mapped:
            p.add(
                where,
                "unknown_sub_class",
                f"subclass '{sub}' is not a {case_type or 'component or event'} subclass of "
                "the catalogue (GB/T 47678.5, or a legacy code).",
            )
            return None
        code = str(mapped.pop())
        if major and major.zfill(2) != code[:2]:
            p.add(where, "major_mismatch", f"'{major}' is not the major class of {code}.")
            return None
        return code
    if major:
        code = major.zfill(2)
        if not any(code in catalogue.majors(k) for k in kinds):  # type: ignore[arg-type]
            p.add(
                where,
                "unknown_major_class",
                f"major class '{major}' is not a {case_type or 'component or event'} "
                "class of the catalogue.",
            )
            return None
        return code
    return SCOPE_ALL


def _area(
    row: dict[str, Any],
    grid_codes: Collection[str],
    district: BaseGeometry | None,
    where: str,
    p: _Problems,
) -> tuple[str, tuple[str, ...] | None, BaseGeometry | None, float | None] | None:
    grids_text = _text(row.get("grids"))
    geom = row.get("geometry")
    has_geom = isinstance(geom, BaseGeometry) and not geom.is_empty
    buffer_text = _text(row.get("buffer_m"))
    if grids_text and has_geom:
        p.add(where, "two_areas", "gives both grids and a geometry; give one area.")
        return None
    if grids_text:
        codes = tuple(sorted(set(split_grid_codes(grids_text))))
        unknown = [c for c in codes if c not in grid_codes]
        if unknown:
            p.add(
                where,
                "unknown_grid",
                f"grid(s) {', '.join(unknown[:10])} are not current unit grids of the district.",
            )
            return None
        if buffer_text:
            p.add(where, "buffer_without_road", "buffer_m applies to road segments only.")
            return None
        return "grids", codes, None, None
    if not has_geom:
        p.add(
            where,
            "missing_area",
            "has no area: give grid codes (grids / 网格) or a polygon or line geometry.",
        )
        return None
    assert isinstance(geom, BaseGeometry)
    kind = geom.geom_type
    if kind not in ("Polygon", "MultiPolygon", "LineString", "MultiLineString"):
        p.add(
            where,
            "wrong_geometry_type",
            f"is a {kind}; a rule's area is a polygon or road segments (lines).",
        )
        return None
    if not shapely.is_valid(geom):
        p.add(
            where, "invalid_geometry", f"has an invalid {kind} ({shapely.is_valid_reason(geom)})."
        )
        return None
    if district is not None and not geom.intersects(district):
        p.add(where, "outside_district", "lies outside the district.")
        return None
    if kind.endswith("Polygon"):
        if buffer_text:
            p.add(where, "buffer_without_road", "buffer_m applies to road segments only.")
            return None
        return "polygon", None, geom, None
    try:
        buffer_m = float(buffer_text) if buffer_text else None
    except ValueError:
        buffer_m = -1.0
    if buffer_m is None:
        p.add(where, "missing_buffer", "road segments need buffer_m (metres on each side).")
        return None
    if not 0 < buffer_m <= MAX_BUFFER_M:
        p.add(
            where,
            "bad_buffer",
            f"buffer_m '{buffer_text}' is not a distance in metres in (0, {MAX_BUFFER_M:g}].",
        )
        return None
    return "road", None, shapely.line_merge(geom) if kind == "MultiLineString" else geom, buffer_m


def _rule(
    row: dict[str, Any],
    *,
    catalogue: Catalogue,
    grid_codes: Collection[str],
    district: BaseGeometry | None,
    tz: str,
    p: _Problems,
) -> Rule | None:
    where = str(row["where"])
    before = len(p.items)
    code = _text(row.get("code"))
    if code is not None and (not RULE_CODE.match(code) or code == CATALOGUE_RULE):
        p.add(
            where,
            "bad_code",
            f"rule code '{code}' is not 1–32 letters, digits, '.', '_' or '-' "
            f"(and not '{CATALOGUE_RULE}').",
        )
    type_text = _text(row.get("case_type"))
    case_type = CASE_TYPE_ALIASES.get((type_text or "").lower()) if type_text else None
    if type_text and case_type is None:
        p.add(
            where, "bad_case_type", f"case type '{type_text}' is not component/event (部件/事件)."
        )
    scope = _scope(row, case_type, catalogue, where, p)
    if scope is not None and scope != SCOPE_ALL and scope[:2] > "05":
        case_type = "event"  # subclasses and classes from 06 on are events only
    unit = _text(row.get("unit"))
    if unit is None:
        p.add(where, "missing_unit", "has no responsible unit (unit / 责任单位 / 处置部门).")
    elif len(unit) > MAX_TEXT:
        p.add(where, "too_long", f"unit is longer than {MAX_TEXT} characters.")
    kind_text = _text(row.get("unit_kind"))
    unit_kind = UNIT_KIND_ALIASES.get((kind_text or "").lower()) if kind_text else None
    if kind_text and unit_kind is None:
        p.add(
            where,
            "bad_unit_kind",
            f"unit kind '{kind_text}' is not department or company (部门 / 公司).",
        )
    area = _area(row, grid_codes, district, where, p)
    priority_text = _text(row.get("priority"))
    priority: int | None = None
    if priority_text:
        try:
            priority = int(float(priority_text))
            if priority < 1 or priority != float(priority_text):
                raise ValueError
        except ValueError:
            p.add(where, "bad_priority", f"priority '{priority_text}' is not a whole number ≥ 1.")
    bounds: list[datetime | None] = []
    for name, end in (("valid_from", False), ("valid_to", True)):
        text = _text(row.get(name))
        try:
            bounds.append(parse_moment(text, tz, end=end) if text else None)
        except ValueError:
            p.add(where, "bad_date", f"{name} '{text}' is not a date (e.g. 2026-10-01).")
            bounds.append(None)
    if bounds[0] and bounds[1] and bounds[1] <= bounds[0]:
        p.add(where, "bad_validity", "valid_to is before valid_from.")
    if len(p.items) > before or scope is None or unit is None or area is None:
        return None
    area_kind, codes, geometry, buffer_m = area
    return Rule(
        where=where,
        code=code,
        case_type=case_type,
        scope=scope,
        unit=unit,
        unit_kind=unit_kind or infer_unit_kind(unit),
        area_kind=area_kind,
        area_name=_text(row.get("area_name")),
        grid_codes=codes,
        geometry=geometry,
        buffer_m=buffer_m,
        priority=priority,
        valid_from=bounds[0],
        valid_to=bounds[1],
        note=_text(row.get("note")),
    )


def validate_rules(
    rows: pd.DataFrame,
    *,
    catalogue: Catalogue,
    grid_codes: Collection[str],
    district: BaseGeometry | None,
    tz: str = "Asia/Shanghai",
    shown: str = "rules",
) -> list[Rule]:
    """Check every row of a rule upload and return the rules, or refuse the file naming each row.

    Parameters
    ----------
    rows
        From :func:`geogrid.dispatch.upload.read_rule_upload`: ``where`` (``row 3``,
        ``feature 2``), the text columns of :data:`geogrid.dispatch.upload.COLUMNS` and
        ``geometry`` (shapely, EPSG:4326, or None).
    grid_codes
        The district's current unit grid codes.
    district
        The district's outline (EPSG:4326); None skips the outside test.
    tz
        Zone of validity dates and naive times.

    Raises
    ------
    ValidationFailed
        Listing every problem: unknown subclass or class, unknown grid, invalid or misplaced
        geometry, missing unit or area, bad buffer, priority, dates or code, duplicate code.
    """
    p = _Problems()
    if rows.empty:
        raise ValidationFailed(f"'{shown}' holds no rules.")
    rules = [
        _rule(row, catalogue=catalogue, grid_codes=grid_codes, district=district, tz=tz, p=p)
        for row in rows.to_dict("records")
    ]
    seen: dict[str, str] = {}
    for rule in rules:
        if rule is None or rule.code is None:
            continue
        if rule.code in seen:
            p.add(
                rule.where, "duplicate_code", f"rule code {rule.code} is used at {seen[rule.code]}."
            )
        seen.setdefault(rule.code, rule.where)
    if p.items:
        listed = p.items[:MAX_LISTED]
        if len(p.items) > MAX_LISTED:
            more = f"{len(p.items) - MAX_LISTED} more problem(s) not listed."
            listed.append(Problem(f"'{shown}'", "more_problems", more))
        raise ValidationFailed(
            f"'{shown}' was refused: nothing was planned. First: {p.items[0].message}", listed
        )
    return [r for r in rules if r is not None]
