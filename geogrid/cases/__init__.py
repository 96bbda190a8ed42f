"""Cases (案件, DOMAIN.md §3): import, registration and the case layer.

The public surface the API, the CLI and the demo call:
:func:`import_cases` (a CSV/XLSX file), :func:`register_case` (one case as a mapping),
:func:`store_frame` (an already typed table, as the demo generator makes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from geogrid.auth.principal import UNLIMITED, Scope
from geogrid.cases.parse import CaseTable, parse_cases
from geogrid.cases.store import StoreResult, store_cases
from geogrid.catalogue import Catalogue
from geogrid.errors import ValidationFailed
from geogrid.io.sheets import read_table
from geogrid.worktime import WorkCalendar

Progress = Callable[[str, float], None]

__all__ = ["CaseTable", "StoreResult", "import_cases", "register_case", "store_frame"]


def import_cases(
    conn: Connection,
    path: Path,
    *,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str = "Asia/Shanghai",
    crs: str = "wgs84",
    name: str | None = None,
    max_rows: int = 1_000_000,
    progress: Progress | None = None,
    scope: Scope = UNLIMITED,
) -> StoreResult:
    """Import a CSV or XLSX table of cases, idempotent on ``case_id``, in one transaction.

    Parameters
    ----------
    conn
        A connection inside the caller's transaction.
    path
        The file, with the column contract of DOMAIN.md §3 (Chinese headers accepted).
    catalogue, calendar
        Subclass mapping, default departments and deadlines; working-time calendar.
    tz, crs
        Zone of naive timestamps; ``wgs84`` or ``gcj02`` coordinates.
    name
        The file name shown in messages.
    scope
        What the writer may write (see :func:`geogrid.cases.store.store_cases`).

    Raises
    ------
    ValidationFailed
        Listing every bad row (sheet line, column, reason); nothing is written.
    Forbidden
        A case lies outside ``scope``; nothing is written.
    """
    shown = name or path.name
    report = progress or (lambda stage, fraction: None)
    report("reading", 0.0)
    frame = read_table(path, name=shown, max_rows=max_rows)
    report("validating", 0.1)
    table = parse_cases(frame, catalogue=catalogue, calendar=calendar, tz=tz, crs=crs, shown=shown)
    return store_cases(
        conn,
        table,
        shown=shown,
        progress=lambda stage, f: report(stage, 0.2 + 0.8 * f),
        scope=scope,
    )


def register_case(
    conn: Connection,
    record: Mapping[str, object],
    *,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str = "Asia/Shanghai",
    crs: str = "wgs84",
    scope: Scope = UNLIMITED,
) -> StoreResult:
    """Register (or update) one case given as a mapping of contract columns to values.

    The same validation and location as an import of one row; problems name the field.
    ``scope`` limits what may be written (see :func:`geogrid.cases.store.store_cases`).
    """
    cells = {
        k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in record.items()
    }
    frame = pd.DataFrame([cells], dtype=object)
    try:
        table = parse_cases(
            frame, catalogue=catalogue, calendar=calendar, tz=tz, crs=crs, shown="case"
        )
    except ValidationFailed as exc:
        raise _as_fields(exc) from None
    try:
        return store_cases(conn, table, shown="case", scope=scope)
    except ValidationFailed as exc:
        raise _as_fields(exc) from None


def _as_fields(exc: ValidationFailed) -> ValidationFailed:
    """Messages about a single posted case speak of its fields, not of sheet rows."""
    problems = [
        type(p)(
            p.where.replace("row 2, column ", "field "),
            p.rule,
            p.message.replace("Row 2, ", "Field "),
            p.location,
            p.severity,
        )
        for p in exc.problems
    ]
    first = problems[0].message if problems else exc.message
    return ValidationFailed(f"The case was not registered: {first}", problems)


def store_frame(
    conn: Connection,
    frame: pd.DataFrame,
    *,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str = "Asia/Shanghai",
    shown: str = "cases",
    progress: Progress | None = None,
) -> StoreResult:
    """Validate and store a frame of contract columns (text or typed values)."""
    text = pd.DataFrame({name: _text_column(frame[name]) for name in frame.columns})
    table = parse_cases(text, catalogue=catalogue, calendar=calendar, tz=tz, shown=shown)
    return store_cases(conn, table, shown=shown, progress=progress)


def _text_column(column: pd.Series) -> pd.Series:
    """A column as text cells, vectorised (the demo stores two million cases this way)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        text = column.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    elif pd.api.types.is_bool_dtype(column):
        text = column.map({True: "true", False: "false"})
    elif pd.api.types.is_float_dtype(column):
        text = column.map(lambda v: f"{v:.7f}")
    else:
        text = column.astype(object).where(column.notna(), "").astype(str)
    return text.where(column.notna(), "").astype(object)
