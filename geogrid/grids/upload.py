"""Read an uploaded grid file into grids, communities and streets (DOMAIN.md §1b).

A district's yearly grid update arrives as one file: the unit grids of whole communities, and
optionally the community and street boundaries as separate layers. This module finds which
layer is which, maps the many attribute names of Chinese GIS deliveries (English, Chinese,
pinyin initials) onto geogrid's columns and turns codes into exact text. It does not judge the
data: code formats, geometry validity, overlaps and gaps are the validators' job, so invalid and
empty geometries are kept as they are.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geogrid.crs import WGS84
from geogrid.errors import Problem, ValidationFailed
from geogrid.grids.rules import COMMUNITY_DIGITS, GRID_DIGITS, LEGACY_GRID_DIGITS, STREET_DIGITS
from geogrid.io.read import read_layers

GRID_COLUMNS = ("row", "code", "community_code", "community_name", "grid_type", "name", "geometry")
COMMUNITY_COLUMNS = ("row", "code", "name", "street_code", "street_name", "geometry")
STREET_COLUMNS = ("row", "code", "name", "geometry")
COLUMNS = {"grids": GRID_COLUMNS, "communities": COMMUNITY_COLUMNS, "streets": STREET_COLUMNS}
KIND_LABELS = {
    "grids": "grids (单元网格)",
    "communities": "communities (社区)",
    "streets": "streets (街道)",
}

# Accepted attribute names, best first, separated by spaces; compared without case, spaces, '_',
# '-' and '.'. Pinyin initials are those of Chinese deliveries: WGBM 网格编码, SQMC 社区名称 …
_ALIAS_TEXT = {
    "grids": {
        "code": "code grid_code 网格编码 单元网格编码 单元网格标识码 网格标识码 网格代码 "
        "单元网格代码 网格编号 单元网格编号 bgcode bgid wgbm dywgbm wgdm wgbh 编码 代码 标识码 bm",
        "community_code": "community_code comm_code 社区编码 社区代码 社区标识码 所属社区编码 "
        "村社区编码 社区村编码 sqbm sqdm sssqbm cmcode",
        "community_name": "community_name comm_name community 社区名称 社区 所属社区 村社区名称 "
        "村社区 社区村 sqmc sssq sssqmc cmname",
        "grid_type": "grid_type type 网格类型 类型 网格类别 类别 wglx lx",
        "name": "name grid_name 网格名称 单元网格名称 名称 wgmc mc",
    },
    "communities": {
        "code": "code community_code 社区编码 社区代码 社区标识码 村社区编码 社区村编码 sqbm sqdm "
        "cmcode 编码 代码 标识码 bm",
        "name": "name community_name community 社区名称 社区 村社区名称 社区村 名称 sqmc cmname mc",
        "street_code": "street_code 街道编码 街道代码 街道标识码 所属街道编码 乡镇街道编码 "
        "镇街编码 jdbm jddm ssjdbm stcode",
        "street_name": "street_name street 街道名称 街道 所属街道 乡镇街道 乡镇街道名称 镇街 jdmc "
        "ssjd ssjdmc stname",
    },
    "streets": {
        "code": "code street_code 街道编码 街道代码 街道标识码 乡镇街道编码 镇街编码 jdbm jddm "
        "stcode 编码 代码 标识码 bm",
        "name": "name street_name street 街道名称 街道 乡镇街道名称 乡镇街道 镇街 名称 jdmc "
        "stname mc",
    },
}
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    kind: {target: tuple(text.split()) for target, text in targets.items()}
    for kind, targets in _ALIAS_TEXT.items()
}
# Layer names: words anywhere in the name, or pinyin initials at its start; grids first, so
# that 社区网格 is grids and 街道社区 communities.
LAYER_NAMES = {
    "grids": (("grid", "网格"), ("wg", "dywg")),
    "communities": (("communit", "社区", "村"), ("sq",)),
    "streets": (("street", "街道", "乡镇", "镇街"), ("jd", "xz")),
}
GRID_TYPE_VALUES = {
    "city": ("city", "commercial", "城市", "商业", "城市商业", "城区", "城镇"),
    "rural": ("rural", "农村", "乡村"),
    "industrial": ("industrial", "厂区", "工业", "工业区", "厂矿", "园区"),
}
_CODE_KINDS = {
    GRID_DIGITS: "grids",
    LEGACY_GRID_DIGITS: "grids",
    COMMUNITY_DIGITS: "communities",
    STREET_DIGITS: "streets",
}
_SCIENTIFIC = re.compile(r"[+]?(?P<int>\d+)(?:\.(?P<frac>\d*))?[eE][+]?(?P<exp>\d+)")


@dataclass
class GridUpload:
    """An uploaded grid file, read and normalised but not validated (DOMAIN.md §1b).

    Attributes
    ----------
    grids : GeoDataFrame
        Columns ``row, code, community_code, community_name, grid_type, name, geometry``;
        EPSG:4326; codes as text; ``grid_type`` one of ``city``, ``rural``, ``industrial``.
    communities, streets : GeoDataFrame or None
        ``row, code, name, street_code, street_name, geometry`` and ``row, code, name,
        geometry``, when the file has those layers.
    file_name : str
        The name the user gave the file.
    sha256 : str
        Hex SHA-256 of the file's bytes.
    source_crs : str
        The grids' CRS in the file (``"EPSG:4543"``, ``"gcj02"`` …) before conversion.
    notes : list of Problem
        What the reader assumed or ignored (``severity`` ``"warning"``), for the plan to show.
    """

    grids: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    streets: gpd.GeoDataFrame | None
    file_name: str
    sha256: str
    source_crs: str
    notes: list[Problem] = field(default_factory=list)


def read_grid_upload(
    path: Path, *, crs: str | None = None, file_name: str | None = None
) -> GridUpload:
    """Read a grid update file into normalised grids, communities and streets (DOMAIN.md §1b).

    Layers are recognised by name (``grids``/``单元网格``/``网格``/``wg…``, ``communities``/
    ``社区``/``sq…``, ``streets``/``街道``/``jd…``), else by the length of their codes (15 or 14
    digits grids, 12 communities, 9 streets); a file with one layer holds grids. Other layers are
    ignored with a note. Attribute names are mapped through :data:`ALIASES`.

    Parameters
    ----------
    path : Path
        The uploaded file, in any format :func:`geogrid.io.read.read_layers` reads.
    crs : str, optional
        Declares the file's coordinate reference system (``EPSG:4543``, ``gcj02`` …).
    file_name : str, optional
        The name the user gave the file (default ``path.name``).

    Returns
    -------
    GridUpload
        The layers in EPSG:4326 with exactly the columns of :data:`COLUMNS`. A missing
        community code is taken from the first 12 digits of a 15- (or legacy 14-) digit grid
        code; a missing grid type is ``city``; both are noted.

    Raises
    ------
    ValidationFailed
        When the file cannot be read (see ``read_layers``), has no grids layer, two layers of a
        kind, no code column in a layer, a grid type geogrid does not know, or a code that was
        stored as a rounded number.
    CRSMismatch
        When the file's coordinate reference system is missing or does not fit.
    """
    path = Path(path)
    shown = file_name or path.name
    layers = read_layers(path, crs=crs, file_name=shown)
    notes: list[Problem] = []
    kinds = _identify(layers, notes)
    if "grids" not in kinds:
        raise _refuse(
            shown,
            "no_grids",
            f"File '{shown}' has no grids layer: name the layer of "
            f"unit grids 'grids' or '单元网格' (layers found: {', '.join(layers)}).",
        )
    problems: list[Problem] = []
    frames = {
        kind: _normalise(layers[name], kind, name, problems, notes) for kind, name in kinds.items()
    }
    if problems:
        raise ValidationFailed(f"File '{shown}' cannot be read: {problems[0].message}", problems)
    return GridUpload(
        grids=frames["grids"],
        communities=frames.get("communities"),
        streets=frames.get("streets"),
        file_name=shown,
        sha256=_sha256(path),
        source_crs=str(layers[kinds["grids"]].attrs.get("source_crs", WGS84)),
        notes=notes,
    )


def _refuse(where: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [Problem(where, rule, message)])


def _feature(layer: str, row: int, rule: str, text: str) -> Problem:
    return Problem(
        f"layer '{layer}', feature {row}", rule, f"Feature {row} of layer '{layer}' {text}"
    )


def _note(layer: str, rule: str, message: str) -> Problem:
    return Problem(f"layer '{layer}'", rule, message, severity="warning")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def _key(name: object) -> str:
    """A column or layer name as compared: NFKC, lower case, no spaces, '_', '-' or '.'."""
    return re.sub(r"[\s_\-.]", "", unicodedata.normalize("NFKC", str(name)).lower())


def _identify(layers: dict[str, gpd.GeoDataFrame], notes: list[Problem]) -> dict[str, str]:
    """Which layer holds grids, communities and streets: kind → layer name."""
    if len(layers) == 1:
        return {"grids": next(iter(layers))}
    found: dict[str, list[str]] = {}
    for name, frame in layers.items():
        kind = _kind_by_name(name) or _kind_by_codes(frame)
        if kind is None:
            text = "neither its name nor its codes say it holds grids, communities or streets"
            notes.append(_note(name, "layer_ignored", f"Layer '{name}' was ignored: {text}."))
        else:
            found.setdefault(kind, []).append(name)
    for kind, names in found.items():
        if len(names) > 1:
            raise _refuse(
                f"layer '{names[1]}'",
                "duplicate_layer",
                f"Layers {', '.join(repr(n) for n in names)} all look like {KIND_LABELS[kind]}; "
                "keep one, or name the layers grids, communities and streets "
                "(单元网格, 社区, 街道).",
            )
    return {kind: names[0] for kind, names in found.items()}


def _kind_by_name(name: str) -> str | None:
    key = _key(name)
    for kind, (words, prefixes) in LAYER_NAMES.items():
        if any(word in key for word in words) or key.startswith(prefixes):
            return kind
    return None


def _kind_by_codes(frame: gpd.GeoDataFrame) -> str | None:
    """Grids if a code column holds 15/14-digit codes, else communities (12), streets (9)."""
    code_keys = {_key(a) for aliases in ALIASES.values() for a in aliases["code"]}
    lengths: list[int] = []
    for column in frame.columns:
        if _key(column) in code_keys:
            values = frame[column].dropna().head(100)
            lengths += [len(t) for v in values if (t := _code_or_none(v)) and t.isdigit()]
    kinds = {_CODE_KINDS.get(n) for n in lengths} - {None}
    for kind in ("grids", "communities", "streets"):
        if kind in kinds:
            return kind
    return None


def code_text(value: object) -> str | None:
    """A code as exact text: numbers (int, float, ``5.30114001001001e14``) become digit strings.

    Parameters
    ----------
    value : object
        A cell as read: text (kept as given, stripped, a trailing ``.0`` dropped), an
        integer, a float below 2**53, or text in scientific notation that has all its digits.

    Returns
    -------
    str or None
        None for an empty cell.

    Raises
    ------
    ValueError
        When the value is a number that may no longer hold every digit of the code (a float
        of 2**53 or more, or ``5.30114E+14`` as a spreadsheet writes a rounded 15-digit number).
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if abs(number) >= 2**53:
            raise ValueError(f"the number {number:.0f} is too long to be read exactly")
        return str(int(number)) if number.is_integer() else str(number)
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0*", text):
        return text.split(".")[0]
    match = _SCIENTIFIC.fullmatch(text)
    if match:
        if len(match["frac"] or "") < int(match["exp"]):
            raise ValueError(f"'{text}' is a number rounded by a spreadsheet")
        exact = Decimal(text)
        return str(int(exact)) if exact == exact.to_integral_value() else text
    return text or None


def _code_or_none(value: object) -> str | None:
    try:
        return code_text(value)
    except ValueError:
        return None


def _grid_type(value: object) -> str | None:
    """``city``, ``rural``, ``industrial`` for a value in English or Chinese; None if unknown."""
    key = re.sub(r"[/、,，;；|]", "", _key(value))
    for grid_type, words in GRID_TYPE_VALUES.items():
        if key in words:
            return grid_type
    return None


def _normalise(
    frame: gpd.GeoDataFrame,
    kind: str,
    layer: str,
    problems: list[Problem],
    notes: list[Problem],
) -> gpd.GeoDataFrame:
    """The layer with exactly the columns of its kind, codes as text, grid types mapped."""
    by_key: dict[str, str] = {}
    for column in frame.columns:
        if column not in ("row", "geometry"):
            by_key.setdefault(_key(column), str(column))
    source: dict[str, str] = {}
    for target, aliases in ALIASES[kind].items():
        match = next((by_key[_key(a)] for a in aliases if _key(a) in by_key), None)
        if match is not None and match not in source.values():
            source[target] = match
    if "code" not in source:
        found = ", ".join(by_key.values()) or "none"
        raise _refuse(
            f"layer '{layer}'",
            "missing_code_column",
            f"Layer '{layer}' ({KIND_LABELS[kind]}) has no code column; columns found: {found}. "
            f"Name it one of: {', '.join(ALIASES[kind]['code'])}.",
        )
    out = pd.DataFrame({"row": frame["row"].to_numpy()})
    for target in COLUMNS[kind][1:-1]:
        values = frame[source[target]] if target in source else pd.Series([None] * len(frame))
        if target.endswith("code"):
            texts: list[str | None] = _codes(out["row"], values, target, layer, problems)
        elif target == "grid_type":
            texts = list(_grid_types(out["row"], values, layer, problems, notes))
        else:
            texts = [_name(v) for v in values]
        out[target] = pd.Series(texts, dtype=object)
    if kind == "grids":
        _derive(out, "community_code", (GRID_DIGITS, LEGACY_GRID_DIGITS), layer, notes)
    if kind == "communities":
        _derive(out, "street_code", (COMMUNITY_DIGITS,), layer, notes)
    result = gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=WGS84)
    result.attrs = dict(frame.attrs)
    return result


def _name(value: object) -> str | None:
    return None if value is None or pd.isna(value) or not str(value).strip() else str(value).strip()


def _codes(
    rows: pd.Series, values: pd.Series, column: str, layer: str, problems: list[Problem]
) -> list[str | None]:
    texts: list[str | None] = []
    for row, value in zip(rows, values, strict=True):
        try:
            texts.append(code_text(value))
        except ValueError as exc:
            texts.append(None)
            text = f"has a {column} that cannot be read exactly: {exc}; store codes as text."
            problems.append(_feature(layer, row, "code_not_text", text))
    return texts


def _grid_types(
    rows: pd.Series,
    values: pd.Series,
    layer: str,
    problems: list[Problem],
    notes: list[Problem],
) -> list[str]:
    """Grid types mapped to ``city``, ``rural``, ``industrial``; blank ones are ``city``."""
    types: list[str] = []
    blank = 0
    for row, value in zip(rows, values, strict=True):
        if _name(value) is None:
            blank += 1
        mapped = "city" if _name(value) is None else _grid_type(value)
        if mapped is None:
            text = (
                f"has grid type '{value}'; use city (城市/商业), rural (农村) or industrial (厂区)."
            )
            problems.append(_feature(layer, row, "unknown_grid_type", text))
        types.append(mapped or "city")
    if blank:
        text = f"{blank} grid(s) of layer '{layer}' have no grid type; they are taken as city."
        notes.append(_note(layer, "grid_type_default", text))
    return types


def _derive(
    out: pd.DataFrame, column: str, lengths: tuple[int, ...], layer: str, notes: list[Problem]
) -> None:
    """Fill a missing parent code (community of a grid, street of a community) from the code."""
    digits = STREET_DIGITS if column == "street_code" else COMMUNITY_DIGITS
    derive = out[column].isna() & out["code"].map(
        lambda c: isinstance(c, str) and c.isdigit() and len(c) in lengths
    )
    if derive.any():
        out.loc[derive, column] = out.loc[derive, "code"].str[:digits]
        text = (
            f"{int(derive.sum())} feature(s) of layer '{layer}' have no {column}; it was taken "
            f"from the first {digits} digits of their code."
        )
        notes.append(_note(layer, f"{column}_derived", text))
