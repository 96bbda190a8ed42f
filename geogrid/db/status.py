"""What the database runs: server, PostGIS and schema versions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def server_versions(conn: Connection) -> dict[str, str | None]:
    """PostgreSQL version, PostGIS version and the Alembic schema revision."""
    pg = conn.execute(sa.text("SHOW server_version")).scalar()
    postgis = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar()
    has_schema = conn.execute(sa.text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
    schema = (
        conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if has_schema
        else None
    )
    return {"postgresql": pg, "postgis": postgis, "schema": schema}
