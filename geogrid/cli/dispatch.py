"""``geogrid responsibility``: import rule files (dry run or apply), review, rules, dispatch."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from geogrid.catalogue import load_catalogue
from geogrid.changes.plans import Plan, get_plan
from geogrid.cli.common import transaction
from geogrid.cli.plans import print_plans, reject
from geogrid.dispatch import dispatch, update
from geogrid.dispatch.upload import read_rule_upload
from geogrid.settings import Settings

app = typer.Typer(
    help="Responsibility rules (责任规则) and dispatch (派遣): plans, history, dry runs.",
    no_args_is_help=True,
)
out = Console()


def _at(text: str | None, tz: str) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def show_plan(plan: Plan) -> None:
    s = plan.summary
    table = Table(title=f"Responsibility plan {plan.id} · {plan.status}", show_header=False)
    table.add_row("file", plan.file_name)
    table.add_row("rules in file", f"{s.get('rules_in_file', 0):,}")
    for kind, n in s.get("changes", {}).items():
        table.add_row(f"{kind} ({update.KIND_LABELS.get(kind, '')})", f"{n:,}")
    table.add_row("unchanged", f"{s.get('unchanged', 0):,}")
    table.add_row("conflicts", f"{s.get('conflict_count', 0):,}")
    moves = s.get("redispatch", {})
    table.add_row("open cases moving", f"{moves.get('open_cases_moving', 0):,}")
    for pair in moves.get("by_units", [])[:10]:
        table.add_row("", f"{pair['from_unit']} → {pair['to_unit']}: {pair['cases']:,}")
    out.print(table)
    for problem in s.get("conflicts", [])[:20]:
        out.print(f"[red]conflict[/] {problem['where']}: {problem['message']}")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Rule file."),
    crs: str | None = typer.Option(None, help="CRS of a file without one: EPSG:xxxx or gcj02."),
    partial: bool = typer.Option(False, "--partial", help="Only some rules: remove none."),
    apply: bool = typer.Option(False, "--apply", help="Apply the plan at once."),
    by: str = typer.Option("district-centre", help="Who submits the plan."),
) -> None:
    """Plan a rule update from FILE (dry run by default); prints the summary and plan id."""
    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_file)
    upload = read_rule_upload(file, crs=crs)
    with out.status("Planning…"), transaction() as conn:
        plan = update.plan_responsibility_update(
            conn,
            upload,
            catalogue=catalogue,
            created_by=by,
            partial=partial,
            tz=settings.timezone,
        )
    show_plan(plan)
    if apply:
        with out.status("Applying…"), transaction() as conn:
            plan = update.apply_responsibility_update(conn, plan.id, decided_by=by)
        out.print(f"[green]Applied plan {plan.id}[/]: it is now rule version {plan.id}.")
    else:
        out.print(f"Dry run. Review it, then: geogrid responsibility apply {plan.id}")


@app.command("apply")
def apply_cmd(plan_id: int, by: str = typer.Option("district-centre")) -> None:
    """Apply a pending plan (refused when stale or when it leaves conflicts)."""
    with out.status("Applying…"), transaction() as conn:
        plan = update.apply_responsibility_update(conn, plan_id, decided_by=by)
    show_plan(plan)


@app.command("reject")
def reject_cmd(plan_id: int, by: str = typer.Option("district-centre")) -> None:
    """Reject a plan."""
    reject(out, update.KIND, plan_id, by)


@app.command("plans")
def plans_cmd() -> None:
    """List responsibility plans, newest first."""
    print_plans(out, update.KIND)


@app.command("show")
def show_cmd(plan_id: int) -> None:
    """Show a plan: counts, conflicts, open cases that would move, and its changes."""
    with transaction() as conn:
        show_plan(get_plan(conn, plan_id, kind=update.KIND))
        changes = update.plan_changes(conn, plan_id, limit=200)
    table = Table("kind", "rule", "scope", "unit", "area", "changed")
    for c in changes:
        d = c["details"]
        table.add_row(
            c["kind"],
            c["code"],
            d.get("scope", ""),
            d.get("unit", ""),
            d.get("area_name") or d.get("area_kind", ""),
            ", ".join(d.get("changes", [])),
        )
    out.print(table)


@app.command("redispatch")
def redispatch_cmd(
    plan_id: int, at: str | None = typer.Option(None, help="ISO time (default now).")
) -> None:
    """List the open cases that would move to another unit if the plan were applied."""
    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_file)
    with transaction() as conn:
        moves = update.redispatch_plan(
            conn, plan_id, catalogue=catalogue, at=_at(at, settings.timezone)
        )
    table = Table("case", "subclass", "from", "to", "rule")
    for c in moves["cases"]:
        table.add_row(c["case_id"], c["sub_class"], c["from_unit"], c["to_unit"], c["to_rule"])
    out.print(table)
    out.print(f"{moves['open_cases_moving']:,} open case(s) would move.")


@app.command("rules")
def rules_cmd(
    at: str | None = typer.Option(None, help="Only rules valid at this ISO time."),
) -> None:
    """The current rules, most specific first."""
    with transaction() as conn:
        rules = update.current_rules(conn, at=_at(at, Settings().timezone))
    table = Table("rule", "type", "scope", "unit", "kind", "area", "priority", "from", "to")
    for r in rules:
        table.add_row(
            r["code"],
            r["case_type"] or "",
            r["scope"],
            r["unit"],
            r["unit_kind"],
            r["area_name"] or r["area_kind"],
            "" if r["priority"] is None else str(r["priority"]),
            r["valid_from"].isoformat(timespec="minutes") if r["valid_from"] else "",
            r["valid_to"].isoformat(timespec="minutes") if r["valid_to"] else "",
        )
    out.print(table)


@app.command("history")
def history_cmd(code: str) -> None:
    """Every version of a rule."""
    with transaction() as conn:
        versions = update.rule_history(conn, code)
    table = Table("version", "scope", "unit", "area", "plan", "ended by")
    for v in versions:
        table.add_row(
            str(v["version"]),
            v["scope"],
            v["unit"],
            v["area_name"] or v["area_kind"],
            str(v["change_id"]),
            str(v["ended_by"] or ""),
        )
    out.print(table)


@app.command("dispatch")
def dispatch_cmd(
    lon: float,
    lat: float,
    sub_class: str,
    case_type: str | None = typer.Option(None, help="component or event."),
    at: str | None = typer.Option(None, help="ISO time (default now)."),
) -> None:
    """The responsible unit of a case at LON LAT (WGS84) of SUB_CLASS, and why."""
    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_file)
    with transaction() as conn:
        result = dispatch(
            conn,
            lon,
            lat,
            sub_class,
            _at(at, settings.timezone),
            catalogue=catalogue,
            case_type=case_type,
            tz=settings.timezone,
        )
    out.print(result.reason)
    out.print(result.reason_en)
