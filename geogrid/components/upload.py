"""Reading a component file into normalised components (DOMAIN.md §2, §1b).

Any format :func:`geogrid.io.read.read_layers` reads (GeoJSON, GeoPackage, zipped Shapefile,
CSV). Attribute names are mapped through :data:`ALIASES`, which include the fields of legacy
census deliveries (部件普查: ``OBJCODE``, ``OBJNAME``, ``DEPTNAME1``–``3``, ``OBJSTATE``,
``ORDATE``, ``CHDATE``). Every layer of the file is read as components.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geogrid.errors import Problem, ValidationFailed
from geogrid.grids.upload import code_text
from geogrid.io.read import read_layers

MAX_COMPONENTS = 1_000_000

#: Normalised columns, in order (plus ``row``, ``layer`` and ``geometry``).
COLUMNS = (
    "code",
    "sub_class",
    "name",
    "department",
    "owner",
    "maintainer",
    "status",
    "install_date",
    "change_date",
    "data_source",
    "photo_url",
    "note",
)
ALIASES = {
    "code": ("code", "objcode", "bsm", "部件编码", "部件标识码", "标识码", "编码"),
    "sub_class": ("sub_class", "subclass", "class_code", "objtype", "小类", "小类编码", "类别"),
    "name": ("name", "objname", "部件名称", "名称"),
    "department": ("department", "deptname1", "dept", "主管部门"),
    "owner": ("owner", "deptname2", "权属单位"),
    "maintainer": ("maintainer", "maintenance_unit", "deptname3", "养护单位"),
    "status": ("status", "objstate", "状态", "部件状态"),
    "install_date": ("install_date", "ordate", "初始时间", "安装日期", "设置时间"),
    "change_date": ("change_date", "chdate", "变更时间", "变更日期"),
    "data_source": ("data_source", "datasource", "数据来源"),
    "photo_url": ("photo_url", "photo", "picture", "照片"),
    "note": ("note", "remark", "备注"),
}
#: Numeric OBJSTATE codes of census deliveries, in the order of DOMAIN.md §2.
LEGACY_STATES = {"1": "完好", "2": "破损", "3": "丢失", "4": "占用", "5": "废弃", "6": "移除"}


@dataclass(frozen=True)
class ComponentUpload:
    """Components read from a file: text attributes, dates, geometry in EPSG:4326."""

    features: gpd.GeoDataFrame
    file_name: str
    sha256: str
    source_crs: str
    notes: list[Problem]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rename(frame: gpd.GeoDataFrame) -> dict[str, str]:
    lower = {str(c).strip().lower(): str(c) for c in frame.columns if c != frame.geometry.name}
    found: dict[str, str] = {}
    for target, names in ALIASES.items():
        for name in names:
            if name.lower() in lower:
                found[target] = lower[name.lower()]
                break
    return found


def _text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: None if v is None or v != v else (str(v).strip() or None))


def parse_date(value: object) -> date | None:
    """A date from a cell: a date/datetime, ``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYYMMDD``."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-")
    if not text:
        return None
    if text.isdigit() and len(text) == 8:
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return date.fromisoformat(text[:10])


def read_component_upload(
    path: Path, *, crs: str | None = None, file_name: str | None = None
) -> ComponentUpload:
    """Read a component file; cells are kept as given, dates parsed, codes exact text.

    Returns
    -------
    ComponentUpload
        ``features`` has ``layer``, ``row`` (1-based within its layer), the :data:`COLUMNS`
        (None where absent) and the geometry in EPSG:4326.

    Raises
    ------
    ValidationFailed
        When the file cannot be read, has no geometry, or a code or date cannot be read
        exactly (a 17-digit code stored as a floating-point number loses digits).
    """
    path = Path(path)
    shown = file_name or path.name
    layers = read_layers(path, crs=crs, file_name=shown, max_features=MAX_COMPONENTS)
    problems: list[Problem] = []
    frames = []
    source_crs = "EPSG:4326"
    for layer, frame in layers.items():
        source_crs = str(frame.attrs.get("source_crs", source_crs))
        found = _rename(frame)
        if "code" not in found and "sub_class" not in found:
            problems.append(
                Problem(
                    f"layer '{layer}'",
                    "no_code_column",
                    f"Layer '{layer}' has neither a code column (code, OBJCODE, 部件编码) nor a "
                    "subclass column (sub_class, 小类): one of them is needed.",
                )
            )
            continue
        out = pd.DataFrame({"layer": layer, "row": frame["row"].to_numpy()})
        for column in COLUMNS:
            source = found.get(column)
            values = frame[source] if source else pd.Series(None, index=frame.index, dtype=object)
            out[column] = _cells(values.reset_index(drop=True), column, layer, problems)
        frames.append(gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs="EPSG:4326"))
    if problems:
        raise ValidationFailed(f"'{shown}' cannot be read: {problems[0].message}", problems)
    features = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    return ComponentUpload(features, shown, _sha256(path), source_crs, [])


def _cells(values: pd.Series, column: str, layer: str, problems: list[Problem]) -> pd.Series:
    if column in ("code", "sub_class"):
        parse = code_text
    elif column in ("install_date", "change_date"):
        parse = parse_date  # type: ignore[assignment]
    else:
        return _text(values)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        try:
            out[i] = parse(value)
        except ValueError as exc:
            problems.append(
                Problem(
                    f"layer '{layer}', feature {i + 1}",
                    f"bad_{column}",
                    f"Feature {i + 1} of layer '{layer}', {column}: {exc}.",
                )
            )
            out[i] = None
    return pd.Series(out, dtype=object)
