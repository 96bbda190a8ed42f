"""Dispatch suite: 200,000 imported cases sent to their responsible units at city scale.

On the ``city`` demo territory: the demo's sanitation companies hold one responsibility rule
per cleaning area (a polygon) and sanitation subclass, applied through a plan; 200,000 demo
cases (every subclass, most of them matched by no rule and so sent to the catalogue's default
department) are dispatched at once with :func:`geogrid.dispatch.match.dispatch_many`: one COPY
in, one statement choosing the most specific rule per case, one COPY out.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from datetime import date

from bench.report import Section, machine, table, wait_for_idle
from bench.stack import BenchStack
from bench.suite import Options
from geogrid.catalogue import load_catalogue
from geogrid.demo import build_cases, build_district
from geogrid.demo.sanitation import build_sanitation
from geogrid.dispatch.match import dispatch_many
from geogrid.dispatch.update import apply_responsibility_update, plan_responsibility_update
from geogrid.dispatch.upload import RuleUpload

SEED = 5  # its own database: this suite writes rules
COUNT = 200_000
RUNS = 3
TARGET_S = 30.0
DAY = date(2026, 10, 1)


def run(stack: BenchStack, opts: Options) -> Section:
    """Measure the dispatch of 200,000 cases by the demo's responsibility rules."""
    db = stack.demo("city", seed=SEED)
    district = build_district("city", seed=SEED)
    catalogue = load_catalogue()
    demo = build_sanitation(district, first=DAY, last=DAY, seed=SEED)
    digest = hashlib.sha256(demo.rules.drop(columns="geometry").to_csv().encode()).hexdigest()
    with db.engine.begin() as conn:
        plan = plan_responsibility_update(
            conn,
            RuleUpload(demo.rules, "bench rules", digest, "EPSG:4326"),
            catalogue=catalogue,
            created_by="bench",
        )
        apply_responsibility_update(conn, plan.id, decided_by="bench")
    cases = build_cases(district, count=COUNT, end=DAY, seed=SEED)
    frame = cases[["lon", "lat", "sub_class"]].reset_index(drop=True)
    wait_for_idle(opts.idle_wait_s)
    times = []
    for _ in range(RUNS):
        with db.engine.begin() as conn:
            t0 = time.perf_counter()
            answer = dispatch_many(conn, frame, catalogue=catalogue)
            times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    by_rule = int(answer["rule_id"].notna().sum())
    companies = int((answer["unit_kind"] == "company").sum())
    rows = [
        [
            f"responsibility rules: {len(demo.rules):,} (one per cleaning area and sanitation "
            "subclass, polygons)",
            "",
            "",
            "",
        ],
        [
            f"dispatch of {len(frame):,} demo cases (one COPY in, one statement, one COPY "
            f"out): {by_rule:,} by a rule ({companies:,} to a company), the rest to the "
            f"catalogue's department; median of {RUNS}",
            f"{median:.1f} s",
            f"≤ {TARGET_S:.0f} s",
            "PASS" if median <= TARGET_S else "MISS",
        ],
    ]
    body = "\n\n".join(
        [
            table(["measure", "value", "target", ""], rows),
            f"The `city` demo territory (seed {SEED}) and the demo's sanitation companies.",
            machine(db.engine),
            "Reproduce: `make bench ARGS=dispatch`.",
        ]
    )
    return Section(
        "Dispatch (issue: sanitation and responsibility)", body, passed=median <= TARGET_S
    )
