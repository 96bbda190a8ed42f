"""Reading a responsibility-rule file into rows of text cells and geometries.

Two shapes of file (DOMAIN.md §3, dispatch):

- a table, CSV or XLSX, one rule per row, its area a list of unit grid codes (``grids`` /
  ``网格``, separated by commas, 、 or spaces); rows are named by their sheet line (``row 3``);
- a vector file (GeoJSON, GeoPackage, zipped Shapefile, CSV with WKT), one rule per feature,
  its area the feature's polygon, or its lines with ``buffer_m``, or (no geometry) a
  ``grids`` attribute; features are named ``feature 2`` (with the layer when there are several).

Headers are mapped through :data:`ALIASES` (Chinese headers accepted).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geogrid.errors import Problem, ValidationFailed
from geogrid.grids.upload import code_text
from geogrid.io.read import WKT_COLUMNS, read_layers
from geogrid.io.sheets import XLSX_MAGIC, binary_kind, read_table

MAX_RULES = 50_000

#: Canonical columns of a rule, and the headers accepted for each (case-insensitive).
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "rule", "rule_id", "rule_code", "规则编号", "规则编码", "规则号", "编号"),
    "case_type": ("case_type", "type", "类型", "案件类型"),
    "scope": ("scope", "范围", "适用范围"),
    "sub_class": ("sub_class", "subclass", "小类", "小类编码", "小类代码"),
    "major_class": ("major_class", "major", "大类", "大类编码", "大类代码"),
    "unit": (
        "unit",
        "responsible_unit",
        "department",
        "company",
        "责任单位",
        "处置部门",
        "处置单位",
        "责任部门",
        "单位",
    ),
    "unit_kind": ("unit_kind", "unit_type", "单位类型", "单位类别"),
    "area_name": ("area_name", "area", "name", "区域名称", "责任区", "责任区名称", "名称"),
    "grids": ("grids", "grid_codes", "grid", "网格", "单元网格", "网格编码", "网格编号"),
    "buffer_m": ("buffer_m", "buffer", "缓冲距离", "缓冲区", "缓冲"),
    "priority": ("priority", "优先级"),
    "valid_from": ("valid_from", "from", "生效日期", "起始日期", "开始日期", "生效时间"),
    "valid_to": ("valid_to", "to", "失效日期", "截止日期", "结束日期", "失效时间"),
    "note": ("note", "remark", "备注"),
}
COLUMNS = tuple(ALIASES)
_CODES = ("code", "sub_class", "major_class", "grids")


@dataclass(frozen=True)
class RuleUpload:
    """Rules read from a file: ``where``, the :data:`COLUMNS` as text, ``geometry`` (EPSG:4326)."""

    rows: pd.DataFrame
    file_name: str
    sha256: str
    source_crs: str | None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_format(path: Path, shown: str) -> None:
    """Refuse a file that is neither a table nor a vector file (an image, a program …)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    what = binary_kind(head)
    if what is not None and not head.startswith(b"SQLite format 3\x00"):
        message = (
            f"'{shown}' is {what}, not a rule file: upload a CSV or XLSX table with grid "
            "lists, or GeoJSON, GeoPackage or a zipped shapefile with areas or road lines."
        )
        raise ValidationFailed(message, [Problem(f"'{shown}'", "unknown_format", message)])


def _is_table(path: Path) -> bool:
    """XLSX, or CSV without a WKT column (a CSV with one is a vector file)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(XLSX_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                return "[Content_Types].xml" in archive.namelist()
        except zipfile.BadZipFile:
            return False
    if head.lstrip().startswith((b"{", b"[")) or head.startswith(b"SQLite format 3"):
        return False
    first = head.decode("utf-8", errors="ignore").lstrip("\ufeff").partition("\n")[0]
    headers = {h.strip().strip('"').lower() for h in first.replace("\t", ",").split(",")}
    return not headers & set(WKT_COLUMNS)


def _canonical(columns: list[str]) -> dict[str, str]:
    lower = {c.strip().lstrip("\ufeff").lower(): c for c in columns}
    found: dict[str, str] = {}
    for target, names in ALIASES.items():
        for name in names:
            if name.lower() in lower and lower[name.lower()] not in found.values():
                found[target] = lower[name.lower()]
                break
    return found


def _cell(value: object, column: str) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, list | tuple | np.ndarray):
        return ",".join(str(v) for v in value)
    if column in _CODES and not isinstance(value, str):
        try:
            return code_text(value)
        except ValueError:
            return str(value)
    text = str(value).strip()
    return text or None


def _frame(source: pd.DataFrame, where: list[str], geometry: list[object]) -> pd.DataFrame:
    found = _canonical([str(c) for c in source.columns])
    out = pd.DataFrame({"where": where})
    for column in COLUMNS:
        values = source[found[column]] if column in found else [None] * len(source)
        out[column] = [_cell(v, column) for v in values]
    out["geometry"] = pd.Series(geometry, dtype=object)
    return out


def read_rule_upload(
    path: Path, *, crs: str | None = None, file_name: str | None = None
) -> RuleUpload:
    """Read a rule file (table or vector file) into rows for :func:`validate_rules`.

    Raises
    ------
    ValidationFailed
        When the file cannot be read, or holds more than :data:`MAX_RULES` rules.
    CRSMismatch
        When a vector file's coordinates cannot be brought to EPSG:4326.
    """
    path = Path(path)
    shown = file_name or path.name
    _check_format(path, shown)
    if _is_table(path):
        table = read_table(path, name=shown, max_rows=MAX_RULES)
        where = [f"row {i + 2}" for i in range(len(table))]
        rows = _frame(table.replace({"": None}), where, [None] * len(table))
        return RuleUpload(rows, shown, _sha256(path), None)
    layers = read_layers(path, crs=crs, file_name=shown, max_features=MAX_RULES)
    frames = []
    source_crs: str | None = None
    for layer, frame in layers.items():
        source_crs = str(frame.attrs.get("source_crs", "EPSG:4326"))
        prefix = f"layer '{layer}', " if len(layers) > 1 else ""
        where = [f"{prefix}feature {n}" for n in frame["row"]]
        attrs = frame.drop(columns=[frame.geometry.name, "row"])
        geoms = [None if g is None or g.is_empty else g for g in frame.geometry]
        frames.append(_frame(attrs.reset_index(drop=True), where, geoms))
    rows = pd.concat(frames, ignore_index=True)
    if rows.empty:
        raise ValidationFailed(f"'{shown}' holds no rules.")
    return RuleUpload(rows, shown, _sha256(path), source_crs)
