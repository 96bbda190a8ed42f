"""Signed short-lived tokens (JWT, HS256) for logged-in users, and the key that signs them."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from geogrid.errors import GeogridError, Unauthorized

ALGORITHM = "HS256"
ISSUER = "geogrid"


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: the user (id and name) and the token version it was issued at."""

    user_id: int
    username: str
    version: int


def issue_token(
    *,
    user_id: int,
    username: str,
    version: int,
    secret: str,
    minutes: int,
    now: datetime | None = None,
) -> str:
    """A token for the user that expires ``minutes`` after ``now`` (UTC; default the clock)."""
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": username,
        "uid": user_id,
        "ver": version,
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str) -> TokenClaims:
    """The claims of a token signed with ``secret`` and not expired.

    Raises
    ------
    Unauthorized
        The token is expired, malformed or signed with another key.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "uid", "ver"]},
        )
        return TokenClaims(int(claims["uid"]), str(claims["sub"]), int(claims["ver"]))
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The login has expired; log in again.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise Unauthorized("The token is not valid; log in again.") from None


def load_or_create_secret(path: Path) -> str:
    """The signing key kept in ``path``; created (256 random bits, mode 0600) when missing.

    Safe when several server processes start at once: the file appears atomically (a hard
    link of a complete temporary file), and whoever loses the race reads the winner's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise GeogridError(f"The signing key in {path} is shorter than 32 characters.")
    return secret
