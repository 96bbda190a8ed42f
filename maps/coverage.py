"""Map page of patrol coverage (巡查覆盖图, DOMAIN.md §5): grids by days patrolled, one track.

Pure: a :class:`geogrid.patrol.mapdata.CoverageMapData` in, ``folium.Map`` out; no database,
no HTTP. Layers, bottom to top: the grids filled by the days they were patrolled in the
period (a sequential yellow–green palette, classes scaled to the period's length; grids no
supervisor holds light grey, or, with a supervisor chosen, grids that are not theirs) with
every assigned grid never patrolled outlined thick red and drawn last, the street outlines
with their names, then — when a supervisor is chosen — their track of one day as lines (one
per segment, split at gaps) and the fixes analytics ignore as small markers. A form on the
page asks for another period, supervisor or track day (a GET to the page itself), so the
page works with no script of its own and no CDN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import folium
from branca.element import MacroElement
from folium.plugins import Fullscreen
from folium.template import Template

from geogrid.patrol.mapdata import CoverageMapData
from maps.assets import localise_assets
from maps.grids import (
    GRID_FILL_OPACITY,
    NO_BASEMAP_BACKGROUND,
    _bounds,
    _compact_geometry,
    _darker,
    _LegendEntry,
    _outline_features,
    _PageFrame,
    _street_layer,
    base_map,
)
from maps.panels import PANEL_TAIL, query_panel_css

VISIT_COLOURS: Final[tuple[str, ...]] = ("#c2e699", "#78c679", "#31a354", "#006837")
"""Fill of the visit classes from fewest to most days (ColorBrewer YlGn)."""
ZERO_COLOUR: Final = "#ffffcc"
"""Fill of an assigned grid never patrolled (the palette's lightest shade)."""
NEVER_OUTLINE: Final = "#d32f2f"
"""Outline of an assigned grid never patrolled in the period."""
UNASSIGNED_COLOUR: Final = "#e0e0e0"
TRACK_COLOUR: Final = "#1565c0"
FLAGGED_COLOUR: Final = "#ef6c00"

LAYER_NAMES: Final = {"grids": "巡查覆盖", "track": "巡查轨迹", "flagged": "异常定位点"}
FLAG_LABELS: Final = {"inaccurate": "精度差", "network": "网络定位", "speed": "速度异常"}
"""Chinese names of the flags of :mod:`geogrid.patrol.fixes`."""

_NEVER_STYLE: Final = {"color": NEVER_OUTLINE, "weight": 3, "opacity": 1.0}
_UNASSIGNED_STYLE: Final = {
    "color": "#9e9e9e",
    "weight": 0.6,
    "opacity": 0.9,
    "fillColor": UNASSIGNED_COLOUR,
    "fillOpacity": 0.45,
}
_HIGHLIGHT: Final = {"weight": 4, "fillOpacity": 0.8}
_TRACK_STYLE: Final = {"color": TRACK_COLOUR, "weight": 4, "opacity": 0.9}
_FIX_STYLE: Final = {"color": "#ffffff", "fill": True, "fillOpacity": 1.0, "weight": 1.5}
"""Circles of fixes: a segment of one fix in the track's colour, flagged fixes in orange."""
_GRID_TOOLTIP: Final = (
    ("code", "网格编码"),
    ("name", "网格名称"),
    ("community", "社区"),
    ("street", "街道"),
    ("supervisors", "监督员"),
    ("visits", "巡查天数/在岗天数"),
    ("dwell", "停留时长"),
)
_SEGMENT_TOOLTIP: Final = (("time", "时段"), ("fixes", "定位点数"), ("duration", "时长"))
_FLAGGED_TOOLTIP: Final = (
    ("time", "定位时间"),
    ("flags", "标记"),
    ("accuracy", "精度"),
    ("source", "定位方式"),
)
_EMPTY: Final = "—"


@dataclass(frozen=True)
class VisitClass:
    """Grids patrolled on ``low`` to ``high`` days of the period, and their fill."""

    low: int
    high: int
    colour: str

    @property
    def label(self) -> str:
        if self.high == 0:
            return "未巡查（0 天）"
        return f"{self.low} 天" if self.low == self.high else f"{self.low}–{self.high} 天"


@dataclass(frozen=True)
class _OutlinedEntry(_LegendEntry):
    """A legend entry whose swatch has its own outline colour."""

    border: str = NEVER_OUTLINE

    @property
    def outline(self) -> str:
        return self.border


def visit_classes(days: int) -> list[VisitClass]:
    """The legend's classes of days patrolled for a period of ``days`` days.

    0 (never patrolled), then up to four classes ending at 1/7, 3/7, 6/7 and all of the
    period: for a week 1, 2–3, 4–6 and 7 days; for one day just 1; for 30 days 1–4, 5–12,
    13–25 and 26–30. Classes that would be empty are left out; the rest take the darkest
    colours of :data:`VISIT_COLOURS`.
    """
    days = max(days, 1)
    uppers = [days * k // 7 for k in (1, 3, 6)] + [days]
    bounds: list[tuple[int, int]] = []
    low = 1
    for high in uppers:
        if high >= low:
            bounds.append((low, high))
            low = high + 1
    colours = VISIT_COLOURS[-len(bounds) :]
    return [VisitClass(0, 0, ZERO_COLOUR)] + [
        VisitClass(lo, hi, colour) for (lo, hi), colour in zip(bounds, colours, strict=True)
    ]


def visit_colour(visits: int, classes: Sequence[VisitClass]) -> str:
    """The fill of a grid patrolled on ``visits`` days (the last class for more)."""
    for cls in classes:
        if cls.low <= visits <= cls.high:
            return cls.colour
    return classes[-1].colour


def duration_text(seconds: float | None) -> str:
    """Seconds as Chinese text: ``40 秒``, ``3 分 20 秒``, ``1 小时 5 分``; a dash for None."""
    if seconds is None:
        return _EMPTY
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} 小时 {minutes} 分" if minutes else f"{hours} 小时"
    if minutes:
        return f"{minutes} 分 {secs} 秒" if secs else f"{minutes} 分"
    return f"{secs} 秒"


def _shown(value: Any) -> str:
    """A property as escaped tooltip text (folium inserts it as HTML); missing as a dash."""
    return _EMPTY if value is None or value == "" else escape(str(value))


def _clock(moment: str | None) -> str:
    """``HH:MM:SS`` of a local ISO 8601 time."""
    return moment[11:19] if moment else _EMPTY


def _grid_features(data: CoverageMapData, classes: Sequence[VisitClass]) -> dict[str, Any]:
    """The grids with tooltip texts and a style key; never-patrolled grids come last (on top)."""
    unheld = "未定岗" if data.supervisor is None else _EMPTY  # or held by someone else
    drawn: list[dict[str, Any]] = []
    for i, feature in enumerate(data.grids["features"]):
        p = feature["properties"]
        code = str(p["code"])
        people = p.get("supervisors") or []
        if not p.get("assigned"):
            style = "unassigned"
        elif p.get("never_patrolled"):
            style = "never"
        else:
            style = visit_colour(int(p["visits"]), classes)
        props = {
            "code": code,
            "name": _shown(p.get("name")),
            "community": _shown(p.get("community_name") or p.get("community_code")),
            "street": _shown(p.get("street_name") or p.get("street_code")),
            "supervisors": "、".join(_shown(s["name"]) for s in people) or unheld,
            "visits": f"{p['visits']} / {p['days_assigned']}" if people else _EMPTY,
            "dwell": duration_text(p.get("dwell_s")),
            "style": style,
        }
        geometry = _compact_geometry(feature.get("geometry"), f"grid {i} ({code})")
        drawn.append({"type": "Feature", "id": code, "geometry": geometry, "properties": props})
    order = {"unassigned": 0, "never": 2}
    drawn.sort(key=lambda f: order.get(f["properties"]["style"], 1))
    return {"type": "FeatureCollection", "features": drawn}


def _grid_style(feature: dict[str, Any]) -> dict[str, Any]:
    style = feature["properties"]["style"]
    if style == "unassigned":
        return dict(_UNASSIGNED_STYLE)
    if style == "never":
        return {**_NEVER_STYLE, "fillColor": ZERO_COLOUR, "fillOpacity": GRID_FILL_OPACITY}
    return {
        "color": _darker(style, 0.7),
        "weight": 0.8,
        "opacity": 0.9,
        "fillColor": style,
        "fillOpacity": GRID_FILL_OPACITY,
    }


def _tooltip(fields: Sequence[tuple[str, str]]) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(
        fields=[key for key, _ in fields], aliases=[label for _, label in fields], sticky=True
    )


def _grid_layer(grid_data: dict[str, Any]) -> folium.GeoJson:
    return folium.GeoJson(
        grid_data,
        name=LAYER_NAMES["grids"],
        style_function=_grid_style,
        highlight_function=lambda f: _HIGHLIGHT,
        tooltip=_tooltip(_GRID_TOOLTIP) if grid_data["features"] else None,
    )


def _track_features(track: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(segments, flagged fixes) of a track, with tooltip texts."""
    segments: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    for i, feature in enumerate(track["features"] if track else []):
        p = feature["properties"]
        geometry = _compact_geometry(feature.get("geometry"), f"track feature {i}")
        if p.get("kind") == "segment":
            props = {
                "time": f"{_clock(p.get('start'))}–{_clock(p.get('end'))}",
                "fixes": int(p.get("fixes") or 0),
                "duration": duration_text(float(p.get("seconds") or 0)),
            }
            segments.append(
                {"type": "Feature", "id": f"s{i}", "geometry": geometry, "properties": props}
            )
        else:
            accuracy = p.get("accuracy_m")
            props = {
                "time": _clock(p.get("fixed_at")),
                "flags": "、".join(FLAG_LABELS.get(f, _shown(f)) for f in p.get("flags") or []),
                "accuracy": _EMPTY if accuracy is None else f"{float(accuracy):.0f} 米",
                "source": _shown(p.get("source")),
            }
            flagged.append(
                {"type": "Feature", "id": f"f{i}", "geometry": geometry, "properties": props}
            )
    return (
        {"type": "FeatureCollection", "features": segments},
        {"type": "FeatureCollection", "features": flagged},
    )


def _segment_style(feature: dict[str, Any]) -> dict[str, Any]:
    if feature["geometry"]["type"] == "Point":  # a segment of one fix
        return {**_FIX_STYLE, "fillColor": TRACK_COLOUR}
    return dict(_TRACK_STYLE)


def _track_layers(
    segments: dict[str, Any], flagged: dict[str, Any], name: str
) -> list[folium.GeoJson]:
    layers = []
    if segments["features"]:
        layers.append(
            folium.GeoJson(
                segments,
                name=f"{LAYER_NAMES['track']} · {escape(name)}（{len(segments['features'])} 段）",
                style_function=_segment_style,
                marker=folium.CircleMarker(radius=5),
                tooltip=_tooltip(_SEGMENT_TOOLTIP),
            )
        )
    if flagged["features"]:
        layers.append(
            folium.GeoJson(
                flagged,
                name=f"{LAYER_NAMES['flagged']}（{len(flagged['features'])} 个）",
                style_function=lambda f: {**_FIX_STYLE, "fillColor": FLAGGED_COLOUR},
                marker=folium.CircleMarker(radius=4),
                tooltip=_tooltip(_FLAGGED_TOOLTIP),
            )
        )
    return layers


class _QueryPanel(MacroElement):
    """The period / supervisor / track-day form, the period's figures and the notices."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
{{ this.query_css }}
.gg-legend i[style*="border-color: {{ this.never_outline }}"] {border-width: 2px; opacity: 1;}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<form class="gg-query" id="{{ this.get_name() }}" method="get" action="{{ this.action|e }}">
<h2>查询条件</h2>
<label>开始日期 <input type="date" name="from" value="{{ this.start|e }}"></label>
<label>结束日期 <input type="date" name="to" value="{{ this.end|e }}"></label>
<label>监督员 <select name="supervisor"><option value="">全部</option>
{%- for value, text in this.supervisors %}
<option value="{{ value|e }}"{{ " selected" if value == this.supervisor }}>{{ text|e }}</option>
{%- endfor %}</select></label>
<label>轨迹日期 <input type="date" name="track_date" value="{{ this.track_day|e }}"></label>
<button type="submit">查询</button>
"""
        + PANEL_TAIL
    )

    def __init__(
        self,
        *,
        action: str,
        start: str,
        end: str,
        supervisor: str,
        track_day: str,
        supervisors: list[tuple[str, str]],
        figures: list[tuple[str, str]],
        notices: list[str],
    ) -> None:
        super().__init__()
        self.query_css = query_panel_css(width_px=250, field_px=150)
        self._name = "QueryPanel"
        self.action = action
        self.start, self.end = start, end
        self.supervisor, self.track_day = supervisor, track_day
        self.supervisors, self.figures, self.notices = supervisors, figures, notices
        self.never_outline = NEVER_OUTLINE


def _period(data: CoverageMapData) -> str:
    if data.first == data.last:
        return data.first.isoformat()
    return f"{data.first.isoformat()} 至 {data.last.isoformat()}（{data.days} 天）"


def _percent(value: float | None) -> str:
    return _EMPTY if value is None else f"{value:.2f}%"


def _supervisor_label(data: CoverageMapData) -> str:
    names = dict(data.supervisors)
    if data.supervisor is None:
        return "全部"
    return f"{names.get(data.supervisor, data.supervisor)}（{data.supervisor}）"


def _figures(data: CoverageMapData) -> list[tuple[str, str]]:
    """(label, value) rows of the panel's figures of the period."""
    s = data.summary()
    rows = [
        ("统计时段", _period(data)),
        ("监督员", _supervisor_label(data)),
        ("责任网格", f"{s.assigned:,} 个"),
        ("已巡查", f"{s.patrolled:,} 个"),
        ("未巡查", f"{s.never_patrolled:,} 个"),
        ("巡查覆盖率", _percent(s.coverage_rate)),
    ]
    if data.days > 1:
        rows.append(("期内巡查过的网格", _percent(s.patrolled_share)))
    rows.append(("最新定位日期", data.latest_day.isoformat() if data.latest_day else _EMPTY))
    return rows


def _notices(data: CoverageMapData, segments: int, flagged: int) -> list[str]:
    notices = []
    if not data.supervisors:
        notices.append("还没有登记监督员，请先导入监督员及其责任网格。")
    elif not data.visits:
        notices.append("所选时段内没有定岗的网格。")
    if data.latest_day is None:
        notices.append("数据库中还没有定位数据。")
    missing = data.missing_grids
    if missing:
        notices.append(f"{len(missing):,} 个责任网格已不是现行网格，计入统计但未在图上显示。")
    if data.supervisor is None:
        notices.append("选择监督员可查看其巡查轨迹（轨迹日期默认为结束日期）。")
    elif data.track_day is not None and segments == 0 and flagged == 0:
        notices.append(f"{_supervisor_label(data)}在 {data.track_day.isoformat()} 没有定位数据。")
    return notices


def _legend(
    data: CoverageMapData,
    grid_data: dict[str, Any],
    classes: Sequence[VisitClass],
    segments: int,
    flagged: int,
) -> list[_LegendEntry]:
    counts: dict[str, int] = {}
    for feature in grid_data["features"]:
        style = feature["properties"]["style"]
        counts[style] = counts.get(style, 0) + 1
    entries: list[_LegendEntry] = [
        _OutlinedEntry(classes[0].label, ZERO_COLOUR, counts.get("never", 0))
    ]
    entries += [_LegendEntry(c.label, c.colour, counts.get(c.colour, 0)) for c in classes[1:]]
    entries.append(
        _OutlinedEntry(
            "未定岗网格" if data.supervisor is None else "其他网格",
            UNASSIGNED_COLOUR,
            counts.get("unassigned", 0),
            "#9e9e9e",
        )
    )
    if segments:
        entries.append(
            _OutlinedEntry(f"{LAYER_NAMES['track']}（段）", TRACK_COLOUR, segments, TRACK_COLOUR)
        )
    if flagged:
        entries.append(
            _OutlinedEntry(LAYER_NAMES["flagged"], FLAGGED_COLOUR, flagged, FLAGGED_COLOUR)
        )
    return entries


def build_coverage_map(
    data: CoverageMapData,
    *,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
    title: str | None = None,
    action: str = "/maps/coverage",
) -> folium.Map:
    """Build the coverage page: grids by days patrolled, never-patrolled outlined, one track.

    Parameters
    ----------
    data
        What :func:`geogrid.patrol.mapdata.coverage_map_data` read: the period, the grids
        with their visits (GeoJSON, EPSG:4326), street outlines, supervisors, and the chosen
        supervisor's track of a day.
    basemap_url, basemap_attribution
        XYZ tile URL template and its attribution; None for no tile layer (as
        :func:`maps.grids.base_map`).
    asset_base
        URL at which the app serves ``maps/static``.
    title
        District name, shown as "巡查覆盖图 · <title>".
    action
        URL the query form is sent to (the page itself).

    Returns
    -------
    folium.Map
        The page; ``m.get_root().render()`` gives the HTML.

    Raises
    ------
    ValueError
        If a grid, street or track feature has no geometry (the message names it).
    """
    heading = f"巡查覆盖图 · {title}" if title else "巡查覆盖图"
    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    classes = visit_classes(data.days)
    grid_data = _grid_features(data, classes)
    streets = _outline_features(data.streets, "street")
    segments, flagged = _track_features(data.track)
    _grid_layer(grid_data).add_to(m)
    _street_layer(streets).add_to(m)
    walker = dict(data.supervisors).get(data.supervisor or "", data.supervisor or "")
    for layer in _track_layers(segments, flagged, walker):
        layer.add_to(m)
    s = data.summary()
    n_segments, n_flagged = len(segments["features"]), len(flagged["features"])
    _PageFrame(
        heading=heading,
        summary=f"{_period(data)} · 责任网格 {s.assigned:,} 个 · 巡查覆盖率 "
        f"{_percent(s.coverage_rate)}",
        legend_title="图例 · 巡查天数",
        entries=_legend(data, grid_data, classes, n_segments, n_flagged),
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    _QueryPanel(
        action=action,
        start=data.first.isoformat(),
        end=data.last.isoformat(),
        supervisor=data.supervisor or "",
        track_day=data.track_day.isoformat() if data.track_day else "",
        supervisors=[(sid, f"{name}（{sid}）") for sid, name in data.supervisors],
        figures=_figures(data),
        notices=_notices(data, n_segments, n_flagged),
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    bounds = _bounds(grid_data, segments, flagged) or _bounds(streets)
    if bounds:
        # the query panel covers the right 280 px: fit the data into the rest
        m.fit_bounds(bounds, padding_top_left=(20, 20), padding_bottom_right=(290, 20), max_zoom=18)
    localise_assets(m, asset_base)
    return m
