"""What every suite receives: the run's options and the shared stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.report import Section
from bench.stack import BenchStack

OUT_DIR = Path(__file__).resolve().parent / "out"  # git-ignored: logs, wrk scripts, plans


@dataclass(frozen=True)
class Options:
    """Sizes of a run; the defaults are what RESULTS.md reports."""

    requests: int = 200  # serial requests per case
    items_requests: int = 50  # serial requests of items pages per server
    duration_s: float = 15.0  # per concurrent case
    connections: int = 8
    cases: int = 2_000_000  # historical cases of the grid-update suite
    threads: int = 2  # wrk threads
    idle_wait_s: float = 300.0  # longest total wait for an idle machine before measuring
    out_dir: Path = OUT_DIR


Suite = Callable[[BenchStack, Options], Section]
