"""Password hashing with argon2id (RFC 9106), and the rules a new password must meet."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geogrid.errors import Problem, ValidationFailed

MIN_LENGTH = 8
_HASHER = PasswordHasher()  # argon2id, the library's RFC 9106 "low memory" parameters
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash (salt and parameters included) to store for ``password``."""
    check_password(password)
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash; ``None`` (no such user) never matches.

    An unknown user costs the same time as a known one, so timing does not tell which
    usernames exist.
    """
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the stored hash uses weaker parameters than the current ones."""
    return _HASHER.check_needs_rehash(stored)


def check_password(password: str) -> None:
    """Refuse a password shorter than :data:`MIN_LENGTH` characters or with spaces at its ends."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            Problem("password", "too_short", f"A password needs at least {MIN_LENGTH} characters.")
        )
    if password != password.strip():
        problems.append(
            Problem("password", "whitespace", "A password may not start or end with a space.")
        )
    if problems:
        raise ValidationFailed(problems[0].message, problems)


def generate_password() -> str:
    """A random password of 16 URL-safe characters (96 bits), for first accounts and resets."""
    return secrets.token_urlsafe(12)
