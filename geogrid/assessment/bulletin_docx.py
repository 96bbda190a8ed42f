"""The bulletin (通报) as a Word document (python-docx): red issuer line, headings, tables, map.

Laid out as Chinese government documents usually are: the issuer in red over a red rule, the
title centred in a song typeface, section headings in hei, body text in fangsong with a
two-character first-line indent, tables with full borders, the issuer and date at the end.
python-docx is imported when a document is written, so the rest of geogrid works without it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from geogrid.assessment.bulletin import Bulletin, Figure
from geogrid.assessment.bulletin_files import cell_text, issued_text
from geogrid.errors import InvalidParameter
from geogrid.indicators.report import ReportTable

BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
TITLE_FONT = "宋体"
RED = "C00000"


def _docx() -> Any:
    try:
        import docx
    except ImportError:
        raise InvalidParameter(
            "The DOCX bulletin needs the python-docx package, which is not installed; "
            "ask for format=html or format=xlsx."
        ) from None
    return docx


def _font(run_or_style: Any, name: str, size: float | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run_or_style.font.name = name
    properties = run_or_style.element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = properties.makeelement(qn("w:rFonts"), {})
        properties.append(fonts)
    fonts.set(qn("w:eastAsia"), name)
    if size is not None:
        run_or_style.font.size = Pt(size)


def _red_rule(paragraph: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "1"), ("w:color", RED)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _styles(document: Any) -> None:
    from docx.shared import RGBColor

    _font(document.styles["Normal"], BODY_FONT, 12)
    for name in ("Heading 1", "Heading 2"):
        style = document.styles[name]
        _font(style, HEADING_FONT, 14 if name == "Heading 1" else 12)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0, 0, 0)


def _table(document: Any, table: ReportTable) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    caption = document.add_paragraph()
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.add_run(table.title).bold = True
    grid = document.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    for cell, header in zip(grid.rows[0].cells, table.headers, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(str(header)).bold = True
    for row in table.rows or [["本期无数据。", *([""] * (len(table.headers) - 1))]]:
        cells = grid.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = cell_text(value) if value != "" else ""
            if isinstance(value, int | float):
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if row[0] == "合计":
                for run in cell.paragraphs[0].runs:
                    run.bold = True


def _figure(document: Any, figure: Figure) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, RGBColor

    document.add_picture(io.BytesIO(figure.png), width=Cm(15))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = document.add_paragraph(figure.caption)
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    legend = document.add_paragraph()
    legend.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for colour, label, grids in figure.legend:
        swatch = legend.add_run("■")
        swatch.font.color.rgb = RGBColor.from_string(colour.lstrip("#").upper())
        legend.add_run(f"{label}（{grids} 个）  ")


def write_bulletin_docx(bulletin: Bulletin, path: Path) -> None:
    """The bulletin as a DOCX document.

    Raises
    ------
    InvalidParameter
        python-docx is not installed.
    """
    docx = _docx()
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    _styles(document)
    issuer = document.add_paragraph()
    issuer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = issuer.add_run(bulletin.issuer)
    _font(run, TITLE_FONT, 22)
    run.bold = True
    run.font.color.rgb = RGBColor.from_string(RED)
    _red_rule(issuer)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(bulletin.title)
    _font(run, TITLE_FONT, 18)
    run.bold = True
    for section in bulletin.sections:
        document.add_heading(section.heading, level=1)
        for text in section.paragraphs:
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.first_line_indent = Pt(24)
        for table in section.tables:
            _table(document, table)
        if section.figure is not None:
            _figure(document, section.figure)
    for text in ("", bulletin.issuer, issued_text(bulletin)):
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.save(path)
