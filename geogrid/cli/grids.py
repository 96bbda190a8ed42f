"""``geogrid grids``: import a grid update (dry run or apply), review, apply, history, restore."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from geogrid.changes.plans import Plan, get_plan
from geogrid.cli.common import transaction
from geogrid.cli.plans import print_plans, reject
from geogrid.grids import report, store, update
from geogrid.grids.diff import KIND_LABELS
from geogrid.grids.upload import read_grid_upload
from geogrid.settings import Settings

app = typer.Typer(
    help="Unit grids (单元网格): updates with plans and history.", no_args_is_help=True
)
out = Console()


def show_plan(plan: Plan) -> None:
    s = plan.summary
    table = Table(title=f"Grid plan {plan.id} · {plan.status}", show_header=False)
    table.add_row("file", f"{plan.file_name} ({plan.source_crs})")
    table.add_row("communities", str(len(s.get("community_codes", []))))
    table.add_row("grids", f"{s.get('grids_before', 0)} → {s.get('grids_in_file', 0)}")
    for kind, n in s.get("changes", {}).items():
        table.add_row(f"{kind} ({KIND_LABELS.get(kind, '')})", str(n))
    cases = s.get("cases", {})
    table.add_row(
        "cases listed / reassigned / unassigned",
        f"{cases.get('listed', 0)} / {cases.get('reassigned', 0)} / {cases.get('unassigned', 0)}",
    )
    table.add_row("warnings", str(len(plan.warnings)))
    out.print(table)
    for w in plan.warnings[:20]:
        out.print(f"  [yellow]warning[/] {w['where']}: {w['message']}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Grid file."),
    crs: str | None = typer.Option(None, help="CRS of a file without one: EPSG:xxxx or gcj02."),
    apply: bool = typer.Option(False, "--apply", help="Apply the plan at once."),
    fix: bool = typer.Option(False, "--fix", help="Repair invalid geometries (make_valid)."),
    by: str = typer.Option("district-centre", help="Who submits the plan."),
) -> None:
    """Plan a grid update from FILE (dry run by default); prints the summary and the plan id."""
    settings = Settings()
    with out.status("Reading, validating and diffing…"), transaction() as conn:
        upload = read_grid_upload(file, crs=crs)
        plan = update.plan_grid_update(
            conn,
            upload,
            created_by=by,
            fix=fix,
            area_band=(settings.grid_area_min_m2, settings.grid_area_max_m2),
        )
    show_plan(plan)
    if apply:
        with out.status("Applying…"), transaction() as conn:
            plan = update.apply_grid_update(conn, plan.id, decided_by=by)
        out.print(f"[green]Applied plan {plan.id}[/]: it is now grid version {plan.id}.")
    else:
        out.print(f"Dry run. Review it, then: geogrid grids apply {plan.id}")


@app.command("apply")
def apply_cmd(plan_id: int, by: str = typer.Option("district-centre")) -> None:
    """Apply a pending plan (refused when the data changed since it was made)."""
    with out.status("Applying…"), transaction() as conn:
        plan = update.apply_grid_update(conn, plan_id, decided_by=by)
    show_plan(plan)


@app.command("reject")
def reject_cmd(plan_id: int, by: str = typer.Option("district-centre")) -> None:
    """Reject a plan."""
    reject(out, update.KIND, plan_id, by)


@app.command("plans")
def plans_cmd() -> None:
    """List grid plans, newest first."""
    print_plans(out, update.KIND)


@app.command("show")
def show_cmd(
    plan_id: int,
    xlsx: Path | None = typer.Option(None, help="Write the plan and its 对照表 to this XLSX."),
    csv: Path | None = typer.Option(None, help="Write the 对照表 to this CSV."),
) -> None:
    """Show a plan; optionally export its 对照表."""
    with transaction() as conn:
        show_plan(get_plan(conn, plan_id, kind=update.KIND))
        if xlsx:
            report.write_plan_xlsx(conn, plan_id, xlsx)
            out.print(f"Wrote {xlsx}")
        if csv:
            with csv.open("w", encoding="utf-8", newline="") as fh:
                fh.writelines(report.cross_reference_csv(conn, plan_id))
            out.print(f"Wrote {csv}")


@app.command("history")
def history_cmd(code: str) -> None:
    """Every version of grid CODE."""
    with transaction() as conn:
        versions = store.grid_history(conn, code)
    table = Table(
        "version", "community", "area m²", "valid from", "valid to", "by plan", "ended by"
    )
    for v in versions:
        table.add_row(
            str(v["version"]),
            v["community_code"],
            f"{v['area_m2']:,.1f}",
            v["valid_from"],
            v["valid_to"] or "",
            str(v["change_id"] or ""),
            str(v["ended_by"] or ""),
        )
    out.print(table)


@app.command("restore")
def restore_cmd(version: int, by: str = typer.Option("district-centre")) -> None:
    """Roll the grids back to VERSION (a plan id, or 0 for the initial state)."""
    with out.status("Restoring…"), transaction() as conn:
        plan = update.restore_grid_version(conn, version, created_by=by)
    show_plan(plan)
    out.print(f"[green]Restored version {version}[/] as new version {plan.id}.")
