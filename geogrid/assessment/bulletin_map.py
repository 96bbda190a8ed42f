"""The bulletin's hotspot map: the grids filled by Gi* class, as a PNG drawn with Pillow.

No browser and no tile server: the grids of a :class:`~geogrid.hotspots.HotspotResult` are
projected to their UTM zone (metres, so the scale bar is true), filled by class (red hot, blue
cold, grey not significant; the colours of the hotspot map page), outlined, the streets'
boundaries drawn over them, with a north arrow and a scale bar. The legend is drawn in the
image when a Chinese font is installed; the bulletin also gives it as text.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import shapely
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry.base import BaseGeometry

from geogrid.hotspots import CLASS_LABELS, CLASSES

CLASS_COLOURS: Final[dict[str, str]] = {
    "hot_99": "#b2182b",
    "hot_95": "#d6604d",
    "hot_90": "#f4a582",
    "not_significant": "#d9d9d9",
    "cold_90": "#92c5de",
    "cold_95": "#4393c3",
    "cold_99": "#2166ac",
}
"""Fill of each Gi* class, as on the hotspot map page (ColorBrewer RdBu, grey not significant)."""

CJK_FONTS: Final = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSerifCJK-Regular.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "SourceHanSansSC-Regular.otf",
    "DroidSansFallbackFull.ttf",
    "msyh.ttc",
    "simsun.ttc",
)
_SUPERSAMPLE = 2
_GRID_LINE = "#7f7f7f"
_STREET_LINE = "#303030"
_MIN_WIDTH = 480
_SCALE_BAR_SPACE = 220
_LEGEND_ITEM = 130
_LEGEND_ROW = 18


@dataclass(frozen=True)
class MapImage:
    """A rendered map: the PNG and its size in pixels."""

    png: bytes
    width: int
    height: int


def legend(grids: gpd.GeoDataFrame) -> list[tuple[str, str, int]]:
    """(colour, Chinese label, grids) of every Gi* class, hot to cold."""
    counts = grids["class"].value_counts() if len(grids) else {}
    return [(CLASS_COLOURS[c], CLASS_LABELS[c], int(counts.get(c, 0))) for c in CLASSES]


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    for name in CJK_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return None


def _rings(geom: BaseGeometry) -> list[list[tuple[float, float]]]:
    polygons = getattr(geom, "geoms", [geom])
    return [list(p.exterior.coords) for p in polygons if p.geom_type == "Polygon"]


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ metres not above ``metres``."""
    power = 10 ** math.floor(math.log10(metres))
    return max(m * power for m in (1, 2, 5) if m * power <= metres)


def render_hotspot_map(
    grids: gpd.GeoDataFrame, *, width: int = 1000, max_height: int = 1200
) -> MapImage | None:
    """The grids filled by Gi* class (``class`` column), as a PNG; None without grids.

    Parameters
    ----------
    grids
        ``HotspotResult.grids``: polygons in any CRS with ``class`` and, optionally,
        ``street_code`` (street boundaries are drawn).
    width, max_height
        Size of the image in pixels (the height follows the territory's shape).
    """
    if grids.empty:
        return None
    local = grids.to_crs(grids.estimate_utm_crs())
    minx, miny, maxx, maxy = (float(v) for v in local.total_bounds)
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    margin, strip = 30, 60
    scale = min((width - 2 * margin) / span_x, (max_height - 2 * margin - strip) / span_y)
    w = max(round(span_x * scale + 2 * margin), _MIN_WIDTH)
    font = _font(13)
    shown = [(c, label) for c, label, n in legend(grids) if n] if font else []
    per_row = max(1, (w - 2 * margin - _SCALE_BAR_SPACE - 40) // _LEGEND_ITEM)
    strip = max(strip, 24 + _LEGEND_ROW * math.ceil(len(shown) / per_row))
    h = round(span_y * scale + 2 * margin + strip)
    ss = _SUPERSAMPLE
    image = Image.new("RGB", (w * ss, h * ss), "white")
    draw = ImageDraw.Draw(image)

    def px(x: float, y: float) -> tuple[float, float]:
        return ((x - minx) * scale + margin) * ss, ((maxy - y) * scale + margin) * ss

    for geom, cls in zip(local.geometry, local["class"], strict=True):
        for ring in _rings(geom):
            draw.polygon([px(x, y) for x, y in ring], fill=CLASS_COLOURS.get(cls, "#ffffff"))
    for geom in local.geometry:
        for ring in _rings(geom):
            draw.line([px(x, y) for x, y in ring], fill=_GRID_LINE, width=ss)
    if "street_code" in local.columns:
        for _, part in local.groupby("street_code"):
            outline = shapely.union_all(part.geometry.values).boundary
            for line in getattr(outline, "geoms", [outline]):
                draw.line([px(x, y) for x, y in line.coords], fill=_STREET_LINE, width=3 * ss)
    image = image.resize((w, h), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(image)
    top = round(span_y * scale + 2 * margin)
    _decorate(draw, w, top, margin, scale)
    if font is not None:
        _legend(draw, shown, font, left=margin + _SCALE_BAR_SPACE, top=top, per_row=per_row)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return MapImage(buffer.getvalue(), w, h)


def _decorate(draw: ImageDraw.ImageDraw, w: int, top: int, margin: int, scale: float) -> None:
    """A north arrow (under the map, right) and a scale bar (under the map, left)."""
    ascii_font = ImageFont.load_default(size=14)
    x, y = w - margin, top + 4
    draw.polygon([(x, y), (x - 8, y + 22), (x, y + 16), (x + 8, y + 22)], fill="#202020")
    draw.text((x, y + 26), "N", fill="#202020", font=ascii_font, anchor="mt")
    metres = _nice_length((_SCALE_BAR_SPACE - 80) / scale)
    length = metres * scale
    left, base = margin, top + 12
    draw.rectangle([left, base, left + length, base + 6], outline="#202020", fill="white")
    draw.rectangle([left, base, left + length / 2, base + 6], fill="#202020")
    label = fmt_length(metres)
    draw.text((left + length + 6, base + 6), label, fill="#202020", font=ascii_font, anchor="ls")


def _legend(
    draw: ImageDraw.ImageDraw,
    shown: list[tuple[str, str]],
    font: ImageFont.FreeTypeFont,
    *,
    left: int,
    top: int,
    per_row: int,
) -> None:
    box = 12
    for i, (colour, label) in enumerate(shown):
        x = left + (i % per_row) * _LEGEND_ITEM
        y = top + 10 + (i // per_row) * _LEGEND_ROW
        draw.rectangle([x, y, x + box, y + box], fill=colour, outline=_GRID_LINE)
        draw.text((x + box + 6, y + box / 2), label, fill="#202020", font=font, anchor="lm")


def fmt_length(metres: float) -> str:
    """A length as a scale bar labels it: ``500 m``, ``2 km``."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"
