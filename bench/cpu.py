"""How much CPU other work on the machine took while a measurement ran (Linux ``/proc``).

On a shared machine a test suite or a build running next to the bench inflates every latency.
:class:`ForeignCpu` measures it instead of guessing: the machine's busy CPU time during the
interval minus what the bench's own process tree used (this process and its children: the
servers and wrk; and the PostgreSQL postmaster of the throw-away cluster with its backends).
Children that exit inside the interval are counted through their parent's ``cutime``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_ticks() -> int:
    """Busy CPU ticks of the whole machine (user, nice, system, irq, softirq; no steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return user + nice + system + irq + softirq


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, utime + stime + cutime + cstime) of ``pid``, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text.rsplit(")", 1)[1].split()  # fields after "pid (comm)"
    ppid = int(rest[1])
    ticks = sum(int(v) for v in rest[11:15])
    return ppid, ticks


def _tree_ticks(roots: Iterable[int]) -> dict[int, int]:
    """CPU ticks of every process under ``roots`` (inclusive)."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[int, int] = {}
    todo = [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        if pid not in out:
            out[pid] = stats[pid][1]
            todo += children.get(pid, [])
    return out


class ForeignCpu:
    """Average number of CPUs used by processes outside the bench's tree during an interval."""

    def __init__(self, roots: Iterable[int]) -> None:
        self.roots = [os.getpid(), *roots]
        self._t0 = time.monotonic()
        self._busy0 = _busy_ticks()
        self._ours0 = _tree_ticks(self.roots)

    def cpus(self) -> float:
        """Other processes' CPU use since construction, in CPUs (0 = none, 1 = a whole core)."""
        wall = time.monotonic() - self._t0
        ours1 = _tree_ticks(self.roots)
        ours = sum(ours1.values()) - sum(self._ours0.values())
        foreign = _busy_ticks() - self._busy0 - ours
        return max(foreign, 0) / CLK_TCK / wall if wall > 0 else 0.0


class TreeCpu:
    """CPU seconds used over an interval by named process trees (e.g. server, PostgreSQL)."""

    def __init__(self, trees: dict[str, list[int]]) -> None:
        self.trees = trees
        self._start = {name: sum(_tree_ticks(roots).values()) for name, roots in trees.items()}

    def seconds(self) -> dict[str, float]:
        """CPU seconds each tree used since construction."""
        return {
            name: (sum(_tree_ticks(roots).values()) - self._start[name]) / CLK_TCK
            for name, roots in self.trees.items()
        }
