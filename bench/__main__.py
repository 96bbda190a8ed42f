"""``python -m bench [SUITE ...]``: run benchmark suites, print and record their results.

With no suite named, every suite runs. Each suite's section of ``bench/RESULTS.md`` is
replaced; the sections of suites not run are kept.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import replace
from types import FrameType

from bench import (
    cases,
    components,
    coverage,
    dispatch,
    grid_update,
    patrol,
    sanitation,
    satellite,
    stress,
    tiles,
)
from bench.report import RESULTS, Section, write_sections
from bench.stack import bench_stack
from bench.suite import Options, Suite

SUITES: dict[str, Suite] = {
    "tiles": tiles.run,
    "grid-update": grid_update.run,
    "cases": cases.run,
    "components": components.run,
    "patrol": patrol.run,
    "coverage": coverage.run,
    "dispatch": dispatch.run,
    "satellite": satellite.run,
    "sanitation": sanitation.run,
    "stress": stress.run,
}


def _parser() -> argparse.ArgumentParser:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("suites", nargs="*", metavar="SUITE", help=f"one of: {', '.join(SUITES)}")
    p.add_argument("--requests", type=int, default=d.requests, help="serial requests per case")
    p.add_argument("--items-requests", type=int, default=d.items_requests)
    p.add_argument("--duration", type=float, default=d.duration_s, help="seconds per load case")
    p.add_argument("--connections", type=int, default=d.connections)
    p.add_argument(
        "--cases", type=int, default=d.cases, help="cases of the grid-update and cases suites"
    )
    p.add_argument(
        "--idle-wait",
        type=float,
        default=d.idle_wait_s,
        help="longest total wait (s) for other work on the machine to finish before measuring",
    )
    p.add_argument(
        "--no-write", action="store_true", help=f"print only; leave {RESULTS.name} alone"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return p


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so that every server and the cluster are stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        _parser().error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITES)}")
    names = args.suites or list(SUITES)
    opts = replace(
        Options(),
        requests=args.requests,
        items_requests=args.items_requests,
        duration_s=args.duration,
        connections=args.connections,
        cases=args.cases,
        idle_wait_s=args.idle_wait,
    )
    signal.signal(signal.SIGTERM, _terminate)
    t0 = time.monotonic()
    sections: list[Section] = []
    with bench_stack() as stack:
        for name in names:
            print(f"== suite {name}", flush=True)
            section = SUITES[name](stack, opts)
            sections.append(section)
            print("\n" + section.markdown(), flush=True)
    if not args.no_write:
        write_sections(sections)
        print(f"wrote {', '.join(repr(s.title) for s in sections)} to {RESULTS}")
    print(f"done in {time.monotonic() - t0:.0f} s")
    missed = [s.title for s in sections if s.passed is False]
    if missed:
        print(f"targets missed in: {', '.join(missed)}")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
