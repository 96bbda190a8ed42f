"""Reading a vendor's patch delivery into validated patches (DOMAIN.md §6).

Any format :func:`geogrid.io.read.read_layers` reads (GeoJSON, GeoPackage, zipped Shapefile,
CSV with WKT), in any CRS (converted to EPSG:4326). Attribute names are matched through
:data:`ALIASES`, which include the pinyin abbreviations of Chinese deliveries (``TBBH`` 图斑编号,
``BHLX`` 变化类型, ``QSX``/``HSX`` 前/后时相, ``MJ`` 面积, ``BZ`` 备注). Every problem is listed at
once, naming the feature (and its patch id when it has one); nothing is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid.catalogue import Catalogue
from geogrid.components.upload import parse_date
from geogrid.errors import Problem, ValidationFailed
from geogrid.io.read import read_layers
from geogrid.satellite.rules import CHANGE_TYPES, MAX_PATCH_CODE, change_type

MAX_PATCHES = 20_000
MAX_LISTED = 1000
COLUMNS = (
    "patch_code",
    "change_type",
    "before_date",
    "after_date",
    "declared_area_m2",
    "department",
    "sub_class",
    "due_at",
    "note",
)
REQUIRED = ("patch_code", "change_type")
ALIASES = {
    "patch_code": ("patch_id", "patch_code", "patch", "tbbh", "图斑编号", "图斑号", "编号", "bh"),
    "change_type": ("change_type", "type", "bhlx", "tblx", "变化类型", "图斑类型", "类型"),
    "before_date": ("before_date", "image_before", "qsx", "qsxsj", "前时相", "前时相日期"),
    "after_date": ("after_date", "image_after", "hsx", "hsxsj", "后时相", "后时相日期"),
    "declared_area_m2": ("area_m2", "area", "mj", "tbmj", "面积", "图斑面积"),
    "department": ("department", "dept", "处置部门", "责任单位", "责任部门"),
    "sub_class": ("sub_class", "subclass", "小类"),
    "due_at": ("due_at", "处置时限", "整改期限", "整改时限"),
    "note": ("note", "remark", "bz", "备注", "description", "描述"),
}


@dataclass(frozen=True)
class PatchUpload:
    """Validated patches: the :data:`COLUMNS`, ``layer``, ``row`` and a polygonal geometry."""

    features: gpd.GeoDataFrame
    file_name: str
    sha256: str
    source_crs: str

    def __len__(self) -> int:
        return len(self.features)


class _Problems:
    """Problems by feature, named by layer (when several), feature number and patch id."""

    def __init__(self, frame: pd.DataFrame, many_layers: bool) -> None:
        self.frame = frame
        self.many_layers = many_layers
        self.items: list[tuple[int, Problem]] = []

    def where(self, i: int) -> str:
        row = self.frame.iloc[i]
        where = f"feature {row['row']}"
        if self.many_layers:
            where = f"layer '{row['layer']}', {where}"
        code = row.get("patch_code")
        return f"{where} (patch {code})" if code else where

    def add(self, mask: np.ndarray | pd.Series, rule: str, reason: Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            where = self.where(int(i))
            message = f"{where[0].upper()}{where[1:]}: {reason(int(i))}"
            self.items.append((int(i), Problem(where, rule, message)))

    def at(self, i: int, rule: str, reason: str) -> None:
        """One problem of the feature at 0-based position ``i``."""
        self.add(np.arange(len(self.frame)) == i, rule, lambda _: reason)

    def raise_if_any(self, shown: str) -> None:
        if not self.items:
            return
        self.items.sort(key=lambda item: item[0])
        problems = [p for _, p in self.items[:MAX_LISTED]]
        if len(self.items) > MAX_LISTED:
            more = f"{len(self.items) - MAX_LISTED} more problem(s) not listed."
            problems.append(Problem(f"'{shown}'", "more_problems", more))
        raise ValidationFailed(
            f"'{shown}' was not imported: {len({i for i, _ in self.items})} patch(es) have "
            f"problems; nothing was written. First: {problems[0].message}",
            problems,
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _found(frame: gpd.GeoDataFrame) -> dict[str, str]:
    lower = {str(c).strip().lower(): str(c) for c in frame.columns if c != frame.geometry.name}
    found: dict[str, str] = {}
    for target, names in ALIASES.items():
        for name in names:
            if name.lower() in lower and lower[name.lower()] not in found.values():
                found[target] = lower[name.lower()]
                break
    return found


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def read_patch_upload(
    path: Path,
    *,
    catalogue: Catalogue,
    crs: str | None = None,
    file_name: str | None = None,
    tz: str = "Asia/Shanghai",
) -> PatchUpload:
    """Read and validate a patch delivery.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, zipped Shapefile or CSV with WKT; any CRS.
    catalogue
        Checks a ``sub_class`` column (an event subclass of GB/T 47678.5).
    crs
        Overrides the file's CRS (required when it has none).
    file_name
        The name the user knows the file by.
    tz
        Zone of a naive ``due_at``.

    Returns
    -------
    PatchUpload
        Features with ``layer``, ``row``, the :data:`COLUMNS` (text, dates, numbers, UTC
        timestamps) and the geometry (Polygon or MultiPolygon, EPSG:4326).

    Raises
    ------
    ValidationFailed
        Listing every problem: a missing column (patch id, change type), an empty or duplicate
        patch id, an unknown change type or subclass, a missing, non-polygonal or invalid
        geometry, an unreadable date or area, a before date after the after date.
    CRSMismatch
        When the file has no CRS and none was declared.
    """
    path = Path(path)
    shown = file_name or path.name
    layers = read_layers(path, crs=crs, file_name=shown, max_features=MAX_PATCHES)
    frames = []
    source_crs = "EPSG:4326"
    missing: list[Problem] = []
    for layer, frame in layers.items():
        source_crs = str(frame.attrs.get("source_crs") or source_crs)
        found = _found(frame)
        for column in REQUIRED:
            if column not in found:
                names = ", ".join(ALIASES[column][:2] + ALIASES[column][4:6])
                missing.append(
                    Problem(
                        f"layer '{layer}', column {column}",
                        "missing_column",
                        f"Layer '{layer}' has no {column} column (one of {names}); every patch "
                        f"needs one. Columns found: "
                        f"{', '.join(str(c) for c in frame.columns if c != 'geometry')}.",
                    )
                )
        out = pd.DataFrame({"layer": layer, "row": frame["row"].to_numpy()})
        for column in COLUMNS:
            source = found.get(column)
            out[column] = frame[source].to_numpy(dtype=object) if source else None
        frames.append(gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs="EPSG:4326"))
    if missing:
        raise ValidationFailed(f"'{shown}' was not imported: {missing[0].message}", missing)
    features = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    features = _validate(features, catalogue, len(layers) > 1, shown, tz)
    return PatchUpload(features, shown, _sha256(path), source_crs)


def _validate(
    features: gpd.GeoDataFrame, catalogue: Catalogue, many_layers: bool, shown: str, tz: str
) -> gpd.GeoDataFrame:
    out = features.copy()
    for column in ("patch_code", "department", "sub_class", "note", "change_type"):
        out[column] = pd.Series([_text(v) for v in out[column]], index=out.index, dtype=object)
    problems = _Problems(out, many_layers)
    code = out["patch_code"]
    problems.add(code.isna(), "missing_value", lambda i: "the patch id is empty.")
    problems.add(
        code.str.len() > MAX_PATCH_CODE,
        "too_long",
        lambda i: f"the patch id is longer than {MAX_PATCH_CODE} characters.",
    )
    doubled = code.duplicated(keep="first") & code.notna()
    first = {c: int(out["row"].iat[i]) for i, c in reversed(list(enumerate(code)))}
    problems.add(
        doubled,
        "duplicate_patch_id",
        lambda i: f"patch id {code.iat[i]} appears already at feature {first[code.iat[i]]}.",
    )

    given_type = out["change_type"]
    kind = given_type.map(lambda v: change_type(v) if v else None)
    problems.add(given_type.isna(), "missing_value", lambda i: "the change type is empty.")
    choices = ", ".join(f"{k} ({v})" for k, v in CHANGE_TYPES.items())
    problems.add(
        kind.isna() & given_type.notna(),
        "unknown_change_type",
        lambda i: f"change type '{given_type.iat[i]}' is not one of {choices}.",
    )
    out["change_type"] = kind

    sub = out["sub_class"]
    bad_sub = sub.notna() & sub.map(lambda s: s is None or catalogue.find("event", s) is None)
    problems.add(
        bad_sub,
        "unknown_sub_class",
        lambda i: f"subclass '{sub.iat[i]}' is not an event subclass of the catalogue.",
    )
    for column, limit in (("department", 200), ("note", 2000)):
        for i in np.flatnonzero((out[column].str.len() > limit).to_numpy(dtype=bool)):
            problems.at(int(i), "too_long", f"{column} is longer than {limit} characters.")

    _geometries(out, problems)
    _dates(out, problems)
    _area(out, problems)
    _due(out, problems, tz)
    problems.raise_if_any(shown)
    return out


def _geometries(out: gpd.GeoDataFrame, problems: _Problems) -> None:
    geoms = np.asarray(out.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add(missing, "missing_geometry", lambda i: "it has no geometry.")
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6))
    problems.add(
        ~missing & ~polygonal,
        "not_a_polygon",
        lambda i: f"its geometry is a {geoms[i].geom_type}, not a polygon; a patch is an area.",
    )
    invalid = ~missing & polygonal & ~shapely.is_valid(geoms)
    problems.add(
        invalid,
        "invalid_geometry",
        lambda i: (
            f"its polygon is not valid ({shapely.is_valid_reason(geoms[i])}); "
            "fix it (e.g. with ST_MakeValid or QGIS 'Fix geometries') and deliver it again."
        ),
    )


def _dates(out: gpd.GeoDataFrame, problems: _Problems) -> None:
    parsed: dict[str, list[date | None]] = {}
    for column in ("before_date", "after_date"):
        values: list[date | None] = []
        for i, value in enumerate(out[column]):
            try:
                day = parse_date(value)
            except ValueError:
                problems.at(i, "bad_date", f"{column} '{value}' is not a date (YYYY-MM-DD).")
                day = None
            values.append(day.date() if isinstance(day, datetime) else day)
        parsed[column] = values
        out[column] = pd.Series(values, index=out.index, dtype=object)
    before, after = parsed["before_date"], parsed["after_date"]
    reversed_ = [
        b is not None and a is not None and a < b for b, a in zip(before, after, strict=True)
    ]
    problems.add(
        np.array(reversed_, dtype=bool),
        "dates_reversed",
        lambda i: f"the after image date {after[i]} is before the before image date {before[i]}.",
    )


def _area(out: gpd.GeoDataFrame, problems: _Problems) -> None:
    text = pd.Series([_text(v) for v in out["declared_area_m2"]], index=out.index, dtype=object)
    number = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & (number.isna() | ~(number >= 0))
    problems.add(
        bad, "bad_area", lambda i: f"area '{text.iat[i]}' is not a number of square metres ≥ 0."
    )
    out["declared_area_m2"] = number.where(~bad & text.notna(), None).astype(object)


def _due(out: gpd.GeoDataFrame, problems: _Problems, tz: str) -> None:
    values: list[pd.Timestamp | None] = []
    for i, value in enumerate(_text(v) for v in out["due_at"]):
        if value is None:
            values.append(None)
            continue
        try:
            stamp = pd.Timestamp(value.replace("/", "-"))
        except ValueError:
            stamp = pd.NaT
        if stamp is pd.NaT:
            problems.at(
                i, "bad_timestamp", f"due_at '{value}' is not a date and time (2022-06-15 18:00)."
            )
            values.append(None)
            continue
        stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp
        values.append(stamp.tz_convert("UTC"))
    out["due_at"] = pd.Series(values, index=out.index, dtype=object)
