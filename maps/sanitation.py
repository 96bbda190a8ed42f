"""The sanitation map page (环卫作业图, issue 10): one day of street cleaning.

Pure: a :class:`geogrid.sanitation.mapdata.SanitationMapData` in, ``folium.Map`` out; no
database, no HTTP. Layers, bottom to top: the cleaning areas filled by company; the road
segments coloured by the share of their length swept that day (thicker for bigger roads, grey
and dashed when not due); the vehicles' and crews' tracks coloured by kind; the open
sanitation cases (red when overdue). A form asks for another day or company (a GET to the
page itself); every asset is served by the app (no CDN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import folium
from branca.element import MacroElement
from folium.plugins import Fullscreen
from folium.template import Template

from geogrid.sanitation.mapdata import SanitationMapData
from geogrid.sanitation.rules import ROAD_CLASSES, STATUS_LABELS, TRACKER_KINDS
from maps.assets import localise_assets
from maps.grids import (
    NO_BASEMAP_BACKGROUND,
    _bounds,
    _compact_geometry,
    _LegendEntry,
    _PageFrame,
    base_map,
)
from maps.panels import PANEL_TAIL, query_panel_css

COMPANY_PALETTE: Final = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948")
"""Fills of the companies' areas, in company id order."""


@dataclass(frozen=True)
class ShareClass:
    """Segments swept on at least ``low`` % of their length (up to the next class)."""

    low: float
    colour: str
    label: str


SHARE_CLASSES: Final = (
    ShareClass(90.0, "#1a9850", "已扫 ≥ 90%"),
    ShareClass(60.0, "#91cf60", "已扫 60%–90%"),
    ShareClass(30.0, "#fc8d59", "已扫 30%–60%"),
    ShareClass(0.0, "#d73027", "已扫 < 30%"),
)
NOT_DUE_COLOUR: Final = "#9e9e9e"
KIND_COLOURS: Final = {
    "sweeper": "#1565c0",
    "washer": "#00838f",
    "crew": "#6a1b9a",
    "garbage_truck": "#795548",
}
OVERDUE_COLOUR: Final = "#c62828"
OPEN_COLOUR: Final = "#ff8f00"
ROAD_WEIGHTS: Final = {"main": 7, "secondary": 5, "alley": 3.5}
LAYER_NAMES: Final = {
    "areas": "保洁责任区",
    "segments": "路段清扫覆盖",
    "tracks": "作业轨迹",
    "cases": "未结环卫案件",
}
_EMPTY: Final = "—"
_AREA_TOOLTIP: Final = (
    ("name", "责任区"),
    ("company", "环卫公司"),
    ("levels", "应扫遍数（主/次/巷）"),
)
_SEGMENT_TOOLTIP: Final = (
    ("name", "路段"),
    ("id", "路段编号"),
    ("road_class", "道路等级"),
    ("company", "环卫公司"),
    ("length", "长度"),
    ("share", "清扫覆盖率"),
    ("sweeps", "完成/应扫遍数"),
    ("status", "状态"),
)
_TRACK_TOOLTIP: Final = (
    ("name", "车辆/班组"),
    ("kind", "类型"),
    ("company", "环卫公司"),
    ("time", "时段"),
    ("fixes", "定位点数"),
)
_CASE_TOOLTIP: Final = (
    ("case_id", "案卷号"),
    ("sub_class", "小类"),
    ("department", "责任单位"),
    ("registered", "立案时间"),
    ("due", "处置时限"),
)


def share_colour(share: float | None) -> str:
    """The colour of a segment swept on ``share`` % of its length (None: not due, grey)."""
    if share is None:
        return NOT_DUE_COLOUR
    for cls in SHARE_CLASSES:
        if share >= cls.low:
            return cls.colour
    return SHARE_CLASSES[-1].colour


def company_colours(companies: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Company id → fill colour, in id order (the same companies, the same colours)."""
    ids = sorted(c for c, _ in companies)
    return {c: COMPANY_PALETTE[i % len(COMPANY_PALETTE)] for i, c in enumerate(ids)}


def _shown(value: Any) -> str:
    return _EMPTY if value is None or value == "" else escape(str(value))


def _clock(moment: Any) -> str:
    return str(moment)[11:16] if moment else _EMPTY


def _feature(geometry: Any, where: str, props: dict[str, Any], ident: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": ident,
        "geometry": _compact_geometry(geometry, where),
        "properties": props,
    }


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _areas(data: SanitationMapData, fills: dict[str, str]) -> dict[str, Any]:
    out = []
    for i, f in enumerate(data.areas["features"]):
        p = f["properties"]
        props = {
            "name": _shown(p.get("name")),
            "company": _shown(p.get("company")),
            "levels": f"{p['sweeps_main']} / {p['sweeps_secondary']} / {p['sweeps_alley']}",
            "fill": fills.get(str(p.get("company_id")), COMPANY_PALETTE[0]),
        }
        out.append(_feature(f.get("geometry"), f"area {i} ({p.get('id')})", props, f"a{i}"))
    return _collection(out)


def _segments(data: SanitationMapData) -> dict[str, Any]:
    out = []
    for i, f in enumerate(data.segments["features"]):
        p = f["properties"]
        due = bool(p.get("due"))
        share = float(p["swept_share"]) if due and p.get("swept_share") is not None else None
        props = {
            "name": _shown(p.get("road_name")),
            "id": _shown(p.get("id")),
            "road_class": ROAD_CLASSES.get(str(p.get("road_class")), _EMPTY),
            "company": _shown(p.get("company")),
            "length": f"{float(p.get('length_m') or 0):,.0f} 米",
            "share": f"{share:.1f}%" if share is not None else "不在作业期",
            "sweeps": f"{p.get('sweeps', 0)} / {p.get('required')}" if due else _EMPTY,
            "status": STATUS_LABELS.get(str(p.get("status")), _EMPTY) if due else _EMPTY,
            "colour": share_colour(share),
            "weight": ROAD_WEIGHTS.get(str(p.get("road_class")), 3),
            "due": due,
        }
        out.append(_feature(f.get("geometry"), f"segment {i} ({p.get('id')})", props, f"s{i}"))
    out.sort(key=lambda f: (f["properties"]["due"], -f["properties"]["weight"]))
    return _collection(out)


def _tracks(data: SanitationMapData) -> dict[str, Any]:
    out = []
    for i, f in enumerate(data.tracks["features"]):
        p = f["properties"]
        kind = str(p.get("kind"))
        props = {
            "name": _shown(p.get("name")),
            "kind": TRACKER_KINDS.get(kind, _EMPTY),
            "company": _shown(p.get("company")),
            "time": f"{_clock(p.get('start'))}–{_clock(p.get('end'))}",
            "fixes": int(p.get("fixes") or 0),
            "colour": KIND_COLOURS.get(kind, "#455a64"),
            "kind_code": kind,
        }
        out.append(_feature(f.get("geometry"), f"track {i}", props, f"t{i}"))
    return _collection(out)


def _cases(data: SanitationMapData) -> dict[str, Any]:
    out = []
    for i, f in enumerate(data.cases["features"]):
        p = f["properties"]
        props = {
            "case_id": _shown(p.get("case_id")),
            "sub_class": f"{p.get('sub_class')} {p.get('sub_class_name', '')}".strip(),
            "department": _shown(p.get("department")),
            "registered": str(p.get("registered_at") or _EMPTY)[:16].replace("T", " "),
            "due": str(p.get("due_at") or _EMPTY)[:16].replace("T", " "),
            "overdue": bool(p.get("overdue")),
        }
        out.append(_feature(f.get("geometry"), f"case {i} ({p.get('case_id')})", props, f"c{i}"))
    return _collection(out)


def _tooltip(fields: Sequence[tuple[str, str]]) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(
        fields=[k for k, _ in fields], aliases=[label for _, label in fields], sticky=True
    )


def _layer(
    collection: dict[str, Any],
    name: str,
    style: Any,
    fields: Sequence[tuple[str, str]],
    **extra: Any,
) -> folium.GeoJson:
    return folium.GeoJson(
        collection,
        name=name,
        style_function=style,
        tooltip=_tooltip(fields) if collection["features"] else None,
        **extra,
    )


class _Panel(MacroElement):
    """The day / company form, the day's figures and the notices."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
{{ this.query_css }}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<form class="gg-query" id="{{ this.get_name() }}" method="get" action="{{ this.action|e }}">
<h2>查询条件</h2>
<label>作业日期 <input type="date" name="date" value="{{ this.day|e }}"></label>
<label>环卫公司 <select name="company"><option value="">全部</option>
{%- for value, text in this.companies %}
<option value="{{ value|e }}"{{ " selected" if value == this.company }}>{{ text|e }}</option>
{%- endfor %}</select></label>
<button type="submit">查询</button>
"""
        + PANEL_TAIL
    )

    def __init__(
        self,
        *,
        action: str,
        day: str,
        company: str,
        companies: list[tuple[str, str]],
        figures: list[tuple[str, str]],
        notices: list[str],
    ) -> None:
        super().__init__()
        self.query_css = query_panel_css(width_px=260, field_px=160)
        self._name = "SanitationPanel"
        self.action, self.day, self.company = action, day, company
        self.companies, self.figures, self.notices = companies, figures, notices


def _percent(value: float | None) -> str:
    return _EMPTY if value is None else f"{value:.2f}%"


def _figures(
    data: SanitationMapData, tracks: dict[str, Any], cases: dict[str, Any]
) -> list[tuple[str, str]]:
    t = data.totals
    trackers = {f["properties"]["name"] for f in tracks["features"]}
    overdue = sum(1 for f in cases["features"] if f["properties"]["overdue"])
    return [
        ("作业日期", data.day.isoformat()),
        ("应扫路段", f"{t.get('segments', 0):,} 段（{t.get('length_km', 0):,.1f} 公里）"),
        ("清扫覆盖率", _percent(t.get("swept_share"))),
        ("作业完成率", _percent(t.get("fulfilment"))),
        (
            "达标 / 遍数不足 / 漏扫",
            f"{t.get('done', 0)} / {t.get('short', 0)} / {t.get('missed', 0)}",
        ),
        ("有轨迹的车辆/班组", f"{len(trackers):,} 个"),
        ("未结环卫案件", f"{len(cases['features']):,} 件（超期 {overdue:,} 件）"),
    ]


def _notices(data: SanitationMapData, segments: int, tracks: int) -> list[str]:
    notices = []
    if not data.companies:
        notices.append("还没有登记环卫公司，请先导入公司、责任区和路段。")
    elif segments == 0:
        notices.append("所选公司还没有路段：请上传路段或由路网生成。")
    if tracks == 0:
        notices.append(f"{data.day.isoformat()} 没有车辆或班组的定位数据。")
    if data.latest_day is not None and data.latest_day != data.day:
        notices.append(f"最新定位日期为 {data.latest_day.isoformat()}。")
    if data.cases_capped:
        notices.append("未结案件较多，图上只显示最近立案的部分。")
    return notices


def _legend(
    data: SanitationMapData,
    fills: dict[str, str],
    segments: dict[str, Any],
    tracks: dict[str, Any],
    cases: dict[str, Any],
) -> list[_LegendEntry]:
    colours = [f["properties"]["colour"] for f in segments["features"]]
    shown = [str(f["properties"]["company_id"]) for f in data.areas["features"]]
    entries = [
        _LegendEntry(f"{name}（责任区）", fills[cid], shown.count(cid))
        for cid, name in data.companies
        if cid in shown
    ]
    entries += [_LegendEntry(c.label, c.colour, colours.count(c.colour)) for c in SHARE_CLASSES]
    entries.append(_LegendEntry("不在作业期", NOT_DUE_COLOUR, colours.count(NOT_DUE_COLOUR)))
    kinds = [f["properties"]["kind_code"] for f in tracks["features"]]
    entries += [
        _LegendEntry(f"{TRACKER_KINDS[k]}轨迹（段）", colour, kinds.count(k))
        for k, colour in KIND_COLOURS.items()
        if kinds.count(k)
    ]
    overdue = sum(1 for f in cases["features"] if f["properties"]["overdue"])
    entries.append(_LegendEntry("未结案件（超期）", OVERDUE_COLOUR, overdue))
    entries.append(_LegendEntry("未结案件", OPEN_COLOUR, len(cases["features"]) - overdue))
    return entries


def build_sanitation_map(
    data: SanitationMapData,
    *,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
    title: str | None = None,
    action: str = "/maps/sanitation",
) -> folium.Map:
    """Build the sanitation page of one day.

    Parameters
    ----------
    data
        What :func:`geogrid.sanitation.mapdata.sanitation_map_data` read.
    basemap_url, basemap_attribution
        XYZ tile URL template and attribution; None for no tile layer.
    asset_base
        URL at which the app serves ``maps/static``.
    title
        District name, shown as "环卫作业图 · <title>".
    action
        URL the query form is sent to (the page itself).

    Raises
    ------
    ValueError
        If a feature has no geometry (the message names it).
    """
    heading = f"环卫作业图 · {title}" if title else "环卫作业图"
    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    fills = company_colours(data.companies)
    areas, segments = _areas(data, fills), _segments(data)
    tracks, cases = _tracks(data), _cases(data)
    _layer(
        areas,
        LAYER_NAMES["areas"],
        lambda f: {
            "color": f["properties"]["fill"],
            "weight": 2,
            "opacity": 0.9,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.18,
        },
        _AREA_TOOLTIP,
    ).add_to(m)
    _layer(
        segments,
        f"{LAYER_NAMES['segments']}（{len(segments['features'])} 段）",
        lambda f: {
            "color": f["properties"]["colour"],
            "weight": f["properties"]["weight"],
            "opacity": 0.9,
            **({} if f["properties"]["due"] else {"dashArray": "6 6"}),
        },
        _SEGMENT_TOOLTIP,
    ).add_to(m)
    _layer(
        tracks,
        f"{LAYER_NAMES['tracks']} · {data.day.isoformat()}（{len(tracks['features'])} 段）",
        lambda f: {"color": f["properties"]["colour"], "weight": 2, "opacity": 0.75},
        _TRACK_TOOLTIP,
    ).add_to(m)
    _layer(
        cases,
        f"{LAYER_NAMES['cases']}（{len(cases['features'])} 件）",
        lambda f: {
            "color": "#ffffff",
            "weight": 1.5,
            "fill": True,
            "fillOpacity": 1.0,
            "fillColor": OVERDUE_COLOUR if f["properties"]["overdue"] else OPEN_COLOUR,
        },
        _CASE_TOOLTIP,
        marker=folium.CircleMarker(radius=5),
    ).add_to(m)
    t = data.totals
    summary = f"{data.day.isoformat()} · 清扫覆盖率 {_percent(t.get('swept_share'))}"
    _PageFrame(
        heading=heading,
        summary=summary,
        legend_title="图例 · 清扫覆盖",
        entries=_legend(data, fills, segments, tracks, cases),
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    _Panel(
        action=action,
        day=data.day.isoformat(),
        company=data.company or "",
        companies=[(cid, f"{name}（{cid}）") for cid, name in data.companies],
        figures=_figures(data, tracks, cases),
        notices=_notices(data, len(segments["features"]), len(tracks["features"])),
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    bounds = _bounds(areas, segments) or _bounds(tracks, cases)
    if bounds:
        m.fit_bounds(bounds, padding_top_left=(20, 20), padding_bottom_right=(300, 20), max_zoom=18)
    localise_assets(m, asset_base)
    return m
