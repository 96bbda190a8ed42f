"""Reading tables (CSV, XLSX) as text cells: encodings, limits and the files refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from geogrid.errors import ValidationFailed
from geogrid.io.sheets import read_table


def _refusal(path: Path, **kwargs: int) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        read_table(path, **kwargs)
    assert refused.value.problems, "a refusal names where and which rule"
    return refused.value


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_gbk_csv_and_xlsx_are_read_as_text(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("案卷号,描述\nC1,路边暴露垃圾\n".encode("gbk"))
    assert read_table(gbk).to_dict("records") == [{"案卷号": "C1", "描述": "路边暴露垃圾"}]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["案卷号", "数量"])
    sheet.append(["C1", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = tmp_path / "cases.xlsx"
    xlsx.write_bytes(buffer.getvalue())
    assert read_table(xlsx).to_dict("records") == [{"案卷号": "C1", "数量": "3"}]


def test_reading_stops_at_the_row_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"a\n" + b"1\n" * 11)
    assert len(read_table(path, max_rows=11)) == 11
    error = _refusal(path, max_rows=10)
    assert error.problems[0].rule == "too_many_rows"
    assert "more than 10 rows" in error.message


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "a PNG image"),
        (b"MZ\x90\x00" + b"\x00" * 60, "a Windows program"),
        (b"a,b\n1,\x00\x01\x02\n", "binary data"),
    ],
)
def test_files_that_are_not_tables_are_named(tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(content)
    error = _refusal(path)
    assert error.problems[0].rule == "not_a_table"
    assert (
        error.message
        == f"'table.csv' cannot be read as a table: it is {what}, not a CSV or XLSX table."
    )


def test_unsafe_workbooks_are_refused_before_reading(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.xlsx", {"xl/worksheets/sheet1.xml": b"\0" * (20 << 20)})
    assert _refusal(bomb).problems[0].rule == "zip_bomb"
    unsafe = _zip(tmp_path / "unsafe.xlsx", {"../evil.xml": b"x", "[Content_Types].xml": b"x"})
    assert _refusal(unsafe).problems[0].rule == "unsafe_archive"
    plain = _zip(tmp_path / "plain.xlsx", {"cases.csv": b"a\n1\n"})
    assert "a zip archive, not an XLSX workbook" in _refusal(plain).message
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(b"PK\x03\x04 not really a workbook")
    assert "truncated or damaged" in _refusal(cut).message
