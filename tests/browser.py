"""Render a page in headless Chromium with no network but localhost (a helper, not a test).

Used by the map-page tests: :func:`render_page` gives the DOM after the page's scripts ran, the
console messages, every request the page made (and which failed), and a screenshot;
:func:`read_png` and :func:`count_pixels` inspect the screenshot without PIL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost, EXCLUDE 127.0.0.1",
)
"""Flags of every run: headless as root, and no host but localhost can be resolved."""

BROWSER_ADVISORIES = re.compile(
    r'^"(?:Canvas2D: Multiple readback operations|\[Deprecation\]|\[Violation\]|\[Intervention\])'
)
"""Console messages Chromium itself adds about performance or deprecations: not page errors."""

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\)|:\d+)\] (.*)$")
_LEAFLET_PATH = re.compile(r"<path\b[^>]*\bclass=\"[^\"]*\bleaflet-interactive\b")


@dataclass
class RenderResult:
    """What one page did in Chromium.

    ``console`` holds every console message, uncaught exceptions included; ``console_errors``
    those that are not Chromium's own advisories (:data:`BROWSER_ADVISORIES`). Chromium's log
    does not carry the level, so a ``console.log`` counts as an error: a working map page logs
    nothing. ``requests`` lists the
    URLs the page itself asked for; ``failed_loads`` those that failed, each as ``"url (reason)"``
    (a network error such as ``ERR_NAME_NOT_RESOLVED`` or an HTTP status ≥ 400).
    """

    dom: str
    console_errors: list[str]
    png: Path | None
    requests: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


def chromium_binary() -> str:
    """Path of Chromium: ``$GEOGRID_CHROMIUM``, else ``chromium`` on PATH; fails if missing."""
    found = os.environ.get("GEOGRID_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise RuntimeError("Chromium not found: apt-get install -y chromium (or GEOGRID_CHROMIUM)")
    return found


def _run(args: list[str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="geogrid-chromium-") as profile:
        command = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )


def _net_log_requests(path: Path) -> tuple[list[str], list[str]]:
    """(URLs requested by the page, failed ones with a reason) from a Chromium NetLog file.

    A URL counts as failed only if no attempt loaded it: Chromium may first try its cache alone
    (``ERR_CACHE_MISS``) and then the network.
    """
    log = json.loads(path.read_text())
    constants = log["constants"]
    event_type = {v: k for k, v in constants["logEventTypes"].items()}
    error_name = {v: k for k, v in constants["netError"].items()}
    begin = constants["logEventPhase"]["PHASE_BEGIN"]
    urls: dict[int, str] = {}
    failures: dict[int, str] = {}
    for event in log["events"]:
        kind, params, source = event_type[event["type"]], event.get("params", {}), event["source"]
        if kind == "URL_REQUEST_START_JOB" and event["phase"] == begin:
            by_page = params.get("request_type") == "main frame" or params.get("initiator", "")[
                :4
            ] in ("http", "file")
            if by_page and not params["url"].endswith("/favicon.ico"):
                urls[source["id"]] = params["url"]
        elif kind == "URL_REQUEST_START_JOB" and params.get("net_error"):
            failures[source["id"]] = error_name.get(params["net_error"], str(params["net_error"]))
        elif kind == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS":
            status = params["headers"][0].split()[1]
            if int(status) >= 400:
                failures[source["id"]] = f"HTTP {status}"
    loaded = {url for i, url in urls.items() if i not in failures}
    failed = [f"{url} ({failures[i]})" for i, url in urls.items() if i in failures]
    failed = [text for text in dict.fromkeys(failed) if text.split(" (")[0] not in loaded]
    return list(dict.fromkeys(urls.values())), failed


def render_page(
    url: str,
    *,
    out_png: Path | None,
    window: tuple[int, int] = (1200, 800),
    budget_ms: int = 8000,
    timeout_s: float = 120,
) -> RenderResult:
    """Load ``url`` in headless Chromium (fresh profile, only localhost reachable) and report.

    Two runs: one dumps the DOM after scripts ran (``--dump-dom``) while logging the console and
    the network; one takes the screenshot (skipped when ``out_png`` is None). Headless Chromium
    first lays the page out in a viewport shorter than the window (1200 × 657 for 1200 × 800),
    then resizes it to the window for the screenshot: ``fitBounds`` sees the shorter one.

    Parameters
    ----------
    url
        Page to load, normally ``http://127.0.0.1:<port>/...``.
    out_png
        Where to write the screenshot, or None for none.
    window
        Window size in CSS pixels (width, height).
    budget_ms
        Virtual time the page gets to load and run its scripts.
    timeout_s
        Wall-clock limit of each Chromium run.

    Returns
    -------
    RenderResult
    """
    size = f"--window-size={window[0]},{window[1]}"
    budget = f"--virtual-time-budget={budget_ms}"
    with tempfile.TemporaryDirectory(prefix="geogrid-netlog-") as tmp:
        net_log = Path(tmp) / "netlog.json"
        logging = ["--enable-logging=stderr", "--v=0", f"--log-net-log={net_log}"]
        dumped = _run([size, budget, *logging, "--dump-dom", url], timeout_s=timeout_s)
        requests, failed = _net_log_requests(net_log) if net_log.exists() else ([], [])
    if dumped.returncode != 0 or "<html" not in dumped.stdout:
        raise RuntimeError(f"Chromium could not load {url}: {dumped.stderr[-2000:]}")
    console = [m.group(1) for m in map(_CONSOLE.search, dumped.stderr.splitlines()) if m]
    if out_png is not None:
        shot = _run([size, budget, f"--screenshot={out_png}", url], timeout_s=timeout_s)
        if not out_png.exists():
            raise RuntimeError(f"Chromium wrote no screenshot of {url}: {shot.stderr[-2000:]}")
    errors = [message for message in console if not BROWSER_ADVISORIES.match(message)]
    return RenderResult(dumped.stdout, errors, out_png, requests, failed, console)


def count_leaflet_paths(dom: str) -> int:
    """Number of Leaflet's interactive SVG paths (``<path class="leaflet-interactive"``)."""
    return len(_LEAFLET_PATH.findall(dom))


@dataclass(frozen=True)
class Png:
    """A decoded 8-bit PNG: ``rgb`` holds width × height × 3 bytes, row by row."""

    width: int
    height: int
    rgb: bytes


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes | bytearray, bpp: int) -> None:
    n = len(line)
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(n):
            line[i] = (line[i] + prior[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            left, upleft = (line[i - bpp], prior[i - bpp]) if i >= bpp else (0, 0)
            line[i] = (line[i] + _paeth(left, prior[i], upleft)) & 0xFF


def read_png(path: Path) -> Png:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes); alpha is dropped."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour_type, interlace = header[8], header[9], header[12]
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are supported")
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    prior: bytes | bytearray = bytes(stride)
    rgb = bytearray()
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, prior, bpp)
        prior = bytes(line)
        if bpp == 4:
            del line[3::4]
        rgb += line
    return Png(width, height, bytes(rgb))


def count_pixels(png: Png, colour: tuple[int, int, int], *, tolerance: int = 6) -> int:
    """Number of pixels whose every channel is within ``tolerance`` of ``colour``."""
    px = png.rgb
    histogram = Counter(zip(px[0::3], px[1::3], px[2::3], strict=True))
    return sum(
        n
        for seen, n in histogram.items()
        if all(abs(a - b) <= tolerance for a, b in zip(seen, colour, strict=True))
    )
