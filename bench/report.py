"""What a suite reports: markdown tables, the machine it ran on, and RESULTS.md sections.

``bench/RESULTS.md`` is a title, a short preamble and one ``## <title>`` section per suite.
Writing a suite's section replaces the section of the same title and leaves the others alone,
so suites of different issues can be run (and re-run) independently.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PREAMBLE = """# Benchmarks

Measured by `make bench` (`python -m bench [SUITE ...]`, see `bench/__init__.py`). Every
section is written by one suite, which replaces only its own section; each says when, on what
machine and how it was measured.
"""


@dataclass(frozen=True)
class Section:
    """One suite's results: ``body`` is markdown without the ``## title`` heading."""

    title: str
    body: str
    passed: bool | None = None  # None: the suite has no targets

    def markdown(self) -> str:
        return f"## {self.title}\n\n{self.body.strip()}\n"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; the first column is left-aligned, the others right-aligned."""
    align = [":--"] + ["--:"] * (len(headers) - 1)
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def busy_cpus(seconds: float = 2.0) -> float:
    """Mean number of other runnable tasks over ``seconds`` (from ``/proc/loadavg``).

    Sampled while this process only sleeps between samples, so anything above ~0 is other work
    on the machine (a test suite, a build) that would skew every latency measured here.
    """
    samples = []
    for _ in range(max(int(seconds / 0.1), 1)):
        running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        samples.append(max(int(running) - 1, 0))  # minus this process, reading the file
        time.sleep(0.1)
    return sum(samples) / len(samples)


def wait_for_idle(max_wait_s: float, *, threshold: float = 0.2) -> float:
    """Wait (up to ``max_wait_s``) until :func:`busy_cpus` is below ``threshold``; return it."""
    deadline = time.monotonic() + max_wait_s
    busy = busy_cpus()
    if busy >= threshold and max_wait_s > 0:
        print(
            f"==> machine busy ({busy:.1f} other runnable tasks): waiting up to {max_wait_s:.0f} s"
        )
    while busy >= threshold and time.monotonic() < deadline:
        busy = busy_cpus()
    return busy


def machine(engine: Engine) -> str:
    """One markdown paragraph: date, CPUs, memory, OS, Python, PostgreSQL, PostGIS and GEOS."""
    with engine.connect() as conn:
        pg = conn.execute(sa.text("SHOW server_version")).scalar_one()
        postgis = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one()
        geos = conn.execute(sa.text("SELECT postgis_geos_version()")).scalar_one()
        jit = conn.execute(sa.text("SHOW jit")).scalar_one()
    mem = memory_gib()
    facts = [
        f"**Date** {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"**CPU** {os.cpu_count()} × {cpu_model()} (nproc {len(os.sched_getaffinity(0))})",
        f"**RAM** {mem:.1f} GiB" if mem else "",
        f"**OS** {platform.platform(terse=True)}",
        f"**Python** {platform.python_version()}",
        f"**PostgreSQL** {pg} (jit={jit}, fsync off, throw-away cluster)",
        f"**PostGIS** {postgis} (GEOS {geos.split('-')[0]})",
    ]
    return " · ".join(f for f in facts if f)


def write_sections(sections: Sequence[Section], path: Path = RESULTS) -> None:
    """Replace (or append) each section in ``path``, keeping every other section as it was."""
    text = path.read_text() if path.exists() else PREAMBLE
    head, found = _split(text)
    for section in sections:
        found[section.title] = section.markdown()
    path.write_text(head.rstrip() + "\n\n" + "\n".join(found.values()))


def _split(text: str) -> tuple[str, dict[str, str]]:
    """The text before the first ``## `` heading, and each section's text by title (in order)."""
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = head
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        current.append(line)
    return "\n".join(head), {t: "\n".join(lines).strip() + "\n" for t, lines in sections.items()}
