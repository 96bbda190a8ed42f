"""The bulletin (通报) as a self-contained HTML page and as an XLSX workbook.

HTML: one printable page, inline CSS, the hotspot map inlined as a ``data:`` PNG, no script
and no external asset. XLSX: one sheet per section (its paragraphs, then its tables, then its
image), written with openpyxl.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geogrid.assessment.bulletin import Bulletin, Figure, Section
from geogrid.assessment.figures import fmt

_ENV = Environment(
    loader=PackageLoader("geogrid.assessment", "templates"), autoescape=select_autoescape()
)
_BOLD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="F2F2F2")
#: Width of the image in a sheet, in pixels.
SHEET_IMAGE_WIDTH = 760


def cell_text(value: object) -> str:
    """A table cell as printed: "—" for no value, whole numbers plain, others to 2 decimals."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return fmt(value) if value.is_integer() else f"{value:.2f}"
    return str(value)


def issued_text(bulletin: Bulletin) -> str:
    """The date under the bulletin: ``2026年11月5日``."""
    day = bulletin.issued_on
    return f"{day.year}年{day.month}月{day.day}日"


def _png(figure: Figure) -> str:
    return base64.b64encode(figure.png).decode("ascii")


def render_bulletin_html(bulletin: Bulletin) -> str:
    """The bulletin as one self-contained, printable HTML page."""
    return _ENV.get_template("bulletin.html").render(
        bulletin=bulletin, cell=cell_text, png=_png, issued=issued_text(bulletin)
    )


def _sheet_name(section: Section) -> str:
    name = section.heading
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    return name[:31]


def _write_section(sheet: Worksheet, section: Section, bulletin: Bulletin, first: bool) -> None:
    widths: dict[int, int] = {}
    if first:
        sheet.append([bulletin.title])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=15)
        sheet.append([bulletin.issuer, issued_text(bulletin)])
        sheet.append([])
    sheet.append([section.heading])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True, size=13)
    for paragraph in section.paragraphs:
        sheet.append([paragraph])
    for table in section.tables:
        sheet.append([])
        sheet.append([table.title])
        sheet.cell(sheet.max_row, 1).font = _BOLD
        sheet.append(list(table.headers))
        for cell in sheet[sheet.max_row]:
            cell.font, cell.fill = _BOLD, _FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in table.rows:
            sheet.append(list(row))
            if row and row[0] == "合计":
                for cell in sheet[sheet.max_row]:
                    cell.font = _BOLD
        for i, header in enumerate(table.headers, start=1):
            longest = max([len(str(header)), *(len(str(r[i - 1])) for r in table.rows)])
            widths[i] = max(widths.get(i, 8), min(60, longest * 2 + 2))
    for i, width in widths.items():
        sheet.column_dimensions[get_column_letter(i)].width = width
    if section.figure is not None:
        _add_image(sheet, section.figure)


def _add_image(sheet: Worksheet, figure: Figure) -> None:
    sheet.append([])
    sheet.append([figure.caption])
    sheet.cell(sheet.max_row, 1).font = _BOLD
    legend = "；".join(f"{label} {grids} 个" for _, label, grids in figure.legend if grids)
    if legend:
        sheet.append([f"图例：{legend}"])
    image = SheetImage(io.BytesIO(figure.png))
    ratio = min(1.0, SHEET_IMAGE_WIDTH / figure.width)
    image.width, image.height = round(figure.width * ratio), round(figure.height * ratio)
    sheet.add_image(image, f"A{sheet.max_row + 1}")


def write_bulletin_xlsx(bulletin: Bulletin, path: Path) -> None:
    """The bulletin as a workbook, one sheet per section."""
    book = Workbook()
    default: Any = book.active
    for i, section in enumerate(bulletin.sections):
        sheet = book.create_sheet(_sheet_name(section))
        _write_section(sheet, section, bulletin, first=i == 0)
    book.remove(default)
    book.save(path)
