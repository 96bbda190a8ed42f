"""Map page of the component inventory (管理部件, DOMAIN.md §2), coloured by major class.

Pure: a :class:`geogrid.components.stats.ComponentMapData` and the catalogue in, ``folium.Map``
out; no database, no HTTP. Layers, bottom to top: street outlines with their names, polygon
components (绿地 …), line components (护栏 …) and point components as clustered markers (a city
holds hundreds of thousands, so markers cluster below zoom 18). Every component is coloured by
its major class (01 市政公用设施 … 05 其他管理部件) and opens a popup of its attributes. A form
on the page asks for another major class, subclass, status or street (a GET to the page
itself), so the page works with no script of its own and no CDN.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from html import escape
from typing import Any, Final

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster, Fullscreen
from folium.template import Template

from geogrid.catalogue import Catalogue
from geogrid.components.rules import STATUSES
from geogrid.components.stats import ComponentMapData
from maps.assets import localise_assets
from maps.grids import (
    NO_BASEMAP_BACKGROUND,
    _bounds,
    _darker,
    _LegendEntry,
    _outline_features,
    _PageFrame,
    _street_layer,
    base_map,
)
from maps.panels import PANEL_SCRIPT, query_panel_css

MAJOR_COLOURS: Final[dict[str, str]] = {
    "01": "#1565c0",
    "02": "#ef6c00",
    "03": "#8e24aa",
    "04": "#2e7d32",
    "05": "#6d4c41",
}
"""Colour of each major class: blue municipal, orange traffic, purple sanitation, green
landscaping, brown other (DOMAIN.md §2)."""

OTHER_COLOUR: Final = "#546e7a"
"""Colour of a major class the palette does not know (a district's own)."""

LAYER_NAMES: Final = {"points": "点状部件", "lines": "线状部件", "areas": "面状部件"}
CLUSTER_UNTIL_ZOOM: Final = 18
"""From this zoom on every marker is drawn on its own."""

POPUP_LABELS: Final = (
    ("code", "部件编码"),
    ("sub_class", "小类"),
    ("name", "名称"),
    ("department", "主管部门"),
    ("owner", "权属单位"),
    ("maintainer", "养护单位"),
    ("status", "状态"),
    ("installed", "安装日期"),
)
"""Popup rows: (property of the drawn feature, Chinese label)."""

_LINE_STYLE: Final = {"weight": 4, "opacity": 0.9, "fillOpacity": 0}
_AREA_STYLE: Final = {"weight": 1.5, "opacity": 0.9, "fillOpacity": 0.35}
_HIGHLIGHT: Final = {"weight": 6, "fillOpacity": 0.6}
_EMPTY: Final = "—"

_MARKER_CALLBACK: Final = """(function () {
    var texts = %s;
    var labels = %s;
    return function (row) {
        var icon = L.divIcon({className: "gg-comp gg-comp-" + row[2], iconSize: [12, 12]});
        var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon});
        marker.bindPopup(function () {
            var html = "<table class=\\"gg-popup\\">";
            for (var i = 0; i < labels.length; i++) {
                var value = i === 0 ? row[3] : i === 7 ? row[10] : texts[row[3 + i]];
                html += "<tr><th>" + labels[i] + "</th><td>" + value + "</td></tr>";
            }
            return html + "</table>";
        });
        return marker;
    };
})()"""
"""Builds one marker from ``[lat, lon, major, code, sub, name, department, owner, maintainer,
status, installed]``; the texts between code and installed are indices into ``texts`` (the
page repeats few distinct ones), every text already HTML-escaped in Python."""


class _FilterPanel(MacroElement):
    """The major class / subclass / status / street form and the page's notices."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
{{ this.query_css }}
.gg-comp {border-radius: 50%; border: 2px solid #fff; box-shadow: 0 0 2px rgba(0, 0, 0, .6);
  background: {{ this.other_colour }};}
{%- for major, colour in this.colours.items() %}
.gg-comp-{{ major }} {background: {{ colour }};}
{%- endfor %}
.gg-popup th {padding-right: 8px; color: #546e7a; font-weight: 600; white-space: nowrap;}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<form class="gg-query" id="{{ this.get_name() }}" method="get" action="{{ this.action|e }}">
<h2>部件筛选</h2>
{%- for name, label, options in this.selects %}
<label>{{ label|e }} <select name="{{ name }}"><option value="">全部</option>
{%- for value, text in options %}
<option value="{{ value|e }}"
{{- " selected" if value == this.chosen.get(name) }}>{{ text|e }}</option>
{%- endfor %}</select></label>
{%- endfor %}
{%- for name, value in this.hidden %}
<input type="hidden" name="{{ name|e }}" value="{{ value|e }}">
{%- endfor %}
<button type="submit">查询</button>
<p>{{ this.count|e }}</p>
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
        selects: list[tuple[str, str, list[tuple[str, str]]]],
        chosen: Mapping[str, str],
        hidden: list[tuple[str, str]],
        count: str,
        notices: list[str],
    ) -> None:
        super().__init__()
        self.query_css = query_panel_css(width_px=260, field_px=170)
        self._name = "FilterPanel"
        self.action = action
        self.selects, self.chosen, self.hidden = selects, dict(chosen), hidden
        self.count, self.notices = count, notices
        self.colours, self.other_colour = MAJOR_COLOURS, OTHER_COLOUR


class _Texts:
    """Distinct texts of the markers, each stored once in the page; rows hold indices."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def json(self) -> str:
        return json.dumps(list(self.index))


def major_colour(major_class: str) -> str:
    """The colour of a 2-digit major class (:data:`MAJOR_COLOURS`, else :data:`OTHER_COLOUR`)."""
    return MAJOR_COLOURS.get(major_class, OTHER_COLOUR)


def _shown(value: Any) -> str:
    """A property as escaped popup text; missing values as a dash."""
    return _EMPTY if value is None or value == "" else escape(str(value))


def _sub_class_label(code: str, catalogue: Catalogue) -> str:
    name = catalogue.name("component", code)
    return code if name == code else f"{code} {name}"


def _popup_values(props: Mapping[str, Any], catalogue: Catalogue) -> dict[str, str]:
    """The popup texts of one component, HTML-escaped (folium's popups insert them as HTML)."""
    return {
        "code": _shown(props.get("code")),
        "sub_class": _shown(_sub_class_label(str(props.get("sub_class", "")), catalogue)),
        "name": _shown(props.get("name")),
        "department": _shown(props.get("department")),
        "owner": _shown(props.get("owner")),
        "maintainer": _shown(props.get("maintainer")),
        "status": _shown(props.get("status_name") or STATUSES.get(str(props.get("status")))),
        "installed": _shown(props.get("install_date")),
    }


def _points(coordinates: Any, kind: str) -> Iterator[tuple[float, float]]:
    """(lat, lon) of a Point or of each part of a MultiPoint."""
    parts = [coordinates] if kind == "Point" else coordinates
    for lon, lat, *_ in parts:
        yield round(float(lat), 7), round(float(lon), 7)


def _split(
    data: ComponentMapData, catalogue: Catalogue
) -> tuple[list[list[Any]], _Texts, dict[str, Any], dict[str, Any]]:
    """Marker rows (and their texts), line features and area features of the page."""
    texts = _Texts()
    rows: list[list[Any]] = []
    lines: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    for feature in data.components["features"]:
        geometry, props = feature["geometry"], feature["properties"]
        major = str(props.get("major_class", ""))
        shown = _popup_values(props, catalogue)
        kind = geometry["type"]
        if kind in ("Point", "MultiPoint"):
            cells = [texts(shown[key]) for key, _ in POPUP_LABELS[1:-1]]
            for lat, lon in _points(geometry["coordinates"], kind):
                rows.append([lat, lon, major, shown["code"], *cells, shown["installed"]])
            continue
        drawn = {"type": "Feature", "geometry": geometry, "properties": {**shown, "major": major}}
        (lines if "LineString" in kind else areas).append(drawn)
    return (
        rows,
        texts,
        {"type": "FeatureCollection", "features": lines},
        {"type": "FeatureCollection", "features": areas},
    )


def _style(base: Mapping[str, Any]) -> Any:
    """Lines in their class's colour; areas filled with it and outlined a shade darker."""
    filled = base.get("fillOpacity", 0) > 0

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = major_colour(feature["properties"]["major"])
        outline = _darker(colour, 0.8) if filled else colour
        return {**base, "color": outline, "fillColor": colour}

    return style


def _shape_layer(collection: dict[str, Any], name: str, base: Mapping[str, Any]) -> folium.GeoJson:
    keys, labels = zip(*POPUP_LABELS, strict=True)
    return folium.GeoJson(
        collection,
        name=f"{name}（{len(collection['features']):,} 个）",
        style_function=_style(base),
        highlight_function=lambda f: _HIGHLIGHT,
        popup=folium.GeoJsonPopup(fields=list(keys), aliases=list(labels), labels=True),
    )


def _marker_layer(rows: list[list[Any]], texts: _Texts) -> FastMarkerCluster:
    labels = json.dumps([label for _, label in POPUP_LABELS])
    return FastMarkerCluster(
        rows,
        callback=_MARKER_CALLBACK % (texts.json(), labels),
        name=f"{LAYER_NAMES['points']}（{len(rows):,} 个）",
        disableClusteringAtZoom=CLUSTER_UNTIL_ZOOM,
        chunkedLoading=True,
    )


def _majors(data: ComponentMapData, catalogue: Catalogue) -> dict[str, str]:
    """Major class → name: the catalogue's, and any other the data holds (named by code)."""
    majors = catalogue.majors("component")
    for code in data.major_classes:
        majors.setdefault(code, code)
    return dict(sorted(majors.items()))


def _selects(
    data: ComponentMapData, catalogue: Catalogue, majors: Mapping[str, str]
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The form's selectors: (query parameter, label, [(value, text)])."""
    sub_classes = [
        (code, f"{_sub_class_label(code, catalogue)}（{n:,}）") for code, n in data.sub_classes
    ]
    chosen = data.filters.get("sub_class")
    if chosen and all(code != chosen for code, _ in sub_classes):
        sub_classes.insert(0, (chosen, _sub_class_label(chosen, catalogue)))
    streets = sorted(
        (str(f["properties"]["code"]), str(f["properties"].get("name") or f["properties"]["code"]))
        for f in data.streets["features"]
    )
    return [
        ("class", "大类", [(code, f"{code} {name}") for code, name in majors.items()]),
        ("sub_class", "小类", sub_classes),
        ("status", "状态", list(STATUSES.items())),
        ("street", "街道", streets),
    ]


def _notices(data: ComponentMapData) -> list[str]:
    if data.matched == 0:
        return [
            "没有符合条件的部件。" if data.filters else "数据库中还没有部件，请先导入部件普查数据。"
        ]
    if data.matched > data.shown:
        return [f"部件过多，仅显示前 {data.shown:,} 个，请按街道或小类筛选。"]
    return []


def build_components_map(
    data: ComponentMapData,
    catalogue: Catalogue,
    *,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
    title: str | None = None,
    action: str = "/maps/components",
) -> folium.Map:
    """Build the component page: components by major class, street outlines, a filter form.

    Parameters
    ----------
    data
        What :func:`geogrid.components.stats.component_map_data` read: the components drawn
        (GeoJSON, EPSG:4326), how many match, counts per major class, subclasses, streets.
    catalogue
        Names of major classes and subclasses (legend, popups, the subclass selector).
    basemap_url, basemap_attribution
        XYZ tile URL template and its attribution; None for no tile layer (as
        :func:`maps.grids.base_map`).
    asset_base
        URL at which the app serves ``maps/static``.
    title
        District name, shown as "管理部件 · <title>".
    action
        URL the filter form is sent to (the page itself).

    Returns
    -------
    folium.Map
        The page; ``m.get_root().render()`` gives the HTML.
    """
    heading = f"管理部件 · {title}" if title else "管理部件"
    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    streets = _outline_features(data.streets, "street")
    _street_layer(streets).add_to(m)
    rows, texts, lines, areas = _split(data, catalogue)
    if areas["features"]:
        _shape_layer(areas, LAYER_NAMES["areas"], _AREA_STYLE).add_to(m)
    if lines["features"]:
        _shape_layer(lines, LAYER_NAMES["lines"], _LINE_STYLE).add_to(m)
    if rows:
        _marker_layer(rows, texts).add_to(m)
    majors = _majors(data, catalogue)
    count = f"显示 {data.shown:,} 个部件" + (
        f"（共 {data.matched:,} 个）" if data.matched > data.shown else ""
    )
    _PageFrame(
        heading=heading,
        summary=count,
        legend_title="图例 · 部件大类",
        entries=[
            _LegendEntry(name, major_colour(code), data.major_classes.get(code, 0))
            for code, name in majors.items()
        ],
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    shown_filters = {"class", "sub_class", "status", "street"}
    _FilterPanel(
        action=action,
        selects=_selects(data, catalogue, majors),
        chosen=data.filters,
        hidden=[(k, v) for k, v in sorted(data.filters.items()) if k not in shown_filters],
        count=count,
        notices=_notices(data),
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if data.bounds is not None:
        west, south, east, north = data.bounds
        m.fit_bounds([[south, west], [north, east]], padding=(20, 20), max_zoom=18)
    elif (bounds := _bounds(streets)) is not None:
        m.fit_bounds(bounds, padding=(20, 20))
    localise_assets(m, asset_base)
    return m
