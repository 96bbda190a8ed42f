"""Map page of satellite patches (图斑核查图, DOMAIN.md §6): patches coloured by verdict.

Pure: a :class:`geogrid.satellite.mapdata.PatchMapData` in, ``folium.Map`` out; no database,
no HTTP. Layers, bottom to top: the batch's images as XYZ raster tiles served by the app
(处置前影像 / 处置后影像, and 变化前影像 when registered; the after image shown first, the
others a click away in the layer control; tiles asked only inside each image's footprint and
up to the zoom of its pixels), the street outlines with their names, then the patches filled
by verdict. A patch's popup shows its image chips (``/patches/{id}/chips.png``, when an image
covers it) and the figures of its verification. A form on the page asks for another batch
and shows the batch's figures and the score of the satellite indicator (a GET to the page
itself), so the page works with no script of its own and no CDN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final
from urllib.parse import quote

import folium
from branca.element import MacroElement
from folium.plugins import Fullscreen
from folium.template import Template

from geogrid.satellite.mapdata import ImageryLayer, PatchMapData
from geogrid.satellite.rules import CHANGE_TYPES, HANDLING_STATES
from maps.assets import localise_assets
from maps.grids import (
    MAX_ZOOM,
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

VERDICT_COLOURS: Final[dict[str, str]] = {
    "verified": "#2e7d32",
    "field_verified": "#1e88e5",
    "not_verified": "#d32f2f",
    "documents_only": "#f57c00",
    "inconclusive": "#757575",
    "unchecked": "#8e24aa",
}
"""Fill of a patch by verdict: green verified, blue field evidence only, red change still
there, orange closed by documents only, grey inconclusive, purple never checked."""

VERDICT_LABELS: Final[dict[str, str]] = {
    "verified": "已核实",
    "field_verified": "现场核实",
    "not_verified": "未整改",
    "documents_only": "材料结案",
    "inconclusive": "无法判定",
    "unchecked": "未核查",
}
VERDICT_REASONS: Final[dict[str, str]] = {
    "verified": "处置后影像显示变化已消除",
    "field_verified": "有现场照片或巡查轨迹佐证，待下期影像核实",
    "not_verified": "处置后影像显示变化仍在",
    "documents_only": "仅上传材料结案，无现场或影像佐证",
    "inconclusive": "影像无效（云、无数据或无处置后影像）且无现场佐证",
    "unchecked": "尚未核查",
}
IMAGE_LAYER_NAMES: Final[dict[str, str]] = {
    "reference": "变化前影像",
    "before": "处置前影像",
    "after": "处置后影像",
}
LAYER_NAMES: Final = {"patches": "图斑"}
PATCH_FILL_OPACITY: Final = 0.45
MIN_ZOOM_BELOW_NATIVE: Final = 7
"""Imagery tiles are asked from this many zooms below the image's own (overviews)."""

_PATCH_STYLE: Final = {"weight": 2.5, "opacity": 1.0, "fillOpacity": PATCH_FILL_OPACITY}
_HIGHLIGHT: Final = {"weight": 4, "fillOpacity": 0.75}
_TOOLTIP: Final = (("code", "图斑编号"), ("kind", "变化类型"), ("verdict", "核查结论"))
_EMPTY: Final = "—"


def verdict_key(verdict: str | None) -> str:
    """The legend key of a stored verdict (``unchecked`` for none)."""
    return verdict if verdict in VERDICT_COLOURS else "unchecked"


def _shown(value: Any) -> str:
    return _EMPTY if value is None or value == "" else escape(str(value))


def _share(value: Any) -> str:
    return _EMPTY if value is None else f"{float(value) * 100:.0f}%"


def _moment(value: str | None) -> str:
    """``YYYY-MM-DD HH:MM`` of an ISO time."""
    return value[:16].replace("T", " ") if value else _EMPTY


def _area(value: Any) -> str:
    return _EMPTY if value is None else f"{float(value):,.1f} m²"


def _image_rows(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("处置前影像有效像元", _share(figures.get("before_valid_share"))),
        ("处置后影像有效像元", _share(figures.get("after_valid_share"))),
    ]
    measures = (
        ("bare_soil_drop", "裸土指数下降"),
        ("ndvi_rise", "NDVI 上升"),
        ("relative_change", "波段均值相对变化"),
        ("reversion", "向变化前影像恢复程度"),
    )
    for key, label in measures:
        if figures.get(key) is not None:
            rows.append((label, f"{float(figures[key]):.3f}"))
    return rows


def popup_html(props: Mapping[str, Any], *, api_base: str = "") -> str:
    """The popup of one patch: heading, image chips (when imaged) and a table of figures.

    Every text is escaped here: folium's popups insert property values as HTML.
    """
    key = verdict_key(props.get("verdict"))
    figures = props.get("figures") or {}
    kind = CHANGE_TYPES.get(str(props.get("change_type")), _EMPTY)
    rows = [
        ("核查结论", f'<b style="color: {VERDICT_COLOURS[key]}">{VERDICT_LABELS[key]}</b>'),
        ("判定依据", VERDICT_REASONS[key]),
        ("处置方式", HANDLING_STATES.get(str(props.get("handling_state")), _EMPTY)),
        ("面积", _area(props.get("area_m2"))),
        ("街道", _shown(props.get("street_name"))),
        ("网格", _shown(props.get("grid_code"))),
        ("责任部门", _shown(props.get("department"))),
        ("处置期限", _moment(props.get("due_at"))),
        ("结案时间", _moment(props.get("closed_at"))),
        ("是否超期", "是" if props.get("overdue") else "否"),
    ]
    if figures:
        rows += _image_rows(figures)
        rows.append(("期内现场照片", f"{int(figures.get('photos_near') or 0)} 张"))
        rows.append(("期内巡查定位点", f"{int(figures.get('fixes_near') or 0)} 个"))
    table = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    chips = ""
    if props.get("imaged"):
        src = f"{api_base}/patches/{int(props['id'])}/chips.png"
        chips = (
            f'<img class="gg-chips" src="{src}" alt="图斑影像切片" loading="lazy">'
            '<p class="gg-chips-note">影像切片（自左至右）：变化前（如有）、处置前、处置后</p>'
        )
    heading = f"图斑 {_shown(props.get('patch_code'))} · {escape(kind)}"
    return f'<div class="gg-patch"><h3>{heading}</h3>{chips}<table>{table}</table></div>'


def _patch_features(data: PatchMapData, api_base: str) -> dict[str, Any]:
    drawn = []
    for feature in data.patches["features"]:
        p = feature["properties"]
        key = verdict_key(p.get("verdict"))
        props = {
            "code": _shown(p.get("patch_code")),
            "kind": escape(CHANGE_TYPES.get(str(p.get("change_type")), _EMPTY)),
            "verdict": VERDICT_LABELS[key],
            "key": key,
            "popup": popup_html(p, api_base=api_base),
        }
        geometry = _compact_geometry(feature.get("geometry"), f"patch {p.get('patch_code')}")
        drawn.append(
            {"type": "Feature", "id": str(p["id"]), "geometry": geometry, "properties": props}
        )
    return {"type": "FeatureCollection", "features": drawn}


def _patch_style(feature: dict[str, Any]) -> dict[str, Any]:
    colour = VERDICT_COLOURS[feature["properties"]["key"]]
    return {**_PATCH_STYLE, "color": _darker(colour, 0.75), "fillColor": colour}


def _patch_layer(patches: dict[str, Any]) -> folium.GeoJson:
    keys, labels = zip(*_TOOLTIP, strict=True)
    features = patches["features"]
    return folium.GeoJson(
        patches,
        name=f"{LAYER_NAMES['patches']}（{len(features):,} 个）",
        style_function=_patch_style,
        highlight_function=lambda f: _HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(fields=list(keys), aliases=list(labels), sticky=True)
        if features
        else None,
        popup=folium.GeoJsonPopup(
            fields=["popup"], labels=False, localize=False, max_width=560, min_width=320
        )
        if features
        else None,
    )


def tile_url(batch_id: str, role: str, *, api_base: str = "") -> str:
    """The XYZ URL template of the tiles of a batch's ``role`` image served by the app."""
    return f"{api_base}/patch-batches/{quote(batch_id)}/imagery/{role}/tiles/{{z}}/{{x}}/{{y}}.png"


def _imagery_layers(
    batch_id: str, imagery: Sequence[ImageryLayer], api_base: str
) -> list[folium.TileLayer]:
    roles = {layer.role for layer in imagery}
    shown = "after" if "after" in roles else "before"
    order = {"reference": 0, "before": 1, "after": 2}
    layers = []
    for layer in sorted(imagery, key=lambda i: order.get(i.role, 3)):
        name = IMAGE_LAYER_NAMES.get(layer.role, layer.role)
        dated = f"{name}（{layer.acquired_on}）" if layer.acquired_on else name
        native = min(layer.native_zoom, MAX_ZOOM)
        layers.append(
            folium.TileLayer(
                tiles=tile_url(batch_id, layer.role, api_base=api_base),
                attr=f"{dated}，{layer.pixel_m:g} 米分辨率",
                name=dated,
                overlay=True,
                show=layer.role == shown,
                min_zoom=max(0, native - MIN_ZOOM_BELOW_NATIVE),
                max_zoom=MAX_ZOOM,
                max_native_zoom=native,
                bounds=layer.bounds,
            )
        )
    return layers


class _BatchPanel(MacroElement):
    """The batch form, the batch's figures and score, and the notices."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
{{ this.query_css }}
.gg-patch h3 {margin: 0 0 6px; font-size: 14px; font-weight: 600; color: #0d3c74;}
.gg-patch img.gg-chips {display: block; width: 100%; min-height: 60px; background: #eceff1;}
.gg-patch p.gg-chips-note {margin: 2px 0 6px; color: #78909c; font-size: 12px;}
.gg-patch table {border-collapse: collapse; font-size: 12px; width: 100%;}
.gg-patch th {text-align: left; font-weight: 400; color: #546e7a; padding: 0 10px 0 0;
  white-space: nowrap; vertical-align: top;}
.gg-patch td {color: #263238;}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<form class="gg-query" id="{{ this.get_name() }}" method="get" action="{{ this.action|e }}">
<h2>图斑批次</h2>
<label>批次 <select name="batch">
{%- for value, text in this.batches %}
<option value="{{ value|e }}"{{ " selected" if value == this.batch }}>{{ text|e }}</option>
{%- endfor %}</select></label>
<button type="submit">查询</button>
"""
        + PANEL_TAIL
    )

    def __init__(
        self,
        *,
        action: str,
        batch: str,
        batches: list[tuple[str, str]],
        figures: list[tuple[str, str]],
        notices: list[str],
    ) -> None:
        super().__init__()
        self.query_css = query_panel_css(width_px=250, field_px=150)
        self._name = "BatchPanel"
        self.action, self.batch, self.batches = action, batch, batches
        self.figures, self.notices = figures, notices


def _figures(data: PatchMapData) -> list[tuple[str, str]]:
    if data.scores is None:
        return []
    d = data.scores["district"]
    share = d["documents_share"]
    return [
        ("图斑数", f"{d['patches']:,} 个"),
        ("应处置", f"{d['due']:,} 个"),
        ("实地处置", f"{d['on_site']:,} 个"),
        ("材料结案", f"{d['documents']:,} 个"),
        ("未处置", f"{d['pending']:,} 个"),
        ("超期", f"{d['overdue']:,} 个"),
        ("扬尘源实际覆盖", f"{d['dust_area_covered_m2']:,.0f} m²"),
        ("材料结案占比", _EMPTY if share is None else f"{share:.2f}%"),
        ("卫星遥感监测得分", f"{d['score']:g} / {d['points']:g}（扣 {d['deduction']:g}）"),
    ]


def _notices(data: PatchMapData, counts: Mapping[str, int]) -> list[str]:
    if data.batch_id is None:
        return ["还没有图斑批次，请先导入卫星遥感图斑。"]
    notices = []
    if not data.patches["features"]:
        notices.append("该批次没有图斑。")
    if not data.imagery:
        notices.append("该批次还没有登记影像，影像图层与影像切片不可用。")
    if counts.get("unchecked"):
        notices.append(f"{counts['unchecked']:,} 个图斑尚未核查，请运行图斑核查。")
    return notices


def build_patches_map(
    data: PatchMapData,
    *,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
    api_base: str = "",
    title: str | None = None,
    action: str = "/maps/patches",
) -> folium.Map:
    """Build the patch page: patches by verdict, popups with chips, imagery tiles, streets.

    Parameters
    ----------
    data
        What :func:`geogrid.satellite.mapdata.patch_map_data` read: one batch's patches
        (GeoJSON, EPSG:4326) with their verdicts and figures, street outlines, imagery,
        scores and the list of batches.
    basemap_url, basemap_attribution
        XYZ tile URL template and its attribution; None for no basemap (as
        :func:`maps.grids.base_map`).
    asset_base
        URL at which the app serves ``maps/static``.
    api_base
        URL prefix of the app's API (chips and imagery tiles); "" for the same origin.
    title
        District name, shown as "图斑核查图 · <title>".
    action
        URL the batch form is sent to (the page itself).

    Returns
    -------
    folium.Map
        The page; ``m.get_root().render()`` gives the HTML.

    Raises
    ------
    ValueError
        If a patch or street has no geometry (the message names it).
    """
    heading = f"图斑核查图 · {title}" if title else "图斑核查图"
    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    patches = _patch_features(data, api_base)
    streets = _outline_features(data.streets, "street")
    if data.batch_id is not None:
        for layer in _imagery_layers(data.batch_id, data.imagery, api_base):
            layer.add_to(m)
    _street_layer(streets).add_to(m)
    _patch_layer(patches).add_to(m)
    counts: dict[str, int] = {}
    for feature in patches["features"]:
        key = feature["properties"]["key"]
        counts[key] = counts.get(key, 0) + 1
    batch = f"批次 {data.batch_id}" if data.batch_id else "无图斑批次"
    _PageFrame(
        heading=heading,
        summary=f"{batch} · 图斑 {len(patches['features']):,} 个",
        legend_title="图例 · 核查结论",
        entries=[
            _LegendEntry(VERDICT_LABELS[k], colour, counts.get(k, 0))
            for k, colour in VERDICT_COLOURS.items()
        ],
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    _BatchPanel(
        action=action,
        batch=data.batch_id or "",
        batches=[(b, f"{b}（{n:,} 个图斑）") for b, n in data.batches],
        figures=_figures(data),
        notices=_notices(data, counts),
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    bounds = _bounds(patches) or _bounds(streets)
    if bounds:
        m.fit_bounds(bounds, padding_top_left=(20, 20), padding_bottom_right=(290, 20), max_zoom=18)
    localise_assets(m, asset_base)
    return m
