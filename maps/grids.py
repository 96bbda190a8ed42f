"""Map page of a district's unit grids (单元网格), coloured by street (DOMAIN.md §1).

Pure: GeoJSON in, ``folium.Map`` out; no database, no HTTP. The page loads its libraries from
``asset_base`` (see :mod:`maps.assets`) and, without a basemap, needs no tile server at all, so it
works on an intranet.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import folium
from branca.element import Figure, MacroElement
from folium.map import Layer
from folium.plugins import Fullscreen
from folium.template import Template
from shapely.geometry import shape

from geogrid.grids.layers import GRID_TYPES
from maps.assets import localise_assets

STREET_PALETTE: Final[tuple[str, ...]] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#8cd17d",
    "#499894",
    "#d37295",
    "#a0cbe8",
    "#ffbe7d",
    "#b6992d",
    "#86bcb6",
    "#fabfd2",
    "#d4a6c8",
    "#d7b5a6",
    "#f1ce63",
)
"""Qualitative fill colours, given to streets in order of code (Tableau 20 without its greys)."""

GRID_FILL_OPACITY: Final = 0.55
NO_BASEMAP_BACKGROUND: Final = "#f4f6f9"
"""Colour under the grids when the page has no basemap."""
MAX_ZOOM: Final = 19
COORDINATE_DECIMALS: Final = 6
"""Decimals of degrees kept in the page: 6 is about 0.1 m."""

_GRID_STYLE: Final = {"weight": 0.8, "opacity": 0.9}
_GRID_HIGHLIGHT: Final = {"color": "#c62828", "weight": 2.5, "fillOpacity": 0.8}
_COMMUNITY_STYLE: Final = {"color": "#37474f", "weight": 1.4, "dashArray": "5 4", "fill": False}
_STREET_STYLE: Final = {"color": "#6a1b4d", "weight": 3, "dashArray": "14 5 3 5", "fill": False}
_TOOLTIP_FIELDS: Final = ("code", "community", "street", "area", "type")
_TOOLTIP_ALIASES: Final = ("网格编码", "社区", "街道", "面积 (m²)", "网格类型")


@dataclass(frozen=True)
class _LegendEntry:
    name: str
    colour: str
    grids: int

    @property
    def outline(self) -> str:
        return _darker(self.colour)


def street_colours(street_codes: Sequence[str]) -> dict[str, str]:
    """Give each street a fill colour from :data:`STREET_PALETTE`, in order of street code.

    Deterministic: the same set of streets always gets the same colours, whatever the order of
    the input. A district with more streets than the palette has colours reuses them.

    Parameters
    ----------
    street_codes
        9-digit street codes (duplicates allowed).

    Returns
    -------
    dict
        Street code → ``#rrggbb``.
    """
    codes = sorted(set(street_codes))
    return {code: STREET_PALETTE[i % len(STREET_PALETTE)] for i, code in enumerate(codes)}


def _darker(colour: str, factor: float = 0.6) -> str:
    """``#rrggbb`` darkened: grid outlines in a shade of their fill stay readable at any zoom."""
    r, g, b = (round(int(colour[i : i + 2], 16) * factor) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"


def _round_coordinates(coordinates: Any) -> Any:
    if coordinates and isinstance(coordinates[0], int | float):
        return [round(float(c), COORDINATE_DECIMALS) for c in coordinates[:2]]
    return [_round_coordinates(c) for c in coordinates]


def _compact_geometry(geometry: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    if not geometry or "coordinates" not in geometry:
        raise ValueError(f"{where} has no polygon geometry; every feature of a map needs one.")
    return {"type": geometry["type"], "coordinates": _round_coordinates(geometry["coordinates"])}


def _positions(coordinates: Any) -> Iterator[tuple[float, float]]:
    if coordinates and isinstance(coordinates[0], int | float):
        yield float(coordinates[0]), float(coordinates[1])
        return
    for part in coordinates:
        yield from _positions(part)


def _bounds(*collections: dict[str, Any]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of all features, or None for no features."""
    lons: list[float] = []
    lats: list[float] = []
    for collection in collections:
        for feature in collection["features"]:
            for lon, lat in _positions(feature["geometry"]["coordinates"]):
                lons.append(lon)
                lats.append(lat)
    if not lons:
        return None
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _grid_features(grids: Mapping[str, Any]) -> dict[str, Any]:
    """The grids with only what the page shows, tooltip values already in Chinese."""
    features = []
    for i, feature in enumerate(grids.get("features", [])):
        props = feature.get("properties") or {}
        code = str(props.get("code", ""))
        area = props.get("area_m2")
        grid_type = props.get("grid_type")
        features.append(
            {
                "type": "Feature",
                "geometry": _compact_geometry(feature.get("geometry"), f"grid {i} ({code})"),
                "properties": {
                    "code": code,
                    "community": props.get("community_name") or props.get("community_code", ""),
                    "street": props.get("street_name") or props.get("street_code", ""),
                    "area": "" if area is None else str(math.floor(float(area) + 0.5)),
                    "type": GRID_TYPES.get(str(grid_type), grid_type or ""),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _outline_features(collection: Mapping[str, Any], kind: str) -> dict[str, Any]:
    features = []
    for i, feature in enumerate(collection.get("features", [])):
        props = feature.get("properties") or {}
        where = f"{kind} {i} ({props.get('code', '')})"
        features.append(
            {
                "type": "Feature",
                "geometry": _compact_geometry(feature.get("geometry"), where),
                "properties": {"code": str(props.get("code", "")), "name": props.get("name", "")},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _grid_streets(grids: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(grid code, street code, street name) of each grid."""
    rows = []
    for feature in grids.get("features", []):
        props = feature.get("properties") or {}
        street = str(props.get("street_code", ""))
        rows.append((str(props.get("code", "")), street, props.get("street_name") or street))
    return rows


def _street_names(
    grid_streets: list[tuple[str, str, str]], streets: dict[str, Any]
) -> dict[str, str]:
    """Street code → name, in code order, for the streets given and any only named by a grid."""
    names = {f["properties"]["code"]: f["properties"]["name"] for f in streets["features"]}
    for _, code, name in grid_streets:
        names.setdefault(code, name)
    return {code: names[code] or code for code in sorted(names)}


class _PageFrame(MacroElement):
    """Header bar, street legend and Chinese map controls of a map page."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
html, body {font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif;}
#{{ this._parent.get_name() }} {position: absolute; top: 52px; bottom: 0; height: auto;
{%- if this.background %} background: {{ this.background }};{% endif %}}
.gg-header {position: absolute; top: 0; left: 0; right: 0; height: 52px; z-index: 1100;
  display: flex; align-items: center; justify-content: space-between; padding: 0 20px;
  background: linear-gradient(90deg, #0d3c74, #1565c0); color: #fff;
  border-bottom: 3px solid #c62828; box-sizing: border-box;}
.gg-header h1 {margin: 0; font-size: 20px; font-weight: 600; letter-spacing: 2px;}
.gg-header p {margin: 0; font-size: 13px; opacity: .9;}
.gg-legend {background: rgba(255, 255, 255, .95); padding: 8px 12px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, .4); font-size: 13px; line-height: 20px;
  max-height: 50vh; overflow-y: auto;}
.gg-legend h2 {margin: 0 0 4px; font-size: 14px; font-weight: 600; color: #0d3c74;
  border-bottom: 1px solid #ddd; padding-bottom: 3px;}
.gg-legend ul {list-style: none; margin: 0; padding: 0;}
.gg-legend i {display: inline-block; width: 18px; height: 12px; margin-right: 6px;
  vertical-align: -1px; border: 1px solid; opacity: {{ this.fill_opacity }};}
.gg-legend span {color: #78909c; margin-left: 8px; float: right;}
.gg-label {color: #4a1236; font-size: 14px; font-weight: 600; white-space: nowrap;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; transform: translate(-50%, -50%);
  pointer-events: none; display: inline-block;}
.leaflet-control-layers-expanded {font-size: 13px;}
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<div class="gg-header"><h1>{{ this.heading|e }}</h1><p>{{ this.summary|e }}</p></div>
<div class="gg-legend" id="{{ this.get_name() }}_legend"><h2>{{ this.legend_title|e }}</h2><ul>
{%- for entry in this.entries %}
<li><i style="background: {{ entry.colour }}; border-color: {{ entry.outline }}"></i>
{{- entry.name|e }}<span>{{ entry.grids }}</span></li>
{%- endfor %}</ul></div>
{% endmacro %}
{% macro script(this, kwargs) %}
(function (map) {
  L.control.zoom({position: "topleft", zoomInTitle: "放大", zoomOutTitle: "缩小"}).addTo(map);
  L.control.scale({position: "bottomleft", imperial: false, maxWidth: 160}).addTo(map);
  map.attributionControl.setPrefix("Leaflet");
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    var el = document.getElementById("{{ this.get_name() }}_legend");
    L.DomEvent.disableClickPropagation(el);
    L.DomEvent.disableScrollPropagation(el);
    return el;
  };
  legend.addTo(map);
})({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(
        self,
        *,
        heading: str,
        summary: str,
        legend_title: str,
        entries: list[_LegendEntry],
        background: str | None,
    ) -> None:
        super().__init__()
        self._name = "PageFrame"
        self.heading = heading
        self.summary = summary
        self.legend_title = legend_title
        self.entries = entries
        self.background = background
        self.fill_opacity = GRID_FILL_OPACITY


def _grid_layer(grid_data: dict[str, Any], fill: dict[str, str]) -> folium.GeoJson:
    """The 单元网格 layer: each grid filled with its street's colour, a Chinese tooltip."""
    return folium.GeoJson(
        grid_data,
        name="单元网格",
        style_function=lambda f: {
            **_GRID_STYLE,
            "fillColor": fill[f["properties"]["code"]],
            "color": _darker(fill[f["properties"]["code"]]),
            "fillOpacity": GRID_FILL_OPACITY,
        },
        highlight_function=lambda f: _GRID_HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(
            fields=list(_TOOLTIP_FIELDS), aliases=list(_TOOLTIP_ALIASES), sticky=True
        )
        if grid_data["features"]  # folium refuses a tooltip over no features
        else None,
    )


def _street_layer(street_data: dict[str, Any]) -> folium.FeatureGroup:
    """The 街道边界 layer: street outlines and, inside each street, its name."""
    layer = folium.FeatureGroup(name="街道边界")
    folium.GeoJson(
        street_data, style_function=lambda f: _STREET_STYLE, interactive=False, control=False
    ).add_to(layer)
    for feature in street_data["features"]:
        point = shape(feature["geometry"]).representative_point()
        label = f'<div class="gg-label">{escape(feature["properties"]["name"])}</div>'
        folium.Marker(
            [round(point.y, COORDINATE_DECIMALS), round(point.x, COORDINATE_DECIMALS)],
            icon=folium.DivIcon(html=label, icon_size=(0, 0)),
            interactive=False,
        ).add_to(layer)
    return layer


def base_map(heading: str, *, basemap_url: str | None, basemap_attribution: str) -> folium.Map:
    """An empty page map: no tile layer unless a basemap is configured, a title, a max zoom.

    folium passes ``max_zoom`` only to a tile layer; with none, plugins such as MarkerCluster
    need it on the map itself.
    """
    m = folium.Map(tiles=None, zoom_control=False, prefer_canvas=False)
    m.options["max_zoom"] = MAX_ZOOM
    root = m.get_root()
    assert isinstance(root, Figure)
    root.title = heading
    if basemap_url:
        folium.TileLayer(
            tiles=basemap_url, attr=basemap_attribution or " ", name="底图", max_zoom=MAX_ZOOM
        ).add_to(m)
    return m


def build_grids_map(
    grids: dict[str, Any],
    streets: dict[str, Any],
    communities: dict[str, Any],
    *,
    basemap_url: str | None = None,
    basemap_attribution: str = "",
    asset_base: str = "/static",
    title: str | None = None,
    overlays: Sequence[Layer] = (),
) -> folium.Map:
    """Build the page of a district's unit grids, coloured by street, with boundaries and legend.

    Grids are filled with their street's colour (:func:`street_colours`) and outlined thinly;
    community (社区) and street (街道) boundaries are drawn on top as outlines; hovering a grid
    shows its code, community, street, area and type in Chinese. The map is fitted to the data.

    Parameters
    ----------
    grids
        FeatureCollection of unit grids, EPSG:4326; properties ``code, community_code,
        community_name, street_code, street_name, grid_type`` (``city``/``rural``/``industrial``)
        and ``area_m2`` (square metres).
    streets
        FeatureCollection of streets, EPSG:4326; properties ``code, name``.
    communities
        FeatureCollection of communities, EPSG:4326; properties ``code, name, street_code``.
    basemap_url
        XYZ tile URL template (e.g. an intranet Tianditu mirror); None for a page with no tile
        layer at all.
    basemap_attribution
        Attribution shown for the basemap.
    asset_base
        URL at which the app serves ``maps/static`` (the page's JS, CSS and fonts).
    title
        District name, shown as "单元网格 · <title>" in the page title and header.
    overlays
        More layers to draw above the grids and list in the layer control (e.g. a
        ``MarkerCluster`` of components). Layers added to the returned map instead would come
        after its layer control, which then fails in the browser.

    Returns
    -------
    folium.Map
        The page; ``m.get_root().render()`` gives the HTML.

    Raises
    ------
    ValueError
        If a feature has no geometry (the message names it).
    """
    grid_data = _grid_features(grids)
    street_data = _outline_features(streets, "street")
    community_data = _outline_features(communities, "community")
    grid_streets = _grid_streets(grids)
    names = _street_names(grid_streets, street_data)
    colours = street_colours(list(names))
    counts = Counter(street for _, street, _ in grid_streets)
    heading = f"单元网格 · {title}" if title else "单元网格"

    m = base_map(heading, basemap_url=basemap_url, basemap_attribution=basemap_attribution)
    _grid_layer(grid_data, {grid: colours[street] for grid, street, _ in grid_streets}).add_to(m)
    folium.GeoJson(
        community_data,
        name="社区边界",
        style_function=lambda f: _COMMUNITY_STYLE,
        interactive=False,
    ).add_to(m)
    _street_layer(street_data).add_to(m)
    for layer in overlays:
        layer.add_to(m)
    _PageFrame(
        heading=heading,
        summary=f"网格 {len(grid_data['features'])} 个 · 社区 {len(community_data['features'])} 个"
        f" · 街道 {len(street_data['features'])} 个",
        legend_title="街道",
        entries=[_LegendEntry(name, colours[code], counts[code]) for code, name in names.items()],
        background=None if basemap_url else NO_BASEMAP_BACKGROUND,
    ).add_to(m)
    Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏").add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    bounds = _bounds(grid_data, community_data, street_data)
    if bounds:
        m.fit_bounds(bounds, padding=(20, 20))
    localise_assets(m, asset_base)
    return m
