"""``geogrid assess``: score a rule set (考核) for a month and show why points were lost."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geogrid.assessment import AssessmentResult, assess_month, load_rule_set, read_manual
from geogrid.assessment.entries import rule_source
from geogrid.assessment.figures import fmt
from geogrid.assessment.inputs import UNIT_LABELS, UNIT_LEVELS
from geogrid.assessment.result import result_csv, result_xlsx
from geogrid.assessment.rules import preset_names
from geogrid.assessment.runs import create_run
from geogrid.cli.common import transaction
from geogrid.errors import InvalidParameter
from geogrid.patrol.coverage import CoverageRule
from geogrid.settings import Settings

out = Console()
REASONS_SHOWN = 3


def assess(
    rules: str = typer.Option(
        ..., "--rules", help=f"A rule file (.yaml, .toml) or a preset: {', '.join(preset_names())}."
    ),
    month: str = typer.Option(..., help="YYYY-MM; YYYY for an annual rule set (a calendar year)."),
    level: str | None = typer.Option(
        None, help=f"Units scored: {', '.join(UNIT_LEVELS)}; default the rule set's."
    ),
    manual: Path | None = typer.Option(
        None,
        "--manual",
        exists=True,
        dir_okay=False,
        help="CSV or XLSX of manual inputs: a unit column, then one column per item key.",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write the scores as .xlsx (with reasons) or .csv."
    ),
    store: bool = typer.Option(
        False, "--store", help="Store the run (GET /assessments/ID) and print its id."
    ),
) -> None:
    """Score the units by a rule set for a month (DOMAIN.md §7), with reasons for lost points."""
    if level is not None and level not in UNIT_LEVELS:
        raise InvalidParameter(f"Option '--level' must be one of {', '.join(UNIT_LEVELS)}.")
    rule_set = load_rule_set(rules)
    given = read_manual(manual, rule_set) if manual is not None else None
    settings = Settings()
    run_id: int | None = None
    with out.status("Scoring…"), transaction() as conn:
        if store:
            run = create_run(
                conn,
                rule_source(rules),
                month,
                created_by="cli",
                level=level,
                manual=given,
                indicator_options=settings.indicator_options(),
                coverage_rule=CoverageRule(),
            )
            result, run_id = run.result, run.id
        else:
            result = assess_month(
                conn,
                rule_set,
                month,
                level=level,
                manual=given,
                indicator_options=settings.indicator_options(),
                coverage_rule=CoverageRule(),
            )
    _print(result)
    if run_id is not None:
        out.print(f"Stored as assessment run {run_id}")
    if output is not None and output.suffix.lower() == ".xlsx":
        result_xlsx(result, output)
    elif output is not None:
        output.write_text("".join(result_csv(result)), encoding="utf-8")
    if output is not None:
        out.print(f"Wrote {len(result.units):,} unit(s) to {output}")


def _print(result: AssessmentResult) -> None:
    view = Table(title=f"{result.title}（{result.period}）")
    view.add_column("排名", justify="right")
    view.add_column(UNIT_LABELS.get(result.level, result.level))
    for part in result.parts:
        view.add_column(f"{part.name}\n{fmt(part.points)}", justify="right")
    view.add_column("总分", justify="right")
    view.add_column("待定", justify="right")
    for unit in result.units:
        view.add_row(
            str(unit.rank),
            unit.name,
            *(fmt(unit.parts[p.key]) for p in result.parts),
            fmt(unit.total),
            str(len(unit.pending)) if unit.pending else "",
        )
    out.print(view)
    for unit in result.units:
        lost = unit.lost_reasons(REASONS_SHOWN)
        if not lost:
            continue
        out.print(f"[bold]{unit.name}[/] 主要失分：")
        for item in lost:
            out.print(f"  - {item.name}（扣 {fmt(item.lost)} 分）：{'；'.join(item.reasons)}")
    pending = sum(len(u.pending) for u in result.units)
    if pending:
        out.print(
            f"{pending} item score(s) pending (待定): manual inputs missing; give them with "
            "--manual FILE."
        )
