"""Serve every JavaScript, CSS and font file of the map pages from the app itself.

folium keeps the URLs of the libraries a page loads in the attributes ``default_js`` and
``default_css`` of ``folium.Map`` and of each plugin class; out of the box they point at CDNs
(jsDelivr, cdnjs, the jQuery and Bootstrap CDNs), which a district intranet cannot reach. Here
they are pointed at copies under ``STATIC_DIR/vendor/`` (see ``static/vendor/README.md``), which
the app mounts at ``base_url`` (``/static`` by default).

Two entries of ``folium.Map`` have no npm source and are dropped: the Bootstrap 3 glyphicons CSS
and folium's awesome-rotate CSS. Pages therefore use Font Awesome icons (``prefix="fa"``) and no
rotated markers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import folium
from branca.element import Element
from folium import plugins
from folium.elements import JSCSSMixin

STATIC_DIR: Final[Path] = Path(__file__).resolve().parent / "static"
"""Directory to mount at ``base_url`` (it holds ``vendor/``)."""

_Links = tuple[tuple[str, str], ...]
"""(name folium registers the link under, path below ``vendor/``)."""

_MAP_JS: Final[_Links] = (
    ("leaflet", "leaflet/leaflet.js"),
    ("jquery", "jquery/jquery.min.js"),
    ("bootstrap", "bootstrap/js/bootstrap.bundle.min.js"),
    ("awesome_markers", "leaflet.awesome-markers/leaflet.awesome-markers.min.js"),
)
_MAP_CSS: Final[_Links] = (
    ("leaflet_css", "leaflet/leaflet.css"),
    ("bootstrap_css", "bootstrap/css/bootstrap.min.css"),
    ("awesome_markers_font_css", "fontawesome-free/css/all.min.css"),
    ("awesome_markers_css", "leaflet.awesome-markers/leaflet.awesome-markers.css"),
)
_CLUSTER_JS: Final[_Links] = (
    ("markerclusterjs", "leaflet.markercluster/leaflet.markercluster.js"),
)
_CLUSTER_CSS: Final[_Links] = (
    ("markerclustercss", "leaflet.markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", "leaflet.markercluster/MarkerCluster.Default.css"),
)

OFFLINE_ASSETS: Final[dict[type[JSCSSMixin], tuple[_Links, _Links]]] = {
    folium.Map: (_MAP_JS, _MAP_CSS),
    plugins.MarkerCluster: (_CLUSTER_JS, _CLUSTER_CSS),
    plugins.FastMarkerCluster: (_CLUSTER_JS, _CLUSTER_CSS),
    plugins.HeatMap: ((("leaflet-heat.js", "leaflet.heat/leaflet-heat.min.js"),), ()),
    plugins.VectorGridProtobuf: (
        (("vectorGrid", "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),),
        (),
    ),
    plugins.Fullscreen: (
        (("Control.Fullscreen.js", "leaflet.fullscreen/Control.FullScreen.js"),),
        (("Control.FullScreen.css", "leaflet.fullscreen/Control.FullScreen.css"),),
    ),
}
"""The folium classes served offline, and their (js, css) links. Other plugins still use CDNs."""


def _urls(links: _Links, base_url: str) -> list[tuple[str, str]]:
    base = base_url.rstrip("/")
    return [(name, f"{base}/vendor/{path}") for name, path in links]


def use_offline_assets(base_url: str = "/static") -> None:
    """Point folium's class-level asset URLs at the app's own copies, for every page built later.

    Idempotent: calling it again (with any ``base_url``) replaces the URLs, never appends.

    Parameters
    ----------
    base_url
        URL path (or absolute URL) at which the app serves ``STATIC_DIR``.
    """
    for cls, (js, css) in OFFLINE_ASSETS.items():
        cls.default_js = _urls(js, base_url)
        cls.default_css = _urls(css, base_url)


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def localise_assets(element: Element, base_url: str = "/static") -> None:
    """Point the asset URLs of one page's elements at the app's copies, leaving folium's classes.

    Sets ``default_js``/``default_css`` on each element of the tree below ``element`` (inclusive)
    whose class is in :data:`OFFLINE_ASSETS`. Elements added afterwards keep their class's URLs
    (call :func:`use_offline_assets` once at start-up to cover those too).

    Parameters
    ----------
    element
        A ``folium.Map`` (or any element); its children are visited recursively.
    base_url
        URL path (or absolute URL) at which the app serves ``STATIC_DIR``.
    """
    for node in _walk(element):
        for cls in type(node).__mro__:
            if cls in OFFLINE_ASSETS:
                js, css = OFFLINE_ASSETS[cls]
                node.default_js = _urls(js, base_url)  # type: ignore[attr-defined]
                node.default_css = _urls(css, base_url)  # type: ignore[attr-defined]
                break


_XMLNS = re.compile(r"""\bxmlns(?::\w+)?\s*=\s*(["'])[^"']*\1""")
_ABSOLUTE = re.compile(r"""https?://[^\s"'<>()\\`]+""", re.IGNORECASE)
_PROTOCOL_RELATIVE = re.compile(
    r"""(?:\b(?:src|href|action)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])(//[^\s"'<>()\\]+)""",
    re.IGNORECASE,
)


def _is_local(url: str) -> bool:
    host = urlsplit(url if "://" in url else f"http:{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_external_urls(html: str) -> list[str]:
    """List every URL in a page that points outside this machine, in order of first appearance.

    Finds absolute ``http(s)://`` URLs anywhere in the text (attributes, scripts, CSS, JSON) and
    protocol-relative ``//host/...`` URLs in ``src``/``href``/``action`` attributes, ``url()`` and
    ``@import``. Relative URLs and loopback hosts (``localhost``, ``127.0.0.0/8``, ``::1``) are
    not external; XML namespace names (``xmlns="http://www.w3.org/..."``) are identifiers, never
    fetched, and are ignored.

    Parameters
    ----------
    html
        The page source (or a DOM dump after scripts ran).

    Returns
    -------
    list of str
        The external URLs, without duplicates; empty for a page that works offline.
    """
    text = _XMLNS.sub("", html.replace("\\/", "/"))
    found = [(m.start(), m.group(0)) for m in _ABSOLUTE.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in _PROTOCOL_RELATIVE.finditer(text)]
    urls = (url for _, url in sorted(found))
    return [url for url in dict.fromkeys(urls) if not _is_local(url)]
