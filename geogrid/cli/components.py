"""``geogrid components``: import a component file (dry run or apply), review, history."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geogrid.catalogue import load_catalogue
from geogrid.changes.plans import Plan, get_plan
from geogrid.cli.common import transaction
from geogrid.cli.plans import print_plans, reject
from geogrid.components import update
from geogrid.components.report import write_component_plan_xlsx
from geogrid.components.upload import read_component_upload
from geogrid.settings import Settings

app = typer.Typer(
    help="Components (部件): inventory updates with plans and history.", no_args_is_help=True
)
out = Console()
BAR = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())


def show_plan(plan: Plan) -> None:
    s = plan.summary
    table = Table(title=f"Component plan {plan.id} · {plan.status}", show_header=False)
    table.add_row("file", f"{plan.file_name} ({plan.source_crs})")
    table.add_row("components in file", f"{s.get('components_in_file', 0):,}")
    table.add_row("codes generated", f"{s.get('codes_generated', 0):,}")
    for kind, n in s.get("changes", {}).items():
        table.add_row(f"{kind} ({update.KIND_LABELS.get(kind, '')})", f"{n:,}")
    table.add_row("unchanged", f"{s.get('unchanged', 0):,}")
    out.print(table)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Component file."),
    crs: str | None = typer.Option(None, help="CRS of a file without one: EPSG:xxxx or gcj02."),
    partial: bool = typer.Option(False, "--partial", help="Only some components: remove none."),
    apply: bool = typer.Option(False, "--apply", help="Apply the plan at once."),
    by: str = typer.Option("district-centre", help="Who submits the plan."),
) -> None:
    """Plan a component update from FILE (dry run by default); prints the summary and plan id."""
    catalogue = load_catalogue(Settings().catalogue_file)
    with Progress(*BAR, console=out) as bar, transaction() as conn:
        task = bar.add_task("reading", total=1.0)
        upload = read_component_upload(file, crs=crs)
        plan = update.plan_component_update(
            conn,
            upload,
            catalogue=catalogue,
            created_by=by,
            partial=partial,
            progress=lambda stage, f: bar.update(task, description=stage, completed=f),
        )
    show_plan(plan)
    if apply:
        with out.status("Applying…"), transaction() as conn:
            plan = update.apply_component_update(conn, plan.id, decided_by=by)
        out.print(f"[green]Applied plan {plan.id}[/]: it is now component version {plan.id}.")
    else:
        out.print(f"Dry run. Review it, then: geogrid components apply {plan.id}")


@app.command("apply")
def apply_cmd(plan_id: int, by: str = typer.Option("district-centre")) -> None:
    """Apply a pending plan (refused when the inventory changed since it was made)."""
    with out.status("Applying…"), transaction() as conn:
        plan = update.apply_component_update(conn, plan_id, decided_by=by)
    show_plan(plan)


@app.command("reject")
def reject_cmd(plan_id: int, by: str = typer.Option("district-centre")) -> None:
    """Reject a plan."""
    reject(out, update.KIND, plan_id, by)


@app.command("plans")
def plans_cmd() -> None:
    """List component plans, newest first."""
    print_plans(out, update.KIND)


@app.command("show")
def show_cmd(
    plan_id: int,
    xlsx: Path | None = typer.Option(None, help="Write the plan and its changes to this XLSX."),
) -> None:
    """Show a plan; optionally export it as a workbook."""
    with transaction() as conn:
        show_plan(get_plan(conn, plan_id, kind=update.KIND))
        if xlsx:
            write_component_plan_xlsx(conn, plan_id, xlsx)
            out.print(f"Wrote {xlsx}")


@app.command("history")
def history_cmd(code: str) -> None:
    """Every version of a component."""
    with transaction() as conn:
        versions = update.component_history(conn, code)
    table = Table("version", "subclass", "owner", "status", "from", "to", "plan")
    for v in versions:
        table.add_row(
            str(v["version"]),
            v["sub_class"],
            v["owner"] or "",
            v["status"],
            v["valid_from"].isoformat(timespec="seconds"),
            v["valid_to"].isoformat(timespec="seconds") if v["valid_to"] else "",
            str(v["change_id"] or ""),
        )
    out.print(table)


@app.command("restore")
def restore_cmd(version: int, by: str = typer.Option("district-centre")) -> None:
    """Roll the inventory back to a version (0 = initial), as a new version."""
    catalogue = load_catalogue(Settings().catalogue_file)
    with out.status("Restoring…"), transaction() as conn:
        plan = update.restore_component_version(conn, version, catalogue=catalogue, created_by=by)
    show_plan(plan)
