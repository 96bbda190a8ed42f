"""Server processes under test: started on a free loopback port, always stopped afterwards.

Each server runs in its own session with a clean environment (no inherited ``GEOGRID_*``,
``TIPG_*``, ``DATABASE_URL`` or libpq variables) from a scratch working directory (so no
``.env`` file is read), with one uvicorn worker unless told otherwise and no access log. On
Linux the child also gets SIGTERM should the bench die without cleaning up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stack import free_port

_INHERITED_PREFIXES = ("GEOGRID_", "TIPG_", "POSTGRES_", "PG")
_INHERITED_NAMES = {"DATABASE_URL"}
PR_SET_PDEATHSIG = 1


class ServerError(RuntimeError):
    """A server did not start (its log tail is in the message)."""


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without server settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _INHERITED_NAMES and not k.startswith(_INHERITED_PREFIXES)
    }
    env.update(extra)
    return env


def _die_with_parent() -> None:
    with suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def uvicorn_argv(
    python: Path | str, app: str, port: int, *, factory: bool = False, workers: int = 1
) -> list[str]:
    """Command line of uvicorn serving ``app`` on ``127.0.0.1:port`` with ``workers`` workers."""
    argv = [str(python), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if factory:
        argv.append("--factory")
    if workers > 1:
        argv += ["--workers", str(workers)]
    return [*argv, "--no-access-log", "--log-level", "warning"]


@dataclass(frozen=True)
class Server:
    """A running server: its base URL (``http://127.0.0.1:PORT``) and process id."""

    url: str
    pid: int


@contextmanager
def serve(
    name: str,
    argv: list[str],
    *,
    port: int,
    env: Mapping[str, str],
    ready_path: str,
    work_dir: Path,
    timeout_s: float = 60.0,
) -> Iterator[Server]:
    """Run ``argv`` until the block ends; yield it once ``ready_path`` answers 200."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            env=clean_env(env),
            cwd=work_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(proc, base + ready_path, timeout_s, log_path)
            yield Server(base, proc.pid)
        finally:
            _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{proc.args!r} exited with {proc.returncode}: {_tail(log)}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise ServerError(f"{url} did not answer within {timeout_s:.0f} s: {_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def geogrid_server(
    database_url: str,
    *,
    tile_cache_size: int,
    work_dir: Path,
    name: str,
    public_read: bool = True,
    workers: int = 1,
) -> AbstractContextManager[Server]:
    """geogrid's API (``api.app:create_app``) on ``database_url`` with the given tile cache.

    With ``public_read`` (the default) anyone may read, as tipg serves the benchmarks;
    without it every request needs a credential, as in production.
    """
    port = free_port()
    env = {
        "GEOGRID_DATABASE_URL": database_url,
        "GEOGRID_TILE_CACHE_SIZE": str(tile_cache_size),
        "GEOGRID_PUBLIC_READ": "1" if public_read else "0",
    }
    argv = uvicorn_argv(sys.executable, "api.app:create_app", port, factory=True, workers=workers)
    return serve(name, argv, port=port, env=env, ready_path="/health", work_dir=work_dir)
