"""Binary COPY: numbers, timestamps, EWKB points, NULLs, texts and arrays go in and come out."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.db.copy import (
    Coded,
    Nullable,
    copy_binary_in,
    copy_binary_out,
    from_pg_timestamps,
    pg_text,
    pg_text_array,
    pg_timestamps,
)

POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])


def test_binary_copy_round_trip(engine: Engine) -> None:
    stamps = np.array(["2026-10-09T01:00:00.000001", "1999-12-31T23:59:59"], "datetime64[us]")
    points = np.zeros(2, POINT)
    points["order"], points["kind"], points["srid"] = 1, 0x20000001, 4326
    points["x"], points["y"] = [102.85, -0.5], [24.98, 89.999999]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE t (a smallint, b integer, c bigint, d real, "
                "e double precision, f timestamptz, g geometry(Point, 4326))"
            )
        )
        copy_binary_in(
            conn,
            "t",
            {
                "a": np.array([1, -2], ">i2"),
                "b": np.array([70000, 0], ">i4"),
                "c": np.array([2**40, -1], ">i8"),
                "d": np.array([0.5, np.nan], ">f4"),
                "e": np.array([1 / 3, -1e300], ">f8"),
                "f": pg_timestamps(stamps).astype(">i8"),
                "g": points,
            },
        )
        text = conn.execute(
            sa.text("SELECT f::text, ST_AsText(g), d::text FROM t ORDER BY a")
        ).all()
        assert text == [
            ("1999-12-31 23:59:59+00", "POINT(-0.5 89.999999)", "NaN"),
            ("2026-10-09 01:00:00.000001+00", "POINT(102.85 24.98)", "0.5"),
        ]
        out = copy_binary_out(
            conn,
            "SELECT b, e, f, ST_X(g) FROM t WHERE a > %(low)s ORDER BY a",
            {"low": -5},
            [("b", ">i4"), ("e", ">f8"), ("f", ">i8"), ("x", ">f8")],
        )
        assert out["b"].tolist() == [0, 70000] and out["e"].tolist() == [-1e300, 1 / 3]
        assert (from_pg_timestamps(out["f"]) == stamps[::-1]).all()
        assert out["x"].tolist() == [-0.5, 102.85] and out["x"].dtype.isnative
        empty = copy_binary_out(conn, "SELECT b FROM t WHERE false", {}, [("b", ">i4")])
        assert len(empty["b"]) == 0
        with pytest.raises(ValueError):  # a NULL has no fixed width
            copy_binary_out(conn, "SELECT NULLIF(b, 0) FROM t", {}, [("b", ">i4")])
        with pytest.raises(ValueError):  # a bigint is not an integer
            copy_binary_out(conn, "SELECT c FROM t", {}, [("c", ">i4")])


def test_binary_copy_keeps_nulls_texts_arrays_and_row_order(engine: Engine) -> None:
    rows = 1000
    rng = np.random.default_rng(3)
    number = rng.normal(size=rows)
    missing = rng.random(rows) < 0.3
    names = ["", "S1", "监督员-长名", None]
    lists = [[], ["inaccurate"], ["inaccurate", "network"], ["x, y", '"quoted"']]
    pick, which = rng.integers(0, 4, rows), rng.integers(0, 4, rows)
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TEMP TABLE t (k integer, x double precision, s text, a text[])")
        )
        copied = copy_binary_in(
            conn,
            "t",
            {
                "k": np.arange(rows, dtype=">i4"),
                "x": Nullable(number.astype(">f8"), missing),
                "s": Coded(pick, [None if n is None else pg_text(n) for n in names]),
                "a": Coded(which, [pg_text_array(v) for v in lists]),
            },
        )
        back = conn.execute(sa.text("SELECT k, x, s, a, ctid FROM t ORDER BY ctid")).all()
    assert copied == rows
    assert [r[0] for r in back] == list(range(rows))  # written in the given order
    assert [r[1] for r in back] == [None if m else x for m, x in zip(missing, number, strict=True)]
    assert [r[2] for r in back] == [names[p] for p in pick]
    assert [r[3] for r in back] == [lists[w] for w in which]


def test_copy_errors_are_raised_as_sqlalchemy_errors(engine: Engine) -> None:
    with pytest.raises(sa.exc.ProgrammingError) as caught, engine.begin() as conn:
        conn.execute(sa.text("SELECT 1"))
        copy_binary_out(conn, "SELECT no_such_column", {}, [("b", ">i4")])
    assert not caught.value.connection_invalidated
    assert "no_such_column" in str(caught.value.orig)


def test_copy_on_a_lost_connection_invalidates_it(engine: Engine) -> None:
    """A COPY whose server session ends (as in a database restart) raises a disconnect error,
    which the API answers with 503, and the pool never hands the dead connection out again."""
    with engine.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(sa.exc.DBAPIError) as caught:
            copy_binary_in(conn, "t", {"k": np.arange(3, dtype=">i4")})
        assert isinstance(caught.value, sa.exc.OperationalError | sa.exc.InterfaceError)
        assert caught.value.connection_invalidated and conn.invalidated
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
