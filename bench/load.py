"""Load generators: one serial client (httpx) and N concurrent connections (wrk, or asyncio).

Every request asks for ``Accept-Encoding: gzip``, as browsers and MapLibre do, so each server
pays for its compression. Latencies are wall-clock times from sending the request to having
read the whole (still compressed) body over a kept-alive loopback connection.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

HEADERS = {"Accept-Encoding": "gzip"}
OK = (200, 204)


@dataclass(frozen=True)
class Latency:
    """Latencies of one serial run, in milliseconds."""

    samples_ms: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def p50(self) -> float:
        return float(np.percentile(self.samples_ms, 50))

    @property
    def p95(self) -> float:
        return float(np.percentile(self.samples_ms, 95))


@dataclass(frozen=True)
class Throughput:
    """One fixed-duration run at ``connections`` concurrent connections."""

    tool: str
    connections: int
    duration_s: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


class BadResponse(RuntimeError):
    """A server answered something else than 200/204."""


def _check(resp: httpx.Response, path: str) -> None:
    if resp.status_code not in OK:
        resp.read()
        raise BadResponse(f"GET {path} -> {resp.status_code}: {resp.text[:300]}")


def fetch(base_url: str, path: str, *, encoding: str = "identity") -> httpx.Response:
    """One request, body read (for checks rather than timing)."""
    resp = httpx.get(base_url + path, headers={"Accept-Encoding": encoding}, timeout=60.0)
    _check(resp, path)
    return resp


def gzip_size(base_url: str, path: str) -> int:
    """Bytes on the wire of one response to a client accepting gzip (as sent, not decoded)."""
    with httpx.stream(
        "GET", base_url + path, headers={"Accept-Encoding": "gzip"}, timeout=60.0
    ) as resp:
        _check(resp, path)
        return sum(len(chunk) for chunk in resp.iter_raw())


def serial(base_url: str, paths: Sequence[str], *, requests: int, warm_up: bool = True) -> Latency:
    """Request ``paths`` one after the other, cycling, ``requests`` times; time each request.

    With ``warm_up`` every path is requested once first, untimed (connection pools, PostgreSQL
    buffers and, where a server has one, its tile cache are then warm).
    """
    samples: list[float] = []
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=60.0) as client:
        if warm_up:
            for path in paths:
                with client.stream("GET", path) as resp:
                    _check(resp, path)
                    resp.read()
        for i in range(requests):
            path = paths[i % len(paths)]
            t0 = time.perf_counter()
            with client.stream("GET", path) as resp:
                for _ in resp.iter_raw():
                    pass
            samples.append((time.perf_counter() - t0) * 1000.0)
            _check(resp, path)
    return Latency(tuple(samples))


def serial_encodings(
    base_url: str, paths: Sequence[str], *, requests: int, encodings: Sequence[str]
) -> dict[str, Latency]:
    """Like :func:`serial`, each path asked for with every ``Accept-Encoding`` in turn.

    The encodings alternate request by request (in a rotating order), so that their
    difference is the cost of the encoding and not of a slower or faster stretch of time.
    """
    samples: dict[str, list[float]] = {e: [] for e in encodings}
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=60.0) as client:

        def get(path: str, encoding: str) -> float:
            t0 = time.perf_counter()
            with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as resp:
                for _ in resp.iter_raw():
                    pass
            elapsed = (time.perf_counter() - t0) * 1000.0
            _check(resp, path)
            return elapsed

        for path in paths:
            for encoding in encodings:
                get(path, encoding)
        n = len(encodings)
        for i in range(requests):
            path = paths[i % len(paths)]
            for k in range(n):
                encoding = encodings[(i + k) % n]
                samples[encoding].append(get(path, encoding))
    return {e: Latency(tuple(v)) for e, v in samples.items()}


def wrk_available() -> bool:
    """True when wrk is on PATH, after trying to install it (``apt-get``, as root) if not."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    for attempt in ([install], [["apt-get", "update", "-qq"], install]):
        for cmd in attempt:
            print(f"==> {' '.join(cmd)}", flush=True)
            subprocess.run(cmd, env=env, capture_output=True, check=False, timeout=600)
        if shutil.which("wrk"):
            return True
    return False


_LUA = """-- written by bench/load.py: cycle through the paths, each thread from its own offset
local paths = {
%(paths)s
}
local headers = { %(headers)s }
local counter = 0
function setup(thread)
  thread:set("offset", counter * math.floor(#paths / %(threads)d))
  counter = counter + 1
end
local i = 0
function init(args)
  i = offset or 0
  for k, v in pairs(headers) do wrk.headers[k] = v end
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i - 1) %% #paths + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%%d duration_us=%%d errors=%%d p50_us=%%d p95_us=%%d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95)))
end
"""
_WRK_LINE = re.compile(
    r"BENCH requests=(\d+) duration_us=(\d+) errors=(\d+) p50_us=(\d+) p95_us=(\d+)"
)


def wrk(
    base_url: str,
    paths: Sequence[str],
    *,
    connections: int,
    threads: int,
    duration_s: float,
    work_dir: Path,
    name: str,
) -> Throughput:
    """Run wrk for ``duration_s`` with a Lua script cycling through ``paths``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    script = work_dir / f"{name}.lua"
    script.write_text(
        _LUA
        % {
            "paths": ",\n".join(f'  "{p}"' for p in paths),
            "headers": ", ".join(f'["{k}"] = "{v}"' for k, v in HEADERS.items()),
            "threads": threads,
        }
    )
    cmd = [
        "wrk",
        f"-c{connections}",
        f"-t{threads}",
        f"-d{int(duration_s)}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    (work_dir / f"{name}.wrk.txt").write_text(res.stdout + res.stderr)
    m = _WRK_LINE.search(res.stdout)
    if res.returncode != 0 or m is None:
        raise RuntimeError(
            f"wrk failed ({res.returncode}): {res.stdout[-500:]} {res.stderr[-500:]}"
        )
    requests, duration_us, errors, p50_us, p95_us = (int(g) for g in m.groups())
    return Throughput(
        "wrk", connections, duration_us / 1e6, requests, errors, p50_us / 1000, p95_us / 1000
    )


def asyncio_load(
    base_url: str, paths: Sequence[str], *, connections: int, duration_s: float
) -> Throughput:
    """The fallback when wrk is missing: ``connections`` asyncio workers on one httpx client.

    The generator itself is Python and shares the CPU with the servers: its throughput is a
    lower bound, lower than wrk's for the same server.
    """
    return asyncio.run(_asyncio_load(base_url, paths, connections, duration_s))


async def _asyncio_load(
    base_url: str, paths: Sequence[str], connections: int, duration_s: float
) -> Throughput:
    samples: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient, start: int, deadline: float) -> None:
        nonlocal errors
        i = start
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                async with client.stream("GET", path) as resp:
                    async for _ in resp.aiter_raw():
                        pass
                ok = resp.status_code in OK
            except httpx.HTTPError:
                ok = False
            samples.append((time.perf_counter() - t0) * 1000.0)
            errors += not ok

    async with httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, limits=limits, timeout=30.0
    ) as client:
        t0 = time.perf_counter()
        deadline = t0 + duration_s
        step = max(len(paths) // connections, 1)
        await asyncio.gather(*(worker(client, k * step, deadline) for k in range(connections)))
        elapsed = time.perf_counter() - t0
    lat = Latency(tuple(samples))
    return Throughput("python-asyncio", connections, elapsed, lat.n, errors, lat.p50, lat.p95)
