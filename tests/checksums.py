"""A digest of every user table's contents, to prove that a refused request wrote nothing.

``database_checksum(engine)`` gives one MD5 per table of the public schema (partitioned tables
once, through their parent), over the rows' text sorted, so that equal digests mean equal
contents whatever the physical order. Tables that every request may legitimately write (the
audit trail, background jobs) and PostGIS's own are left out: see :data:`BOOKKEEPING`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

BOOKKEEPING = frozenset({"audit_log", "jobs", "spatial_ref_sys"})
"""Tables written by any request, refused ones included (``audit_log`` records refusals), or
owned by an extension; they are not part of the checksum."""

_TABLES = """
SELECT c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""


def user_tables(engine: Engine) -> list[str]:
    """The tables of the public schema that hold user data (see :data:`BOOKKEEPING`)."""
    with engine.connect() as conn:
        names = conn.execute(sa.text(_TABLES)).scalars().all()
    return [str(n) for n in names if n not in BOOKKEEPING]


def database_checksum(engine: Engine) -> dict[str, str]:
    """Table name → MD5 of its rows' text in sorted order (``"empty"`` for no rows)."""
    tables = user_tables(engine)
    parts = [
        f"SELECT '{name}' AS name, coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), "
        f"'empty') AS digest FROM \"{name}\" AS t"
        for name in tables
    ]
    with engine.connect() as conn:
        rows = conn.execute(sa.text(" UNION ALL ".join(parts))).all()
    return {str(name): str(digest) for name, digest in rows}


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Names of the tables whose digest differs (or that appeared or disappeared)."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


@contextmanager
def unchanged_database(engine: Engine) -> Iterator[dict[str, str]]:
    """Assert that the block leaves every user table as it found it; yields the digests."""
    before = database_checksum(engine)
    yield before
    changed = changed_tables(before, database_checksum(engine))
    assert not changed, f"tables changed: {', '.join(changed)}"
