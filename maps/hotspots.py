"""Map page of case hotspots (案件热点分析): Gi* classes of the grids, case heat and markers.

Pure: a :class:`geogrid.hotspots.HotspotPage` in, ``folium.Map`` out; no database, no HTTP.
Layers, bottom to top: the grids filled by Gi* class (DOMAIN.md §4; red hot, blue cold, grey
not significant), a heat layer of the cases (aggregated cells), the most recent cases as
clustered markers. A form on the page asks for another period, subclass or source (a GET to
the page itself), so the page works with no script of its own and no CDN.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any, Final

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster, Fullscreen, HeatMap
from folium.template import Template

from geogrid.cases.columns import SOURCES
from geogrid.cases.status import STAGE_LABELS
from geogrid.hotspots import CLASS_LABELS, CLASSES, HotspotPage
from maps.assets import localise_assets
from maps.grids import (
    GRID_FILL_OPACITY,
    NO_BASEMAP_BACKGROUND,
    _LegendEntry,
    _PageFrame,
    base_map,
)
from maps.panels import PANEL_SCRIPT, query_panel_css

CLASS_COLOURS: Final[dict[str, str]] = {
    "hot_99": "#b2182b",
    "hot_95": "#d6604d",
    "hot_90": "#f4a582",
    "not_significant": "#d9d9d9",
    "cold_90": "#92c5de",
    "cold_95": "#4393c3",
    "cold_99": "#2166ac",
}
"""Fill of each Gi* class: ColorBrewer RdBu shades (hot red, cold blue), grey not significant."""

LAYER_NAMES: Final = {"grids": "热点分析（Gi*）", "heat": "案件热力", "cases": "案件标注"}
_TOOLTIP_FIELDS: Final = ("code", "cases", "z", "p", "label")
_TOOLTIP_ALIASES: Final = ("网格编码", "案件数", "z 值", "p 值", "类别")
_GRID_STYLE: Final = {"weight": 0.6, "opacity": 0.9, "fillOpacity": GRID_FILL_OPACITY}
_GRID_HIGHLIGHT: Final = {"color": "#212121", "weight": 2.5, "fillOpacity": 0.8}
_HEAT_OPTIONS: Final = {"radius": 14, "blur": 12, "min_opacity": 0.35, "max_zoom": 17}

_NOTES_ZH: Final = {
    "constant_values": (
        "所选时段内各网格案件数相同（例如没有案件），Gi* 无法计算，所有网格均为不显著。"
    ),
    "too_few_grids": "网格少于 3 个，无法计算 Gi*。",
    "islands": "{count} 个网格没有相邻网格，按不显著处理（z、p 值为空）。",
    "undefined": "{count} 个网格的邻域包含全部网格，Gi* 无法计算，按不显著处理。",
    "k_lowered": "网格数量较少，近邻数 k 降为 {count}。",
}

_MARKER_CALLBACK: Final = """function (row) {
    var icon = L.divIcon({className: "gg-case gg-case-" + row[7], iconSize: [12, 12]});
    var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon});
    marker.bindPopup("<table class=\\"gg-popup\\">"
        + "<tr><th>案卷号</th><td>" + row[2] + "</td></tr>"
        + "<tr><th>小类</th><td>" + row[3] + "</td></tr>"
        + "<tr><th>状态</th><td>" + row[4] + "</td></tr>"
        + "<tr><th>立案时间</th><td>" + row[5] + "</td></tr>"
        + "<tr><th>结案时间</th><td>" + row[6] + "</td></tr></table>");
    return marker;
}"""
"""Builds one case marker from ``[lat, lon, 案卷号, 小类, 状态, 立案, 结案, open|closed]``
(texts already HTML-escaped in Python)."""


class _QueryPanel(MacroElement):
    """The period / subclass / source form and the page's notices, as a Leaflet control."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
{{ this.query_css }}
.gg-case {border-radius: 50%; border: 2px solid #fff; box-shadow: 0 0 2px rgba(0, 0, 0, .6);}
.gg-case-open {background: #e65100;}
.gg-case-closed {background: #2e7d32;}
.gg-popup th {padding-right: 8px; color: #546e7a; font-weight: 600; white-space: nowrap;}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<form class="gg-query" id="{{ this.get_name() }}" method="get" action="{{ this.action|e }}">
<h2>查询条件</h2>
<label>开始日期 <input type="date" name="from" value="{{ this.start|e }}"></label>
<label>结束日期 <input type="date" name="to" value="{{ this.end|e }}"></label>
<label>小类 <select name="sub_class"><option value="">全部</option>
{%- for value, text in this.sub_classes %}
<option value="{{ value|e }}"{{ " selected" if value == this.sub_class }}>{{ text|e }}</option>
{%- endfor %}</select></label>
<label>来源 <select name="source"><option value="">全部</option>
{%- for value, text in this.sources %}
<option value="{{ value|e }}"{{ " selected" if value == this.source }}>{{ text|e }}</option>
{%- endfor %}</select></label>
<button type="submit">查询</button>
{%- if this.notices %}
<ul>{% for notice in this.notices %}<li>{{ notice|e }}</li>{% endfor %}</ul>
{%- endif %}
</form>
{% endmacro %}
"""
        + PANEL_SCRIPT
    )

    def __init__(
        self,
        *,
        action: str,
        start: str,
        end: str,
        sub_class: str,
        source: str,
        sub_classes: list[tuple[str, str]],
        sources: list[tuple[str, str]],
        notices: list[str],
    ) -> None:
        super().__init__()
        self.query_css = query_panel_css(width_px=250, field_px=150)
        self._name = "QueryPanel"
        self.action = action
        self.start, self.end = start, end
        self.sub_class, self.source = sub_class, source
        self.sub_classes, self.sources = sub_classes, sources
        self.notices = notices


def _number(value: Any, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def _grid_data(hotspots: Mapping[str, Any]) -> dict[str, Any]:
    """The grids with only what the page shows, tooltip values already as text."""
    features = []
    for feature in hotspots["features"]:
        props = feature["properties"]
        features.append(
            {
                "type": "Feature",
                "id": props["code"],
                "geometry": feature["geometry"],
                "properties": {
                    "code": props["code"],
                    "cases": props["cases"],
                    "z": _number(props["z"], 4),
                    "p": _number(props["p"], 3),
                    "label": props["label"],
                    "class": props["class"],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _grid_layer(hotspots: Mapping[str, Any]) -> folium.GeoJson:
    data = _grid_data(hotspots)
    return folium.GeoJson(
        data,
        name=LAYER_NAMES["grids"],
        style_function=lambda f: {
            **_GRID_STYLE,
            "fillColor": CLASS_COLOURS[f["properties"]["class"]],
            "color": "#78909c" if f["properties"]["class"] == "not_significant" else "#ffffff",
        },
        highlight_function=lambda f: _GRID_HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(
            fields=list(_TOOLTIP_FIELDS), aliases=list(_TOOLTIP_ALIASES), sticky=True
        )
        if data["features"]  # folium refuses a tooltip over no features
        else None,
    )


def _marker_rows(page: HotspotPage) -> list[list[Any]]:
    assert page.markers is not None
    rows = []
    for case in page.markers.points:
        sub_class = page.sub_class_name(case.sub_class)
        shown = case.sub_class if sub_class == case.sub_class else f"{case.sub_class} {sub_class}"
        rows.append(
            [
                case.lat,
                case.lon,
                escape(case.case_id),
                escape(shown),
                escape(STAGE_LABELS.get(case.stage, case.stage)),
                escape(case.registered),
                escape(case.closed or "—"),
                "closed" if case.stage == "closed" else "open",
            ]
        )
    return rows


def _sub_class_options(page: HotspotPage) -> list[tuple[str, str]]:
    """(code, "code name（cases）") of the period's subclasses, the selected one always listed."""
    listed = list(page.sub_classes)
    chosen = page.cases.sub_class if page.cases else None
    if chosen and all(code != chosen for code, _, _ in listed):
        listed.insert(0, (chosen, chosen, 0))
    return [
        (code, f"{code} {name}（{n:,}）" if name != code else f"{code}（{n:,}）")
        for code, name, n in listed
    ]


def _notices(page: HotspotPage) -> list[str]:
    if page.hotspots is None:
        return ["数据库中还没有案件，无法进行热点分析。请先导入案件。"]
    notices = []
    if page.markers is not None and page.markers.total > len(page.markers.points):
        notices.append(
            f"案件标注显示最近 {len(page.markers.points):,} 件（共 {page.markers.total:,} 件）。"
        )
    if page.heat is not None and page.heat.cell_m > 25:
        notices.append(f"热力图按约 {page.heat.cell_m:g} 米格汇总。")
    unassigned = int(page.hotspots.get("unassigned", 0))
    if unassigned:
        notices.append(f"{unassigned:,} 件案件不在任何现行网格内，未计入热点分析。")
    for note in page.hotspots.get("notes", []):
        text = _NOTES_ZH.get(note["code"])
        notices.append(text.format(count=note.get("count", 0)) if text else note["message"])
    return notices


def build_hotspots_map(
    page: HotspotPage,
    *,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
    title: str | None = None,
    action: str = "/maps/hotspots",
) -> folium.Map:
    """Build the hotspot page: Gi* classes of the grids, case heat, case markers, a query form.

    Parameters
    ----------
    page
        What :func:`geogrid.hotspots.hotspot_page` read: period, Gi* GeoJSON (EPSG:4326),
        heat cells, the most recent cases, the subclasses of the period.
    basemap_url, basemap_attribution
        XYZ tile URL template and its attribution; None for no tile layer (as
        :func:`maps.grids.base_map`).
    asset_base
        URL at which the app serves ``maps/static``.
    title
        District name, shown as "案件热点分析 · <title>".
    action
        URL the query form is sent to (the page itself).

    Returns
    -------
    folium.Map
        The page; ``m.get_root().render()`` gives the HTML.
    """
    heading = f"案件热点分析 · {title}" if title else "案件热点分析"
    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    summary = "暂无案件"
    counts = dict.fromkeys(CLASSES, 0)
    if page.hotspots is not None and page.cases is not None:
        counts = {c: int(page.hotspots["summary"].get(c, 0)) for c in CLASSES}
        total = sum(int(f["properties"]["cases"] or 0) for f in page.hotspots["features"])
        summary = (
            f"{page.cases.start.isoformat()} 至 {page.cases.end.isoformat()} · "
            f"案件 {total:,} 件 · 网格 {len(page.hotspots['features']):,} 个"
        )
        _grid_layer(page.hotspots).add_to(m)
    if page.heat is not None and page.heat.points:
        HeatMap(page.heat.points, name=LAYER_NAMES["heat"], show=False, **_HEAT_OPTIONS).add_to(m)
    if page.markers is not None and page.markers.points:
        FastMarkerCluster(
            _marker_rows(page),
            callback=_MARKER_CALLBACK,
            name=f"{LAYER_NAMES['cases']}（最近 {len(page.markers.points):,} 件）",
        ).add_to(m)
    _PageFrame(
        heading=heading,
        summary=summary,
        legend_title="图例 · Gi* 热点分析",
        entries=[_LegendEntry(CLASS_LABELS[c], CLASS_COLOURS[c], counts[c]) for c in CLASSES],
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    cases = page.cases
    _QueryPanel(
        action=action,
        start=cases.start.isoformat() if cases else "",
        end=cases.end.isoformat() if cases else "",
        sub_class=(cases.sub_class or "") if cases else "",
        source=(cases.source or "") if cases else "",
        sub_classes=_sub_class_options(page),
        sources=list(SOURCES.items()),
        notices=_notices(page),
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if page.bounds is not None:
        west, south, east, north = page.bounds
        m.fit_bounds([[south, west], [north, east]], padding=(20, 20))
    localise_assets(m, asset_base)
    return m
