"""Map page of a grid update: what changes between current and new unit grids (DOMAIN.md §1b).

Pure: the GeoJSON of :func:`geogrid.grids.diff.changes_to_geojson` in, ``folium.Map`` out; no
database, no HTTP. Each kind of change has its colour and its layer; old outlines of reshaped,
split, merged and redrawn grids are drawn dashed over the new grids. Assets are served as on the
unit-grid page (:mod:`maps.grids`, :mod:`maps.assets`), so the page works on an intranet.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

import folium
from folium.plugins import Fullscreen

from geogrid.grids.diff import KIND_LABELS, KINDS, OUTLINED_KINDS, Kind
from maps.assets import localise_assets
from maps.grids import (
    GRID_FILL_OPACITY,
    NO_BASEMAP_BACKGROUND,
    _bounds,
    _compact_geometry,
    _darker,
    _LegendEntry,
    _PageFrame,
    base_map,
)

KIND_COLOURS: Final[dict[Kind, str]] = {
    "added": "#43a047",
    "removed": "#e53935",
    "reshaped": "#fb8c00",
    "split": "#8e24aa",
    "merged": "#1e88e5",
    "recoded": "#00897b",
    "redrawn": "#8d6e63",
    "unchanged": "#cfd8dc",
}
"""Fill colour of each kind: green added, red removed, orange reshaped, purple split, blue
merged, teal recoded, brown redrawn, light grey unchanged."""

OLD_DASH: Final = "6 4"
"""Dash pattern of old outlines (and of removed grids, which are old shapes)."""

_CHANGE_STYLE: Final = {"weight": 1.5, "opacity": 0.9, "fillOpacity": GRID_FILL_OPACITY}
_UNCHANGED_STYLE: Final = {"weight": 0.5, "opacity": 0.8, "fillOpacity": GRID_FILL_OPACITY}
_HIGHLIGHT: Final = {"weight": 3, "fillOpacity": 0.8}
_TOOLTIP_FIELDS: Final = ("kind", "old", "new", "iou", "old_area", "new_area", "community")
_TOOLTIP_ALIASES: Final = (
    "变化类型",
    "原网格编码",
    "新网格编码",
    "IoU",
    "原面积 (m²)",
    "新面积 (m²)",
    "社区",
)
_NONE: Final = "—"
_DRAW_ORDER: Final[tuple[Kind, ...]] = ("unchanged", *(k for k in KINDS if k != "unchanged"))
"""Unchanged grids first, so that the outlines of changed grids are drawn over theirs."""


def _area(value: Any) -> str:
    return _NONE if value is None else str(math.floor(float(value) + 0.5))


def _kind(properties: Mapping[str, Any], where: str) -> Kind:
    kind = properties.get("kind")
    for known in KINDS:
        if kind == known:
            return known
    raise ValueError(f"{where} has kind {kind!r}; a change is one of {', '.join(KINDS)}.")


def _page_features(changes: Mapping[str, Any]) -> dict[Kind, tuple[list[Any], list[Any]]]:
    """Per kind: (change features, old outlines), with tooltip values already in Chinese.

    A feature with ``role: "old"`` is an old outline, except that a removed change's old shape
    is the change itself; old outlines of kinds whose shape did not change are left out.
    """
    by_kind: dict[Kind, tuple[list[Any], list[Any]]] = {kind: ([], []) for kind in KINDS}
    for i, feature in enumerate(changes.get("features", [])):
        props = feature.get("properties") or {}
        where = f"change {i}"
        kind = _kind(props, where)
        old_codes, new_codes = props.get("old_codes") or [], props.get("new_codes") or []
        iou = props.get("iou")
        page_feature = {
            "type": "Feature",
            "geometry": _compact_geometry(feature.get("geometry"), where),
            "properties": {
                "kind": KIND_LABELS[kind],
                "old": "、".join(old_codes) or _NONE,
                "new": "、".join(new_codes) or _NONE,
                "iou": _NONE if iou is None else f"{float(iou):.4f}",
                "old_area": _area(props.get("old_area_m2")),
                "new_area": _area(props.get("new_area_m2")),
                "community": props.get("community_code") or _NONE,
            },
        }
        changed, outlines = by_kind[kind]
        if props.get("role") != "old" or kind == "removed":
            changed.append(page_feature)
        elif kind in OUTLINED_KINDS:
            outlines.append(page_feature)
    return by_kind


def _kind_layer(kind: Kind, changed: list[Any], outlines: list[Any]) -> folium.FeatureGroup:
    """One kind's layer: its grids filled with its colour, old outlines dashed, Chinese tooltip."""
    colour = KIND_COLOURS[kind]
    style = {
        **(_UNCHANGED_STYLE if kind == "unchanged" else _CHANGE_STYLE),
        "fillColor": colour,
        "color": _darker(colour, 0.85) if kind == "unchanged" else _darker(colour),
    }
    if kind == "removed":
        style["dashArray"] = OLD_DASH
    layer = folium.FeatureGroup(name=KIND_LABELS[kind])
    folium.GeoJson(
        {"type": "FeatureCollection", "features": changed},
        style_function=lambda f: style,
        highlight_function=lambda f: _HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(
            fields=list(_TOOLTIP_FIELDS), aliases=list(_TOOLTIP_ALIASES), sticky=True
        ),
        control=False,
    ).add_to(layer)
    if outlines:
        outline_style = {
            "color": _darker(colour),
            "weight": 2,
            "dashArray": OLD_DASH,
            "fill": False,
        }
        folium.GeoJson(
            {"type": "FeatureCollection", "features": outlines},
            style_function=lambda f: outline_style,
            interactive=False,
            control=False,
        ).add_to(layer)
    return layer


def build_diff_map(
    changes: dict[str, Any],
    *,
    title: str | None = None,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
) -> folium.Map:
    """Build the page of a grid-update plan: every change coloured by kind, with a legend.

    Kinds and colours: 新增 added (green), 删除 removed (red, dashed: it is an old shape),
    调整边界 reshaped (orange), 拆分 split (purple), 合并 merged (blue), 重新编码 recoded (teal),
    重新划分 redrawn (brown), 未变 unchanged (light grey, thin). Old outlines (``role: "old"``)
    are drawn dashed in their kind's colour. Each kind present is a layer of the layer control;
    the legend lists every kind with its number of changes. Hovering a change shows its kind,
    old and new codes, IoU and areas in Chinese. The map is fitted to all the features given
    (unchanged grids included, so the changes are seen in their communities).

    Parameters
    ----------
    changes
        FeatureCollection from :func:`geogrid.grids.diff.changes_to_geojson`, EPSG:4326;
        properties ``kind, old_codes, new_codes, iou, community_code, old_area_m2,
        new_area_m2`` (m²) and ``role``: ``"old"`` for an old outline, anything else (or
        none) for the change's shape. A removed change may come as its ``"old"`` shape alone.
    title
        District or community name, shown as "网格调整方案 · <title>" in the page title and
        header.
    basemap_url
        XYZ tile URL template (e.g. an intranet Tianditu mirror); None for a page with no tile
        layer at all.
    basemap_attribution
        Attribution shown for the basemap.
    asset_base
        URL at which the app serves ``maps/static`` (the page's JS, CSS and fonts).

    Returns
    -------
    folium.Map
        The page; ``m.get_root().render()`` gives the HTML.

    Raises
    ------
    ValueError
        If a feature has no geometry or an unknown kind (the message names it).
    """
    by_kind = _page_features(changes)
    counts = Counter({kind: len(changed) for kind, (changed, _) in by_kind.items()})
    heading = f"网格调整方案 · {title}" if title else "网格调整方案"

    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    for kind in _DRAW_ORDER:
        changed, outlines = by_kind[kind]
        if changed or outlines:
            _kind_layer(kind, changed, outlines).add_to(m)
    changed_total = sum(n for kind, n in counts.items() if kind != "unchanged")
    _PageFrame(
        heading=heading,
        summary=f"变化 {changed_total} 处 · 未变 {counts['unchanged']} 个 · 虚线为原网格边界",
        legend_title="变化类型",
        entries=[_LegendEntry(KIND_LABELS[k], KIND_COLOURS[k], counts[k]) for k in KINDS],
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    features = [f for changed, outlines in by_kind.values() for f in (*changed, *outlines)]
    bounds = _bounds({"features": features})
    if bounds:
        m.fit_bounds(bounds, padding=(20, 20))
    localise_assets(m, asset_base)
    return m
