"""Fixed-width query results as NumPy arrays, through ``COPY … TO STDOUT (FORMAT binary)``.

PostgreSQL's binary COPY writes every row as a field count and, for each field, its byte length
and its value in network byte order. When every field is non-null and of a fixed-width type
(``int4``, ``int8``, ``float8``), every row has the same layout, so the whole result is read
with one ``numpy.frombuffer``: no text formatting in the server and no parsing in Python, which
makes reading hundreds of thousands of GPS fixes a matter of milliseconds.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from geogrid.db.copy import raw_cursor

_HEADER = 19  # signature (11 bytes), flags (int32), header extension length (int32, 0)
_TYPES = {"int4": ">i4", "int8": ">i8", "float8": ">f8"}


def read_columns(
    conn: Connection, select: str, params: dict[str, Any], columns: list[tuple[str, str]]
) -> dict[str, np.ndarray]:
    """The rows of ``select`` (``%(name)s`` parameters) as one array per column.

    Parameters
    ----------
    conn
        A connection whose driver is psycopg2.
    select
        A query returning exactly ``columns``, in order, never null.
    columns
        ``(name, type)`` pairs, type one of ``int4``, ``int8``, ``float8`` (cast in the query).

    Returns
    -------
    dict of str to numpy.ndarray
        Native-endian arrays, one per column, in row order.
    """
    dtype = np.dtype(
        [("count", ">i2")]
        + [
            field
            for name, kind in columns
            for field in ((f"{name}_len", ">i4"), (name, _TYPES[kind]))
        ]
    )
    buffer = io.BytesIO()
    with raw_cursor(conn, select) as cursor:
        query = cursor.mogrify(select, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    body = buffer.getbuffer()[_HEADER:-2]  # the trailer is a field count of -1
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and (
        (rows["count"] != len(columns)).any()
        or any(
            (rows[f"{name}_len"] != np.dtype(_TYPES[kind]).itemsize).any() for name, kind in columns
        )
    ):
        raise RuntimeError("the binary COPY result has nulls or unexpected columns")
    return {name: rows[name].astype(_TYPES[kind].replace(">", "=")) for name, kind in columns}
