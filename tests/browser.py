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
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

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


def read_png(path: Path) -> Image.Image:
    """The screenshot as an RGB image."""
    return Image.open(path).convert("RGB")


def count_pixels(png: Image.Image, colour: tuple[int, int, int], *, tolerance: int = 6) -> int:
    """Number of pixels whose every channel is within ``tolerance`` of ``colour``."""
    return sum(
        n
        for n, seen in png.getcolors(maxcolors=png.width * png.height) or []
        if all(abs(a - b) <= tolerance for a, b in zip(seen, colour, strict=True))
    )
