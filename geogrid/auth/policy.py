"""Which requests need which role: one table for every endpoint, pure functions over it.

The API applies :func:`authorize` to every request before it reaches a route, so a new
endpoint is protected by default: a read needs a login (unless the installation allows public
reads), a write needs a role that is listed for it here, and only ``admin`` may write
anywhere. Scope (which streets, which supervisor) is then checked by the core write functions
themselves (``geogrid.cases.store``, ``geogrid.patrol.fixes``), not here.
"""

from __future__ import annotations

from enum import StrEnum

from geogrid.auth.principal import Principal, Role
from geogrid.errors import Forbidden, Unauthorized

PUBLIC_PATHS = frozenset(
    {
        "/health",
        "/login",
        "/logout",
        "/auth/token",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
    }
)
"""Paths anyone may call: health, logging in and out, the API documentation."""

PUBLIC_PREFIXES = ("/static/",)
"""Path prefixes anyone may read: the map pages' scripts, styles and images."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

READ_ONLY_POSTS = frozenset({"/patrol/response-times"})
"""POST routes that compute an answer from the body and write nothing: reads."""

ADMIN_ONLY = ("/audit",)
"""Paths (and everything below them) only ``admin`` may even read."""

WRITES: dict[Role, frozenset[tuple[str, str]]] = {
    Role.street_operator: frozenset(
        {
            ("POST", "/cases"),
            ("POST", "/cases/import"),
            ("POST", "/patches/{patch_id}/handling"),
        }
    ),
    Role.supervisor: frozenset({("POST", "/tracks"), ("POST", "/cases")}),
    Role.viewer: frozenset(),
    Role.tracker: frozenset({("POST", "/tracks")}),
}
"""Writes (method, route path: ``{name}`` is one segment) each non-admin role may make;
``admin`` may make every write.

A street operator's handling records of satellite patches are limited to the patches of its
streets by ``geogrid.satellite.handling``.
"""

NO_READS = frozenset({Role.tracker})
"""Roles that read nothing: a GPS terminal only posts its fixes."""


class Access(StrEnum):
    """What a request needs: nothing, a login, or a role allowed to write."""

    public = "public"
    read = "read"
    write = "write"


def access_of(method: str, path: str) -> Access:
    """Classify a request by its method and path (the path as routed, without query)."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return Access.public
    if method.upper() in READ_METHODS or (method.upper() == "POST" and path in READ_ONLY_POSTS):
        return Access.read
    return Access.write


def _admin_only(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ADMIN_ONLY)


def permits(role: Role, method: str, path: str) -> bool:
    """Whether ``role`` may make this request (scope aside)."""
    if role is Role.admin:
        return True
    if _admin_only(path):
        return False
    if access_of(method, path) is not Access.write:
        return role not in NO_READS
    return any(method.upper() == m and matches(template, path) for m, template in WRITES[role])


def matches(template: str, path: str) -> bool:
    """Whether ``path`` is an instance of the route ``template`` (``{name}``: one segment)."""
    want, got = template.split("/"), path.split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}") and g != "")
        for w, g in zip(want, got, strict=True)
    )


def authorize(principal: Principal | None, method: str, path: str, *, public_read: bool) -> Access:
    """Return what the request needs if ``principal`` may make it; raise if it may not.

    Raises
    ------
    Unauthorized
        Nobody is logged in and the request is not public (nor a read with ``public_read``).
    Forbidden
        The principal's role does not allow the request.
    """
    access = access_of(method, path)
    if access is Access.public:
        return access
    if principal is None:
        if access is Access.read and public_read and not _admin_only(path):
            return access
        raise Unauthorized(
            "Log in first: send a bearer token from POST /auth/token or an X-API-Key header "
            "(map pages: /login)."
        )
    if not permits(principal.role, method, path):
        verb = "read" if access is Access.read else f"{method.upper()}"
        raise Forbidden(f"The role '{principal.role}' of {principal.actor} may not {verb} {path}.")
    return access
