"""Writing tables as CSV and XLSX (openpyxl, write-only: rows are streamed, not held)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

EXCEL_MAX_ROWS = 1_048_575  # one row of each sheet holds the headers


@dataclass
class Sheet:
    """A named table: header labels and an iterable of rows (may be a database cursor)."""

    name: str
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    widths: Sequence[int] = ()


def csv_lines(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """CSV text, line by line, with a UTF-8 BOM so that Excel opens Chinese text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(headers)
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow(["" if v is None else v for v in row])
        yield buf.getvalue()


def write_xlsx(sheets: Sequence[Sheet], path: Path) -> None:
    """Write ``sheets`` to an XLSX file; a sheet over Excel's row limit continues on the next."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")
    for sheet in sheets:
        part, count, ws = 1, 0, None
        for row in _with_header(sheet):
            if ws is None or count >= EXCEL_MAX_ROWS:
                ws = wb.create_sheet(sheet.name if part == 1 else f"{sheet.name}({part})")
                for i, width in enumerate(sheet.widths, start=1):
                    ws.column_dimensions[get_column_letter(i)].width = width
                ws.freeze_panes = "A2"
                header = []
                for label in sheet.headers:
                    cell = WriteOnlyCell(ws, value=label)
                    cell.font, cell.fill = bold, fill
                    header.append(cell)
                ws.append(header)
                part, count = part + 1, 0
            if row is not None:
                ws.append(list(row))
                count += 1
    if not sheets:
        wb.create_sheet("空")
    wb.save(path)


def _with_header(sheet: Sheet) -> Iterator[Sequence[object] | None]:
    yield None  # an empty table still gets its sheet with headers
    yield from sheet.rows
