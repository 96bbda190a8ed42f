"""Bulk transfer with PostgreSQL's COPY through the connection's psycopg2 cursor.

CSV for tables of any shape; binary for columns of fixed width (numbers, timestamps, points),
which skips formatting and parsing text on both sides.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection


@contextmanager
def raw_cursor(conn: Connection, statement: str) -> Iterator[Any]:
    """A cursor of ``conn``'s psycopg2 connection, for ``statement`` (shown in errors).

    A driver error raised through it comes out as SQLAlchemy raises those of
    ``conn.execute``: the matching :class:`sqlalchemy.exc.DBAPIError` subclass (a lost
    connection is an ``OperationalError`` or ``InterfaceError``, a statement timeout an
    ``OperationalError`` with SQLSTATE 57014), and a lost connection is invalidated so that the
    pool never hands it out again. Without this a COPY cut short by a database restart would
    surface as a bare driver error (or, from psycopg2's COPY FROM, a ``SystemError`` caused by
    one) that the API cannot tell from a bug.
    """
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:
        raise RuntimeError("the SQLAlchemy connection has no DBAPI connection")
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = dbapi.cursor()
    try:
        yield cursor
    except Exception as exc:
        orig = exc if isinstance(exc, driver_error) else exc.__cause__
        if not isinstance(orig, driver_error):
            raise
        lost = conn.dialect.is_disconnect(orig, dbapi, cursor)
        if lost:
            conn.invalidate(orig)
        raise sa.exc.DBAPIError.instance(
            statement, None, orig, driver_error, connection_invalidated=lost, dialect=conn.dialect
        ) from exc
    finally:
        if not cursor.closed:
            cursor.close()


def copy_csv_in(conn: Connection, table: str, columns: Sequence[str], data: io.StringIO) -> None:
    """Stream CSV ``data`` (no header; NULL an unquoted empty field) into ``table``."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    with raw_cursor(conn, statement) as cursor:
        cursor.copy_expert(statement, data)


def copy_csv_out(conn: Connection, select: str, params: dict[str, Any]) -> io.BytesIO:
    """The rows of ``select`` (``%(name)s`` parameters) as CSV with a header, via COPY TO."""
    buffer = io.BytesIO()
    with raw_cursor(conn, select) as cursor:
        query = cursor.mogrify(select, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
    buffer.seek(0)
    return buffer


# -- binary COPY -------------------------------------------------------------------------------
# PostgreSQL's binary COPY format: a 19-byte header, then per row a 16-bit field count and per
# field a 32-bit length (-1: NULL) and the value in the type's binary (``send``/``recv``) form,
# then -1. Rows whose fields all have the same widths share one layout, so a batch is written as
# numpy structured arrays, one per layout: no per-row Python, no float formatting or parsing.

PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")
"""Origin of ``timestamp``/``timestamptz`` in the binary form (microseconds, UTC)."""
TEXT_OID = 25

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = _SIGNATURE + bytes(8)  # flags 0, no header extension
_TRAILER = b"\xff\xff"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Nullable:
    """A column of fixed-width binary values (see :func:`binary_row_dtype`), NULL where ``null``."""

    values: np.ndarray
    null: np.ndarray


@dataclass(frozen=True)
class Coded:
    """A column taking a few distinct values (text, arrays): ``codes`` index ``forms``.

    ``forms`` are the values' binary forms (:func:`pg_text`, :func:`pg_text_array`); None is NULL.
    """

    codes: np.ndarray
    forms: Sequence[bytes | None]


BinaryColumn = np.ndarray | Nullable | Coded


def pg_timestamps(values: np.ndarray) -> np.ndarray:
    """``datetime64`` values (UTC) as the binary form of ``timestamptz``: µs since 2000, int64."""
    return (np.asarray(values).astype("datetime64[us]") - PG_EPOCH).astype(np.int64)


def from_pg_timestamps(micros: np.ndarray) -> np.ndarray:
    """The inverse of :func:`pg_timestamps`: ``datetime64[us]`` values (UTC)."""
    return PG_EPOCH + np.asarray(micros, dtype=np.int64).astype("timedelta64[us]")


def pg_text(value: str) -> bytes:
    """The binary form of a ``text`` value (its UTF-8 bytes)."""
    return value.encode()


def pg_text_array(values: Sequence[str]) -> bytes:
    """The binary form of a one-dimensional ``text[]`` without NULLs ('{}' when empty)."""
    if not values:
        return struct.pack(">iii", 0, 0, TEXT_OID)
    items = [v.encode() for v in values]
    head = struct.pack(">iiiii", 1, 0, TEXT_OID, len(items), 1)
    return head + b"".join(struct.pack(">i", len(i)) + i for i in items)


def binary_row_dtype(columns: Sequence[tuple[str, Any]]) -> np.dtype:
    """The layout of one binary COPY row of non-null fixed-width fields ``(name, dtype)``.

    Numbers must be big-endian (``>i2``, ``>i4``, ``>i8``, ``>f4``, ``>f8``); a timestamp is
    ``>i8`` (:func:`pg_timestamps`); any other fixed-size dtype is sent as its raw bytes (e.g.
    a packed little-endian EWKB point for ``geometry``). A ``None`` dtype is a NULL field.
    """
    fields: list[tuple[str, Any]] = [("_count", ">i2")]
    for name, dtype in columns:
        fields.append((f"_length_{name}", ">i4"))
        if dtype is not None:
            fields.append((name, dtype))
    return np.dtype(fields)


def _widths(column: BinaryColumn) -> np.ndarray | int:
    """The width of each row's value in ``column`` (-1: NULL), or the one width of all."""
    if isinstance(column, np.ndarray):
        return int(column.dtype.itemsize)
    if isinstance(column, Nullable):
        return np.where(column.null, -1, column.values.dtype.itemsize)
    lengths = np.array([-1 if f is None else len(f) for f in column.forms], dtype=np.int64)
    return lengths[column.codes]


def _records(
    columns: Mapping[str, BinaryColumn], rows: np.ndarray, widths: Sequence[int]
) -> np.ndarray:
    """The rows ``rows``, all of field widths ``widths``, as one structured array."""
    kinds: list[tuple[str, Any]] = []
    for (name, column), width in zip(columns.items(), widths, strict=True):
        if width < 0:
            kinds.append((name, None))
        elif isinstance(column, Coded):
            kinds.append((name, f"V{width}" if width else None))
        else:
            kinds.append(
                (name, column.values.dtype if isinstance(column, Nullable) else column.dtype)
            )
    records = np.empty(len(rows), binary_row_dtype(kinds))
    records["_count"] = len(columns)
    for (name, column), width, (_, kind) in zip(columns.items(), widths, kinds, strict=True):
        records[f"_length_{name}"] = width
        if kind is None:
            continue
        if isinstance(column, Coded):
            forms = [f if f is not None and len(f) == width else bytes(width) for f in column.forms]
            records[name] = np.frombuffer(b"".join(forms), dtype=kind)[column.codes[rows]]
        else:
            records[name] = (column.values if isinstance(column, Nullable) else column)[rows]
    return records


def binary_copy_data(columns: Mapping[str, BinaryColumn]) -> bytes:
    """Equally long columns as a binary COPY stream, rows in order."""
    widths = [_widths(column) for column in columns.values()]
    varying = [w for w in widths if isinstance(w, np.ndarray)]
    rows = len(varying[0]) if varying else _length(next(iter(columns.values()), np.zeros(0)))
    if rows == 0:
        return _HEADER + _TRAILER
    if not varying:
        body = _records(columns, np.arange(rows), [int(w) for w in widths]).tobytes()
        return b"".join((_HEADER, body, _TRAILER))
    layouts, layout_of_row = _layouts(varying)
    by_layout = np.argsort(layout_of_row, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(layout_of_row, minlength=len(layouts)))]
    blocks: list[tuple[bytes, int]] = []
    for k, layout in enumerate(layouts):
        shared = iter(layout.tolist())
        fixed = [w if isinstance(w, int) else next(shared) for w in widths]
        records = _records(columns, by_layout[starts[k] : starts[k + 1]], fixed)
        blocks.append((records.tobytes(), records.dtype.itemsize))
    # the rows in their order: a slice of a layout's records for each run of rows of that layout
    breaks = np.flatnonzero(np.diff(layout_of_row)) + 1
    used = [0] * len(layouts)
    parts = [_HEADER]
    for begin, end in zip(np.r_[0, breaks].tolist(), np.r_[breaks, rows].tolist(), strict=True):
        k = int(layout_of_row[begin])
        block, size = blocks[k]
        parts.append(block[used[k] * size : (used[k] + end - begin) * size])
        used[k] += end - begin
    parts.append(_TRAILER)
    return b"".join(parts)


def _layouts(varying: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of the varying widths, and each row's among them (a small int)."""
    key, scale = np.zeros(len(varying[0]), dtype=np.int64), 1
    for widths in varying:  # one integer per combination of widths (mixed radix)
        low, high = int(widths.min()), int(widths.max())
        key += (widths - low) * scale
        scale *= high - low + 1
        if scale > 2**62:
            layouts, inverse = np.unique(np.column_stack(varying), axis=0, return_inverse=True)
            return layouts, inverse.ravel()
    codes, _ = pd.factorize(key)
    firsts = np.unique(codes, return_index=True)[1]
    layouts = np.column_stack([w[firsts] for w in varying])
    kind = np.int16 if len(firsts) < 2**15 else np.int64  # small ints sort by radix
    return layouts, codes.astype(kind)


def _length(column: BinaryColumn) -> int:
    if isinstance(column, Coded):
        return len(column.codes)
    return len(column.values if isinstance(column, Nullable) else column)


def copy_binary_in(conn: Connection, table: str, columns: Mapping[str, BinaryColumn]) -> int:
    """Stream equally long columns of ``table`` with binary COPY; return the rows copied.

    A column is an array of fixed-width binary values (:func:`binary_row_dtype`), the same
    with NULLs (:class:`Nullable`), or codes into a few values of any width (:class:`Coded`).
    """
    data = io.BytesIO(binary_copy_data(columns))
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
    with raw_cursor(conn, statement) as cursor:
        cursor.copy_expert(statement, data, size=_CHUNK)
        return int(cursor.rowcount)


def copy_binary_out(
    conn: Connection, select: str, params: dict[str, Any], columns: Sequence[tuple[str, Any]]
) -> dict[str, np.ndarray]:
    """The rows of ``select`` (``%(name)s`` parameters) as one native-order array per column.

    ``columns`` names the selected columns in order with their binary dtypes (see
    :func:`binary_row_dtype`); every value must be non-null.

    Raises
    ------
    ValueError
        When the rows do not have that layout (a NULL, or a column of another type).
    """
    buffer = io.BytesIO()
    with raw_cursor(conn, select) as cursor:
        query = cursor.mogrify(select, params).decode()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer, size=_CHUNK)
    data = buffer.getbuffer()
    if bytes(data[: len(_SIGNATURE)]) != _SIGNATURE:
        raise ValueError("not a binary COPY stream")
    start = len(_HEADER) + int.from_bytes(data[15:19], "big")
    dtype = binary_row_dtype(columns)
    body = data[start : len(data) - len(_TRAILER)]
    if len(body) % dtype.itemsize:
        raise ValueError("the selected rows do not have the given fixed-width layout")
    records = np.frombuffer(body, dtype)
    lengths_ok = all(
        (records[f"_length_{name}"] == np.dtype(kind).itemsize).all() for name, kind in columns
    )
    if not ((records["_count"] == len(columns)).all() and lengths_ok):
        raise ValueError("the selected rows do not have the given fixed-width layout")
    return {name: records[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in columns}
