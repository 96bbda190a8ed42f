"""Logging in (a bearer token, or the map pages' cookie) and reading the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.engine import Connection

from api.auth import COOKIE, client_address, require, signing_key
from api.deps import ConnDep, ReadConnDep, SettingsDep
from api.errors import error_body
from geogrid.auth import (
    Role,
    User,
    audit,
    check_login,
    failed_logins,
    list_audit,
    login_token,
    read_token,
)
from geogrid.errors import GeogridError
from geogrid.settings import Settings
from maps.login import TOO_MANY, WRONG, login_page

router = APIRouter(tags=["Access"])

DEFAULT_NEXT = "/maps/grids"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


WRONG_LOGIN = "Wrong username or password, or a disabled account."


def _throttled(settings: Settings) -> str:
    minutes = max(1, settings.login_window_s // 60)
    return (
        f"Too many failed logins for this account or address; wait {minutes} minute(s) "
        "and try again."
    )


def _login(
    conn: Connection, request: Request, settings: Settings, username: str, password: str
) -> tuple[User | None, int]:
    """Check a login and write its audit row (a failed one names the username tried).

    Returns the user (None: refused) and the status: 200, 401 (wrong credentials) or 429
    (too many failures of the username or address within the window: the password is not
    even checked)."""
    client = client_address(request)
    failures = failed_logins(
        conn, username=username[:64], client=client, window_s=settings.login_window_s
    )
    throttled = failures >= settings.login_attempts
    user = None if throttled else check_login(conn, username, password)
    status = 200 if user else 429 if throttled else 401
    audit(
        conn,
        action="login",
        outcome="ok" if user else "refused" if throttled else "failed",
        principal=user.principal if user else None,
        actor=None if user else username[:64],
        client=client,
        method=request.method,
        path=request.url.path,
        status=status,
        message=None if user else _throttled(settings) if throttled else WRONG_LOGIN,
    )
    return user, status


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return DEFAULT_NEXT
    return target


@router.post("/auth/token", response_model=None)
def token(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> dict[str, Any] | JSONResponse:
    """OAuth2 password flow: a signed bearer token for a username and password."""
    user, status = _login(conn, request, settings, username, password)
    if user is None:
        # Answered, not raised: the audit row of the failed login must be committed.
        if status == 429:
            return JSONResponse(
                error_body("too_many_attempts", _throttled(settings)),
                status_code=429,
                headers={"Retry-After": str(settings.login_window_s)},
            )
        return JSONResponse(
            error_body("unauthorized", WRONG_LOGIN),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    minutes = settings.token_minutes
    return {
        "access_token": login_token(user, secret=signing_key(request.app), minutes=minutes),
        "token_type": "bearer",
        "expires_in": minutes * 60,
    }


@router.get("/login", response_class=HTMLResponse)
def login_form(next: Annotated[str | None, Query(max_length=2000)] = None) -> HTMLResponse:
    """The login page of the map pages (Chinese labels); logging in sets a cookie."""
    return HTMLResponse(login_page(next_path=_safe_next(next)), headers=PAGE_HEADERS)


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Log in from the login page: set the HttpOnly session cookie and go back to the page."""
    target = _safe_next(next)
    user, status = _login(conn, request, settings, username, password)
    if user is None:
        error = WRONG if status == 401 else TOO_MANY
        page = login_page(next_path=target, username=username, error=error)
        return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)
    minutes = settings.session_minutes
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        login_token(user, secret=signing_key(request.app), minutes=minutes),
        max_age=minutes * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_model=None)
def logout(request: Request, conn: ConnDep) -> Response:
    """Log out of the map pages: the cookie is removed; then the login page."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        try:
            who: str | None = read_token(cookie, secret=signing_key(request.app)).username
        except GeogridError:
            who = None
        audit(
            conn,
            action="logout",
            outcome="ok",
            actor=who,
            client=client_address(request),
            method=request.method,
            path=request.url.path,
            status=303,
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/audit", dependencies=[require(Role.admin)])
def audit_trail(
    request: Request,
    conn: ReadConnDep,
    actor: Annotated[str | None, Query(description="A username or key:<name>.")] = None,
    action: Annotated[
        Literal["read", "write", "login", "logout", "user", "key"] | None, Query()
    ] = None,
    outcome: Annotated[Literal["ok", "failed", "refused"] | None, Query()] = None,
    method: Annotated[str | None, Query(max_length=10)] = None,
    entity: Annotated[str | None, Query(description="e.g. cases, grid-updates.")] = None,
    entity_id: Annotated[str | None, Query()] = None,
    plan_id: Annotated[str | None, Query()] = None,
    client: Annotated[str | None, Query(description="Client address.")] = None,
    first: Annotated[datetime | None, Query(alias="from", description="From (ISO time).")] = None,
    last: Annotated[datetime | None, Query(alias="to", description="Before (ISO time).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The audit trail, newest first (admins): writes, logins, refused requests, accounts."""
    given = {
        "actor": actor,
        "action": action,
        "outcome": outcome,
        "method": method.upper() if method else None,
        "entity": entity,
        "entity_id": entity_id,
        "plan_id": plan_id,
        "client": client,
    }
    filters = {k: v for k, v in given.items() if v is not None}
    rows = list_audit(
        conn, filters=filters, since=first, until=last, limit=limit + 1, offset=offset
    )
    body: dict[str, Any] = {"items": rows[:limit], "limit": limit, "offset": offset, "links": {}}
    if len(rows) > limit:
        body["links"]["next"] = str(request.url.include_query_params(offset=offset + limit))
    return body
