"""Tokens, the signing key file and password hashing: pure, no database."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from geogrid.auth.passwords import check_password, hash_password, verify_password
from geogrid.auth.tokens import issue_token, load_or_create_secret, read_token
from geogrid.errors import Unauthorized, ValidationFailed

SECRET = "s" * 32


def test_a_token_round_trips() -> None:
    token = issue_token(user_id=7, username="op", version=3, secret=SECRET, minutes=5)
    claims = read_token(token, secret=SECRET)
    assert (claims.user_id, claims.username, claims.version) == (7, "op", 3)


def test_an_expired_token_is_refused() -> None:
    past = datetime.now(UTC) - timedelta(minutes=10)
    token = issue_token(user_id=7, username="op", version=1, secret=SECRET, minutes=5, now=past)
    with pytest.raises(Unauthorized, match="expired"):
        read_token(token, secret=SECRET)


def test_other_keys_tampering_and_unsigned_tokens_are_refused() -> None:
    token = issue_token(user_id=7, username="op", version=1, secret=SECRET, minutes=5)
    with pytest.raises(Unauthorized, match="not valid"):
        read_token(token, secret="t" * 32)
    head, body, sig = token.split(".")
    with pytest.raises(Unauthorized):
        read_token(f"{head}.{body}x.{sig}", secret=SECRET)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    unsigned = jwt.encode({**claims, "uid": 1}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        read_token(unsigned, secret=SECRET)
    with pytest.raises(Unauthorized):
        read_token("not a token", secret=SECRET)


def test_the_secret_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret_key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]


def test_passwords_are_hashed_with_argon2id() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsE")
    assert not verify_password(None, "correct horse")
    assert not verify_password("garbage", "correct horse")


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="at least 8"):
        check_password("short")
    with pytest.raises(ValidationFailed, match="space"):
        check_password(" leading-space")
