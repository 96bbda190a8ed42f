"""Bulk transfer with PostgreSQL's COPY through the connection's psycopg2 cursor."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection


def _cursor(conn: Connection) -> Any:
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:
        raise RuntimeError("the SQLAlchemy connection has no DBAPI connection")
    return dbapi.cursor()


def copy_csv_in(conn: Connection, table: str, columns: Sequence[str], data: io.StringIO) -> None:
    """Stream CSV ``data`` (no header; NULL an unquoted empty field) into ``table``."""
    cursor = _cursor(conn)
    try:
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", data
        )
    finally:
        cursor.close()


def copy_csv_out(conn: Connection, select: str, params: dict[str, Any]) -> io.BytesIO:
    """The rows of ``select`` (``%(name)s`` parameters) as CSV with a header, via COPY TO."""
    cursor = _cursor(conn)
    buffer = io.BytesIO()
    try:
        query = cursor.mogrify(select, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
    finally:
        cursor.close()
    buffer.seek(0)
    return buffer
