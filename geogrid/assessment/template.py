"""The XLSX template of a run's manual inputs (人工录入模板, DOMAIN.md §7).

Sheet 人工录入: one row per unit of the run (单位编码, 单位名称), one column per manual field
headed by its Chinese name and the item's maximum points (``机构（4分）``), the values already
entered filled in, each column limited by Excel's data validation to what the field accepts.
Sheet 填写说明: per column the field's key, item, maximum points, what to enter and the rule.
Uploaded back (``POST /assessments/{id}/inputs``), :func:`~geogrid.assessment.read_manual`
reads the headers and :func:`~geogrid.assessment.runs.check_entries` checks the values.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from geogrid.assessment.entries import field_range
from geogrid.assessment.figures import fmt
from geogrid.assessment.manual import field_header, manual_fields
from geogrid.assessment.runs import Run

SHEET = "人工录入"
_BOLD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDE6F0")
_WRAP = Alignment(wrap_text=True, vertical="center")


def write_template(run: Run, path: Path) -> None:
    """Write the manual-input template of ``run`` (units shown by the run, code order)."""
    rule_set = run.rule_set
    fields = manual_fields(rule_set)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append(["单位编码", "单位名称", *(field_header(f, rule_set) for f in fields)])
    for cell in sheet[1]:
        cell.font, cell.fill, cell.alignment = _BOLD, _FILL, _WRAP
    values = run.manual_values()
    units = sorted(run.result.units, key=lambda u: u.unit)
    for unit in units:
        given = values.get(unit.unit, {})
        sheet.append([unit.unit, unit.name, *(given.get(f.field) for f in fields)])
    for row in sheet.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "@"
    last = len(units) + 1
    for column, field in enumerate(fields, start=3):
        span = field_range(rule_set, field)
        letter = get_column_letter(column)
        item = rule_set.item(field.item)
        note = f"{field.field}\n填写：{span.text}" + (f"\n规则：{item.rule}" if item.rule else "")
        sheet.cell(1, column).comment = Comment(note, "geogrid", width=320, height=140)
        rule = DataValidation(
            type="whole" if span.whole else "decimal",
            operator="between" if span.high is not None else "greaterThanOrEqual",
            formula1=fmt(span.low),
            formula2=fmt(span.high) if span.high is not None else None,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="超出范围",
            error=f"{field.label}：{span.text}",
        )
        if last >= 2:
            rule.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(rule)
        header = field_header(field, rule_set)
        sheet.column_dimensions[letter].width = max(12, min(40, len(header) * 2))
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 16
    sheet.row_dimensions[1].height = 36
    sheet.freeze_panes = "C2"
    _instructions(book, run)
    book.save(path)


def _instructions(book: Workbook, run: Run) -> None:
    rule_set = run.rule_set
    sheet = book.create_sheet("填写说明")
    sheet.append([f"{rule_set.title}（{rule_set.name} 第 {rule_set.version} 版）{run.period}"])
    sheet.append(
        [
            "在“人工录入”表中按单位填写；空白单元格不改变已录入的值。"
            "上传：POST /assessments/{id}/inputs（multipart，字段 file）。"
        ]
    )
    sheet.append([])
    headers = ["列标题", "字段", "项目", "满分", "填写内容", "评分规则"]
    sheet.append(headers)
    for cell in sheet[4]:
        cell.font, cell.fill = _BOLD, _FILL
    for field in manual_fields(rule_set):
        item = rule_set.item(field.item)
        sheet.append(
            [
                field_header(field, rule_set),
                field.field,
                item.name,
                item.points,
                field_range(rule_set, field).text,
                item.rule,
            ]
        )
    for letter, width in zip("ABCDEF", (28, 22, 20, 8, 40, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet["A1"].font = Font(bold=True, size=13)
