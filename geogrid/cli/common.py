"""Shared by the commands: one transaction on the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from geogrid.db.engine import database_url, make_engine
from geogrid.settings import Settings


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction on the configured database."""
    settings = Settings()
    engine = make_engine(database_url(settings.database_url, settings.pg_dir, settings.pg_port))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()
