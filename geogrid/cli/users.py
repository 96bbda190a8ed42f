"""``geogrid users`` and ``geogrid keys``: accounts and API keys, audited as the OS user.

Passwords are typed at a hidden prompt, read from standard input (``--password-stdin``, for
scripts) or generated (``--generate``, printed once). API keys are printed once, at creation.
"""

from __future__ import annotations

import getpass
import socket
import sys
from typing import Any, Literal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Connection

from geogrid.auth import (
    Role,
    audit,
    create_api_key,
    create_user,
    generate_password,
    list_api_keys,
    list_users,
    reset_password,
    revoke_api_key,
    set_disabled,
)
from geogrid.cli.common import transaction

users = typer.Typer(help="Accounts that log in (users and their roles).", no_args_is_help=True)
keys = typer.Typer(help="API keys of machine clients.", no_args_is_help=True)
out = Console()

STREET = typer.Option(
    [], "--street", help="Street code a street_operator writes cases of (repeat for several)."
)
SUPERVISOR = typer.Option(
    None, "--supervisor", help="Supervisor id of a supervisor account, tracker id of a tracker key."
)
GENERATE = typer.Option(False, "--generate", help="Generate a password and print it once.")
STDIN = typer.Option(False, "--password-stdin", help="Read the password from standard input.")


def os_user() -> str:
    """Who runs the command, as the audit trail names them: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


def _cli_audit(
    conn: Connection, *, action: Literal["user", "key"], entity_id: str, **summary: Any
) -> None:
    """The audit row of a command: the OS user on this host."""
    audit(
        conn,
        action=action,
        outcome="ok",
        actor=os_user(),
        client=f"cli@{socket.gethostname()}",
        entity="users" if action == "user" else "api_keys",
        entity_id=entity_id,
        summary=summary,
    )


def _password(generate: bool, from_stdin: bool) -> tuple[str, bool]:
    """The new password, and whether it was generated (then it must be shown)."""
    if generate:
        return generate_password(), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


@users.command("add")
def add(
    username: str = typer.Argument(..., help="Login name: letters, digits, _ . @ -"),
    role: Role = typer.Option(..., help="admin, street_operator, supervisor or viewer."),
    street: list[str] = STREET,
    supervisor: str = SUPERVISOR,
    name: str = typer.Option(None, help="Display name (e.g. 张三)."),
    generate: bool = GENERATE,
    password_stdin: bool = STDIN,
) -> None:
    """Create a user with a role (and its streets or supervisor id)."""
    password, shown = _password(generate, password_stdin)
    with transaction() as conn:
        user = create_user(
            conn,
            username=username,
            role=role,
            password=password,
            streets=street,
            supervisor_id=supervisor,
            display_name=name,
        )
        _cli_audit(conn, action="user", entity_id=username, command="add", role=str(role))
    out.print(f"[green]Created user {user.username}[/] ({user.role}).")
    if shown:
        out.print(f"Password (shown once): [bold]{password}[/]")


@users.command("list")
def list_cmd() -> None:
    """Every user with role, scope and state."""
    with transaction() as conn:
        found = list_users(conn)
    table = Table("username", "name", "role", "streets / supervisor", "state", "created")
    for u in found:
        scope = ", ".join(u.streets) or (u.supervisor_id or "")
        state = "[red]disabled[/]" if u.disabled else "active"
        created = f"{u.created_at:%Y-%m-%d %H:%M}"
        table.add_row(u.username, u.display_name or "", str(u.role), scope, state, created)
    out.print(table)


@users.command("disable")
def disable(
    username: str = typer.Argument(...),
    enable: bool = typer.Option(False, "--enable", help="Enable the user again instead."),
) -> None:
    """Disable a user: no login, and their tokens and login cookies stop working at once."""
    with transaction() as conn:
        user = set_disabled(conn, username, disabled=not enable)
        command = "enable" if enable else "disable"
        _cli_audit(conn, action="user", entity_id=username, command=command)
    out.print(f"User {user.username} is now {'disabled' if user.disabled else 'active'}.")


@users.command("reset-password")
def reset(
    username: str = typer.Argument(...),
    generate: bool = GENERATE,
    password_stdin: bool = STDIN,
) -> None:
    """Set a new password; the user's tokens and login cookies stop working."""
    password, shown = _password(generate, password_stdin)
    with transaction() as conn:
        reset_password(conn, username, password)
        _cli_audit(conn, action="user", entity_id=username, command="reset-password")
    out.print(f"[green]New password set[/] for {username}.")
    if shown:
        out.print(f"Password (shown once): [bold]{password}[/]")


@keys.command("create")
def create_key(
    name: str = typer.Argument(..., help="Name of the client: letters, digits, _ . @ -"),
    role: Role = typer.Option(
        ..., help="admin, street_operator, supervisor, viewer or tracker (a GPS terminal)."
    ),
    street: list[str] = STREET,
    supervisor: str = SUPERVISOR,
) -> None:
    """Create an API key (sent as the X-API-Key header); it is printed once."""
    with transaction() as conn:
        created, key = create_api_key(
            conn,
            name=name,
            role=role,
            created_by=os_user(),
            streets=street,
            supervisor_id=supervisor,
        )
        _cli_audit(conn, action="key", entity_id=name, command="create", role=str(role))
    out.print(f"[green]Created API key {created.name}[/] ({created.role}). Key (shown once):")
    print(key)


@keys.command("revoke")
def revoke(name: str = typer.Argument(...)) -> None:
    """Revoke an API key at once."""
    with transaction() as conn:
        revoked = revoke_api_key(conn, name)
        _cli_audit(conn, action="key", entity_id=name, command="revoke")
    out.print(f"API key {revoked.name} revoked.")


@keys.command("list")
def list_keys() -> None:
    """Every API key (never the key itself): name, prefix, role, scope, state."""
    with transaction() as conn:
        found = list_api_keys(conn)
    table = Table("name", "prefix", "role", "streets / supervisor", "state", "created by")
    for k in found:
        scope = ", ".join(k.streets) or (k.supervisor_id or "")
        state = f"[red]revoked {k.revoked_at:%Y-%m-%d}[/]" if k.revoked_at else "active"
        table.add_row(k.name, k.prefix + "…", str(k.role), scope, state, k.created_by)
    out.print(table)
