"""Access control (issue 8): users, roles, API keys, tokens and the audit trail.

The public surface the API and the CLI call. Nothing here reads settings or knows HTTP: the
API turns a request's credentials into a :class:`Principal` with :func:`authenticate`, checks
it with :func:`authorize`, passes ``principal.scope`` to the core write functions, and records
what happened with :func:`audit`.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from geogrid.auth.audit import audit, entity_of, failed_logins, list_audit
from geogrid.auth.bootstrap import FirstAdmin, ensure_admin
from geogrid.auth.keys import (
    ApiKey,
    create_api_key,
    key_principal,
    list_api_keys,
    revoke_api_key,
)
from geogrid.auth.passwords import generate_password
from geogrid.auth.policy import Access, access_of, authorize, permits
from geogrid.auth.principal import UNLIMITED, Principal, Role, Scope
from geogrid.auth.tokens import issue_token, load_or_create_secret, read_token
from geogrid.auth.users import (
    User,
    check_login,
    create_user,
    get_user,
    list_users,
    reset_password,
    set_disabled,
    token_principal,
)

__all__ = [
    "UNLIMITED",
    "Access",
    "ApiKey",
    "FirstAdmin",
    "Principal",
    "Role",
    "Scope",
    "User",
    "access_of",
    "audit",
    "authenticate",
    "authorize",
    "check_login",
    "create_api_key",
    "create_user",
    "ensure_admin",
    "entity_of",
    "failed_logins",
    "generate_password",
    "get_user",
    "issue_token",
    "list_api_keys",
    "list_audit",
    "list_users",
    "load_or_create_secret",
    "login_token",
    "permits",
    "read_token",
    "reset_password",
    "revoke_api_key",
    "set_disabled",
]


def authenticate(
    conn: Connection, *, api_key: str | None = None, token: str | None = None, secret: str = ""
) -> Principal | None:
    """The principal of the given credentials; None when none is given.

    An API key wins over a token. ``secret`` is the token-signing key.

    Raises
    ------
    Unauthorized
        A credential is given but unknown, revoked, expired, malformed or of a disabled user.
    """
    if api_key is not None:
        return key_principal(conn, api_key)
    if token is not None:
        return token_principal(conn, read_token(token, secret=secret))
    return None


def login_token(user: User, *, secret: str, minutes: int) -> str:
    """A signed token for ``user``, valid ``minutes``."""
    return issue_token(
        user_id=user.id,
        username=user.username,
        version=user.token_version,
        secret=secret,
        minutes=minutes,
    )
