"""Reading the territory tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def district_names(conn: Connection) -> dict[str, str]:
    """Code → name of every district held, ordered by code."""
    rows = conn.execute(sa.text("SELECT code, name FROM districts ORDER BY code")).all()
    return {str(code): str(name) for code, name in rows}
