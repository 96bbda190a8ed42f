"""Access control on every request, in one place: who is asking, may they, and the audit.

:class:`AccessControl` is an ASGI middleware, so it runs for every path the application will
ever have, before a route reads the request's body: a new endpoint is protected by default.
It finds the principal from an ``X-API-Key`` header, an ``Authorization: Bearer`` token or the
map pages' login cookie, applies :func:`geogrid.auth.authorize` (the role table of
``geogrid.auth.policy``), answers a refusal with 401 or 403 in the one error shape (a browser
opening a page without a login is sent to ``/login``), and writes the refusal and every write
to the audit trail. Scope (streets, supervisor) is checked further down, by the core write
functions, with ``principal.scope`` from :data:`WriterDep`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal
from urllib.parse import quote

import psycopg2
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import db_error_response, error_body
from geogrid.auth import (
    Access,
    Principal,
    Role,
    access_of,
    audit,
    authenticate,
    authorize,
    entity_of,
    load_or_create_secret,
)
from geogrid.db.engine import autocommit_connection
from geogrid.errors import DatabaseUnavailable, Forbidden, GeogridError, Unauthorized
from geogrid.settings import Settings

log = logging.getLogger("geogrid.api.auth")

COOKIE = "geogrid_session"
"""The map pages' login cookie: a signed token, HttpOnly, SameSite=Lax."""

Via = Literal["api_key", "token", "cookie"]


def signing_key(app: Any) -> str:
    """The token-signing key: ``GEOGRID_SECRET_KEY``, else the one kept in the data dir."""
    state = app.state
    if getattr(state, "secret_key", None) is None:
        settings: Settings = state.settings
        if settings.secret_key is not None:
            state.secret_key = settings.secret_key.get_secret_value()
        else:
            state.secret_key = load_or_create_secret(settings.data_dir / "secret_key")
    return str(state.secret_key)


def route_path(scope: Scope) -> str:
    """The path the router matches: the request's path without the application's root path."""
    path, root = scope["path"], scope.get("root_path", "")
    return (path[len(root) :] if root and path.startswith(root) else path) or "/"


def client_address(request: HTTPConnection) -> str | None:
    return request.client.host if request.client else None


def _credentials(request: HTTPConnection) -> tuple[Via | None, str | None]:
    """Which credential the request carries, and its value (an API key wins; an
    ``Authorization`` header of another scheme than Bearer gives an empty token)."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return "api_key", key
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return "token", token.strip() if scheme.lower() == "bearer" else ""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return "cookie", cookie
    return None, None


def _principal(request: HTTPConnection, via: Via | None, value: str | None) -> Principal | None:
    if via is None or value is None:
        return None
    if not value:
        raise Unauthorized(
            "The credential is empty or not a bearer token: send 'Authorization: Bearer <token>' "
            "(from POST /auth/token) or 'X-API-Key: <key>'."
        )
    token = value if via != "api_key" else None
    secret = signing_key(request.app) if token else ""
    with autocommit_connection(request.app.state.engine) as conn:
        return authenticate(
            conn, api_key=value if via == "api_key" else None, token=token, secret=secret
        )


def _same_origin(request: HTTPConnection) -> None:
    """A write made with the login cookie must come from a page of this site (CSRF)."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    host = request.headers.get("host", "")
    if not host or origin.split("://", 1)[-1].split("/", 1)[0] != host:
        raise Forbidden("A write with the login cookie must come from a page of this site.")


def _audit(request: HTTPConnection, principal: Principal | None, **fields: Any) -> None:
    """One audit row in its own transaction; a failure is logged, never shown to the client."""
    method = request.scope.get("method", "WEBSOCKET")
    try:
        with request.app.state.engine.begin() as conn:
            audit(
                conn,
                principal=principal,
                client=client_address(request),
                method=method,
                path=request.url.path,
                **fields,
            )
    except sa.exc.SQLAlchemyError as exc:
        log.warning("audit row of %s %s not written: %s", method, request.url.path, exc)


def _refusal(request: Request, exc: GeogridError, access: Access, via: Via | None) -> Response:
    status = 403 if isinstance(exc, Forbidden) else 401
    wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if status == 401 and access is Access.read and wants_page and via in (None, "cookie"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if via == "cookie":
            response.delete_cookie(COOKIE, path="/")
        return response
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    code = "forbidden" if status == 403 else "unauthorized"
    return JSONResponse(error_body(code, exc.message), status_code=status, headers=headers)


def _outcome(status: int) -> Literal["ok", "failed", "refused"]:
    if status < 400:
        return "ok"
    return "refused" if status in (401, 403) else "failed"


class AccessControl:
    """ASGI middleware: authenticate, authorise and audit every request (see module).

    WebSocket connections are checked as reads (none exists yet; a new one is not open by
    default); a refused one is closed before it is accepted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)
        method = scope.get("method", "GET")
        path = route_path(scope)
        access = access_of(method, path)
        if access is Access.public:
            await self.app(scope, receive, send)
            return
        settings: Settings = request.app.state.settings
        via: Via | None = None
        principal: Principal | None = None
        try:
            via, value = _credentials(request)
            principal = await run_in_threadpool(_principal, request, via, value)
            authorize(principal, method, path, public_read=settings.public_read)
            if via == "cookie" and access is Access.write:
                _same_origin(request)
        except (Unauthorized, Forbidden) as exc:
            await self._refuse(scope, receive, send, exc, access, via, principal)
            return
        except (sa.exc.DBAPIError, psycopg2.Error, DatabaseUnavailable) as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011})
                return
            response = isinstance(exc, sa.exc.DBAPIError) and db_error_response(exc, path)
            if not response:
                body = error_body(
                    "database_unavailable",
                    "The database is not available right now; try again in a few seconds.",
                )
                response = JSONResponse(body, status_code=503)
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        if access is not Access.write:
            await self.app(scope, receive, send)
            return
        state[PENDING] = True
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            await run_in_threadpool(self._audit_write, request, scope, principal, status)

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        exc: GeogridError,
        access: Access,
        via: Via | None,
        principal: Principal | None,
    ) -> None:
        """Answer a refusal (401, 403, or the login page for a browser) and audit it."""
        response = (
            None if scope["type"] == "websocket" else _refusal(Request(scope), exc, access, via)
        )
        status = response.status_code if response else 403 if isinstance(exc, Forbidden) else 401
        await run_in_threadpool(
            _audit,
            HTTPConnection(scope),
            principal,
            action="write" if access is Access.write else "read",
            outcome="refused",
            status=status,
            summary={"credential": via} if via else None,
            message=exc.message,
        )
        if response is None:
            await send({"type": "websocket.close", "code": 1008})
        else:
            await response(scope, receive, send)

    @staticmethod
    def _audit_write(
        request: HTTPConnection, scope: Scope, principal: Principal | None, status: int
    ) -> None:
        """The audit row of a write not already written with it (see :func:`audit_write`)."""
        state = scope.get("state", {})
        if not state.get(PENDING):
            return
        _audit(request, principal, **write_fields(scope, status))


PENDING = "audit_pending"
"""Request state flag: the write's audit row is still to be written."""


def write_fields(scope: Scope, status: int) -> dict[str, Any]:
    """The audit fields of a write: what (entity and id from the route, or what the route
    noted with :func:`note_change`: ids, before/after summary, plan), the outcome, the status."""
    route = scope.get("route")
    params = scope.get("path_params") or {}
    entity, entity_id = entity_of(str(getattr(route, "path", scope["path"])), params)
    noted = dict(scope.get("state", {}).get("audit") or {})
    plan_id = params.get("plan_id")
    status = int(noted.pop("status", status))
    return {
        "action": "write",
        "outcome": _outcome(status),
        "status": status,
        "entity": noted.pop("entity", entity),
        "entity_id": noted.pop("entity_id", entity_id),
        "plan_id": noted.pop("plan_id", str(plan_id) if plan_id is not None else None),
        "summary": noted.pop("summary", None),
        "message": noted.pop("message", None),
    }


def audit_write(conn: Connection, request: Request) -> None:
    """Write the audit row of a successful write in the write's own transaction.

    Called by the request's connection (:func:`api.deps.get_connection`) after the route
    returned and before the commit: the change and its audit row are committed together, or
    neither is. A write that fails (or uses no request connection) is audited afterwards by
    :class:`AccessControl`, with the status it was answered with."""
    state = request.scope.get("state", {})
    if not state.get(PENDING):
        return
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    audit(
        conn,
        principal=state.get("principal"),
        client=client_address(request),
        method=request.method,
        path=request.url.path,
        **write_fields(request.scope, status),
    )


def audit_written(request: Request) -> None:
    """Mark the write's audit row as committed (with the write)."""
    request.scope.get("state", {})[PENDING] = False


def note_change(request: Request, **fields: Any) -> None:
    """Let a write route add to its audit row: ``entity``, ``entity_id``, ``plan_id``,
    ``summary`` (before/after figures), ``message``, ``status`` (when it answers with
    another status than the route's own)."""
    noted = getattr(request.state, "audit", None) or {}
    request.state.audit = {**noted, **fields}


def note_plan(request: Request, plan: Any) -> None:
    """Let a plan route's audit row name the plan with its before/after: status, the layer
    versions it was computed against, the file, and its change counts (scalars only)."""
    counts = {
        k: v for k, v in (plan.summary or {}).items() if isinstance(v, int | float | str | bool)
    }
    note_change(
        request,
        plan_id=str(plan.id),
        summary={
            "kind": plan.kind,
            "status": plan.status,
            "file": plan.file_name,
            "file_sha256": plan.file_sha256,
            "computed_against": plan.base_versions,
            "changes": counts,
        },
    )


_api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def _documented(
    key: Annotated[str | None, Security(_api_key_scheme)] = None,
    token: Annotated[str | None, Security(_bearer_scheme)] = None,
) -> None:
    """Shows both credentials in the OpenAPI document; the checks are in AccessControl."""


def get_principal(request: Request) -> Principal | None:
    """The request's principal (None: anonymous, on a public read)."""
    return getattr(request.state, "principal", None)


def get_writer(request: Request) -> Principal:
    """The request's principal, which a write must have (fails closed without one)."""
    principal = get_principal(request)
    if principal is None:
        raise Unauthorized("Log in first: a write needs a role.")
    return principal


def require(*roles: Role) -> Any:
    """A dependency refusing (403) every principal whose role is not one of ``roles``."""

    def check(request: Request) -> Principal:
        principal = get_writer(request)
        if principal.role not in roles:
            names = ", ".join(map(str, roles))
            raise Forbidden(f"Only {names} may do this, not {principal.actor}.")
        return principal

    return Depends(check)


def actor_of(request: Request, given: str | None = None) -> str:
    """Who a record (a plan, a decision, a job) names as its author: the name the client gave
    (an integration acting for a person), else the logged-in principal. The audit row always
    names the principal."""
    if given:
        return given
    principal = get_principal(request)
    return principal.actor if principal else "anonymous"


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]
WriterDep = Annotated[Principal, Depends(get_writer)]


def install(app: FastAPI) -> None:
    """Put access control on ``app`` with its routes (token, login page, audit trail).

    Call it before including the other routers: they then show the credentials in the
    OpenAPI document. The checks themselves cover every path whatever the order.
    """
    from api.routers.auth import router  # that module uses this one's helpers

    app.add_middleware(AccessControl)
    app.router.dependencies.append(Depends(_documented))
    app.include_router(router)
