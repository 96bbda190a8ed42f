"""Read vector files into GeoDataFrames in EPSG:4326, refusing unsafe or unreadable input.

Districts deliver grids, components and patches as GeoJSON, GeoPackage, zipped ESRI shapefiles
(often GBK-encoded, in a CGCS2000 Gauss–Krüger zone) or CSV with WKT; web-map tools export
GCJ-02 (DOMAIN.md §1, §1b). Whatever came in comes out in EPSG:4326, with a 1-based ``row``
column (the feature's number in its layer) so that every later problem can name the feature,
and ``attrs["source_crs"]`` saying what the input was. Geometries are kept as they are (invalid or
empty ones included, Z dropped): judging them is the validators' job.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from geogrid.crs import WGS84, gcj02_to_wgs84, parse_crs
from geogrid.errors import CRSMismatch, Problem, ValidationFailed

MAX_FEATURES = 200_000
MAX_BYTES = 200 * 2**20
MAX_UNZIPPED_BYTES = 2**30
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR = 16 * 2**20  # below this many inflated bytes a high ratio is harmless
LISTED = 20  # problems listed per rule and layer; the rest are counted in one more

WKT_COLUMNS = (
    "wkt",
    "geometry",
    "geom",
    "the_geom",
    "wkt_geom",
    "shape",
    "几何",
    "图形",
    "空间信息",
)
LON_COLUMNS = ("lon", "lng", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
CRS_HINT = (
    "declare it with --crs EPSG:xxxx on the command line or the crs= form field (e.g. EPSG:4490 "
    "for CGCS2000 longitude/latitude, EPSG:4543 for the Gauss–Krüger zone at 102°E, gcj02 for "
    "AMap/Tencent coordinates)"
)
CRS_RULES = ("missing_crs", "crs_unusable", "not_lonlat")
_OGR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    UnicodeDecodeError,
)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)
_EWKT = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)
_KINDS = {".shp": "shp", ".gpkg": "gpkg", ".csv": "csv", ".geojson": "geojson", ".json": "geojson"}
_WHAT = {"shp": "a shapefile", "gpkg": "GeoPackage", "geojson": "GeoJSON"}
_TRUNCATED = "is truncated or damaged (shorter than its header says); upload it again."


def _refuse(where: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [Problem(where, rule, message)])


def _at(layer: str, index: int | np.integer, rule: str, text: str) -> Problem:
    """A problem of the feature at 0-based ``index``, named by its 1-based number."""
    n = int(index) + 1
    return Problem(f"layer '{layer}', feature {n}", rule, f"Feature {n} of layer '{layer}' {text}")


@dataclass
class _Budget:
    """Features read so far from one file, against ``max_features``."""

    limit: int
    shown: str
    used: int = 0

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)

    def take(self, count: int, layer: str) -> None:
        if self.used + count > self.limit:
            raise _refuse(
                f"layer '{layer}'",
                "too_many_features",
                f"File '{self.shown}' holds more than {self.limit:,} features (reached in layer "
                f"'{layer}'), the most geogrid reads from one file; split it and upload the parts.",
            )
        self.used += count


def read_layers(
    path: Path,
    *,
    crs: str | None = None,
    file_name: str | None = None,
    max_features: int = MAX_FEATURES,
    max_bytes: int = MAX_BYTES,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
    keep_source_geometry: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """Read every vector layer of a file into GeoDataFrames in EPSG:4326 (DOMAIN.md §1).

    Formats, decided by content (and the extension for CSV): GeoJSON (RFC 7946, or with a legacy
    ``crs`` member, which is honoured); GeoPackage (every layer with geometry); a zip archive of
    ESRI shapefiles (``.shp`` + ``.shx`` + ``.dbf``, ``.prj`` and ``.cpg`` honoured; a ``.dbf``
    without ``.cpg`` is read as UTF-8 when it decodes strictly as such, else as GB18030), and of
    GeoPackage, GeoJSON or CSV files; CSV with a WKT column (``wkt``, ``geometry``, ``geom``,
    ``几何`` …; EWKT ``SRID=n;`` honoured) or longitude/latitude columns (``lon``/``lat``,
    ``经度``/``纬度`` …), in UTF-8 (with or without BOM), UTF-16 with BOM or GB18030.

    Parameters
    ----------
    path : Path
        The file.
    crs : str, optional
        Declares the coordinates' reference system, overriding the file's: anything
        :func:`geogrid.crs.parse_crs` accepts (``EPSG:4543``, ``gcj02`` …). Required for files
        that carry none (a shapefile without ``.prj``, a CSV).
    file_name : str, optional
        The name the user knows the file by (default ``path.name``): names single-layer files'
        layers and the file in messages.
    max_features : int
        Most features read from the whole file.
    max_bytes : int
        Largest file size in bytes.
    max_unzipped_bytes : int
        Most bytes an archive may inflate to; an archive inflating to more than 16 MiB is also
        refused when it inflates more than 100 times (a zip bomb).
    keep_source_geometry : bool
        Add a ``source_geometry`` column with the 2D geometries in the source CRS.

    Returns
    -------
    dict of str to GeoDataFrame
        By layer name (GeoPackage layer, shapefile stem, else the file stem): a 1-based ``row``
        column first (a column already named ``row`` becomes ``source_row``), the attributes as
        read, ``geometry`` in EPSG:4326 (2D); ``attrs["source_crs"]`` is the input's CRS
        (``"EPSG:4543"``, ``"gcj02"``, or WKT when it has no authority code).

    Raises
    ------
    ValidationFailed
        When the file is too large, of an unknown format, unreadable or truncated, an unsafe
        archive, holds more than ``max_features`` features or has non-finite coordinates; the
        problems name the layer and the 1-based feature number.
    CRSMismatch
        When the declared CRS is unknown, or (and nothing else is wrong) a layer has no CRS and
        none was declared, or its coordinates are not longitude/latitude after conversion.
    """
    path = Path(path)
    shown = file_name or path.name
    declared = parse_crs(crs) if crs else None
    size = path.stat().st_size if path.is_file() else 0
    if size == 0:
        raise _refuse(shown, "unreadable", f"File '{shown}' is empty or does not exist.")
    if size > max_bytes:
        raise _refuse(
            shown,
            "file_too_large",
            f"File '{shown}' is {size / 2**20:.1f} MiB, larger than the limit of "
            f"{max_bytes / 2**20:.1f} MiB; split it and upload the parts.",
        )
    budget = _Budget(max_features, shown)
    kind = _sniff(path, shown)
    if kind == "zip":
        with tempfile.TemporaryDirectory(prefix="geogrid-read-") as tmp:
            raw = [
                layer
                for member in _extract(path, Path(tmp), shown, max_unzipped_bytes)
                for layer in _read_file(member, budget, f"{shown}: {member.relative_to(tmp)}")
            ]
    else:
        raw = list(_read_file(path, budget, shown, kind=kind, stem=Path(shown).stem))
    if not raw:
        raise _refuse(shown, "no_layers", f"File '{shown}' holds no layer with geometries.")
    problems: list[Problem] = []
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, frame in raw:
        while name in layers:  # two shapefiles of one stem in different folders
            name += "_"
        layers[name] = _to_wgs84(frame, name, declared, problems, keep_source_geometry)
    if problems:
        error = CRSMismatch if all(p.rule in CRS_RULES for p in problems) else ValidationFailed
        raise error(f"File '{shown}' cannot be used: {problems[0].message}", problems)
    return layers


def _sniff(path: Path, shown: str) -> str:
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"\x00\x00\x27\x0a") and path.suffix.lower() == ".shp":
        return "shp"  # a shapefile on disk, its other parts beside it (command line)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return "geojson"
    first = _decode(head, shown, strict=False).partition("\n")[0]
    keys = [c.strip().lower() for c in re.split(r"[,;\t|]", first)]
    if Path(shown).suffix.lower() in (".csv", ".txt", ".tsv") or _csv_columns(keys) is not None:
        return "csv"
    raise _refuse(
        shown,
        "unknown_format",
        f"File '{shown}' is not in a format geogrid reads: use GeoJSON, GeoPackage (.gpkg), a zip "
        "of ESRI shapefiles (.shp with .shx, .dbf and .prj) or CSV with a WKT column.",
    )


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name; names not flagged UTF-8 are often GBK (Chinese Windows), not CP437."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unsafe(info: zipfile.ZipInfo, name: str) -> str | None:
    """Why an archive member must not be extracted, or None."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in _parts(name):
        return "points outside the archive (an absolute path or '..')"
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "is a symbolic link"
    return "is encrypted" if info.flag_bits & 0x1 else None


def _parts(name: str) -> tuple[str, ...]:
    return PurePosixPath(name.replace("\\", "/")).parts


def check_archive(
    archive: Path, *, shown: str, max_unzipped_bytes: int = MAX_UNZIPPED_BYTES
) -> list[str]:
    """Refuse an unsafe zip archive before anything in it is inflated; its members' names.

    Used before extracting an archive and before handing one to another reader (an XLSX
    workbook is a zip archive too).

    Raises
    ------
    ValidationFailed
        When a member points outside the archive (an absolute path or ``..``), is a symbolic
        link or encrypted; when the members' declared sizes add up to more than
        ``max_unzipped_bytes``, or to more than 16 MiB at more than 100 times the packed size
        (a zip bomb); when the archive cannot be read.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            return [name for _, name in _checked_members(zf, shown, max_unzipped_bytes)]
    except _ZIP_ERRORS as exc:
        raise _bad_archive(shown, exc) from None


def _checked_members(
    zf: zipfile.ZipFile, shown: str, max_unzipped: int
) -> list[tuple[zipfile.ZipInfo, str]]:
    infos = [(i, _member_name(i)) for i in zf.infolist() if not i.is_dir()]
    problems = [
        Problem(
            f"{shown}: {name}",
            "unsafe_archive",
            f"Member '{name}' of archive '{shown}' {why}; the archive is refused.",
        )
        for info, name in infos
        if (why := _unsafe(info, name))
    ]
    if problems:
        raise ValidationFailed(problems[0].message, problems)
    total = sum(i.file_size for i, _ in infos)
    packed = sum(i.compress_size for i, _ in infos)
    if total > max_unzipped or total > max(ZIP_RATIO_FLOOR, MAX_ZIP_RATIO * packed):
        raise _zip_bomb(shown, total, packed, max_unzipped)
    return infos


def _bad_archive(shown: str, exc: Exception) -> ValidationFailed:
    return _refuse(
        shown,
        "unreadable",
        f"Archive '{shown}' cannot be read: it is truncated, "
        f"damaged or uses an unsupported compression ({exc}).",
    )


def _extract(archive: Path, into: Path, shown: str, max_unzipped: int) -> list[Path]:
    """Extract a zip safely into ``into``; the files in it geogrid reads, in archive order."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = _checked_members(zf, shown, max_unzipped)
            packed = sum(i.compress_size for i, _ in infos)
            written, files = 0, []
            for info, name in infos:
                parts = _parts(name)
                if parts[0] == "__MACOSX" or parts[-1].startswith("._"):
                    continue
                files.append(target := into.joinpath(*parts))
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as dst:
                    while chunk := src.read(2**20):
                        written += len(chunk)
                        if written > max_unzipped:  # the sizes in the archive lied
                            raise _zip_bomb(shown, written, packed, max_unzipped)
                        dst.write(chunk)
    except _ZIP_ERRORS as exc:
        raise _bad_archive(shown, exc) from None
    readable = [f for f in files if f.suffix.lower() in _KINDS]
    if not readable:
        raise _refuse(
            shown,
            "no_layers",
            f"Archive '{shown}' holds no shapefile (.shp), GeoPackage, GeoJSON or CSV file.",
        )
    return readable


def _zip_bomb(shown: str, total: int, packed: int, limit: int) -> ValidationFailed:
    return _refuse(
        shown,
        "zip_bomb",
        f"Archive '{shown}' inflates to {total:,} bytes from {packed:,} (limit {limit:,} bytes, "
        f"ratio at most {MAX_ZIP_RATIO}:1 above {ZIP_RATIO_FLOOR // 2**20} MiB); it is refused "
        "as a possible zip bomb.",
    )


def _read_file(
    path: Path, budget: _Budget, where: str, *, kind: str | None = None, stem: str | None = None
) -> Iterator[tuple[str, gpd.GeoDataFrame]]:
    """The layers of one file (a file on its own, or a member of an archive)."""
    stem = stem or path.stem
    kind = kind or _KINDS[path.suffix.lower()]
    if kind == "csv":
        yield stem, _read_csv(path, stem, budget, where)
    elif kind == "shp":
        yield stem, _read_ogr(path, kind, None, where, budget, stem, _check_shapefile(path, where))
    elif kind == "gpkg":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*non conformant file extension", RuntimeWarning)
            try:
                listed = pyogrio.list_layers(path)
            except _OGR_ERRORS as exc:
                raise _unreadable(where, kind, exc, path) from None
        for name, geometry_type in listed:
            if geometry_type is not None:  # not an attribute table
                yield str(name), _read_ogr(path, kind, str(name), where, budget, str(name))
    else:
        yield stem, _read_ogr(path, kind, None, where, budget, stem)


def _unreadable(where: str, kind: str, exc: Exception, path: Path) -> ValidationFailed:
    if isinstance(exc, UnicodeDecodeError):
        return _refuse(
            where,
            "not_utf8",
            f"'{where}' holds text that is not UTF-8 (byte 0x{exc.object[exc.start]:02x}); "
            f"{_WHAT[kind]} must be saved as UTF-8.",
        )
    detail = str(exc).replace(f"{path.parent}/", "")
    return _refuse(
        where,
        "unreadable",
        f"'{where}' cannot be read as {_WHAT[kind]}: it is truncated or not valid ({detail}).",
    )


def _read_ogr(
    path: Path,
    kind: str,
    layer: str | None,
    where: str,
    budget: _Budget,
    name: str,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*non conformant file extension", RuntimeWarning)
        # NaN coordinates: reported feature by feature by _to_wgs84, not as a warning.
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        try:
            frame = pyogrio.read_dataframe(
                path, layer=layer, encoding=encoding, max_features=budget.left + 1
            )
        except _OGR_ERRORS as exc:
            raise _unreadable(where, kind, exc, path) from None
    budget.take(len(frame), name)
    return frame


def _check_shapefile(shp: Path, where: str) -> str | None:
    """Refuse a shapefile with missing or truncated parts; the encoding of its .dbf."""
    parts = {p.suffix.lower(): p for p in shp.parent.iterdir() if p.stem == shp.stem}
    missing = " or ".join(shp.stem + ext for ext in (".shx", ".dbf") if ext not in parts)
    if missing:
        raise _refuse(
            where,
            "missing_part",
            f"Shapefile '{shp.name}' comes without {missing}: "
            "a shapefile needs its .shp, .shx and .dbf files.",
        )
    for ext in (".shp", ".shx"):
        with parts[ext].open("rb") as f:
            head = f.read(28)
        declared = int.from_bytes(head[24:28], "big") * 2 if len(head) == 28 else -1
        if head[:4] != b"\x00\x00\x27\x0a" or parts[ext].stat().st_size < declared:
            raise _refuse(
                where, "truncated", f"'{parts[ext].name}' of shapefile '{shp.stem}' {_TRUNCATED}"
            )
    dbf = parts[".dbf"].read_bytes()
    count, header, record = (
        int.from_bytes(dbf[a:b], "little") for a, b in ((4, 8), (8, 10), (10, 12))
    )
    if len(dbf) < 32 or len(dbf) < header + count * record:
        raise _refuse(
            where, "truncated", f"'{parts['.dbf'].name}' of shapefile '{shp.stem}' {_TRUNCATED}"
        )
    candidates = ["utf-8", "gb18030"]
    if ".cpg" in parts:
        cpg = parts[".cpg"].read_text("ascii", errors="ignore").strip()
        page = re.sub(r"^(ANSI|OEM)\s*", "", cpg, flags=re.IGNORECASE)
        candidates.insert(0, "cp" + page if page.isdigit() else page)
    text = _dbf_text(dbf, header, record, count)
    for candidate in candidates:
        try:
            text.decode(codecs.lookup(candidate).name)
        except (LookupError, UnicodeDecodeError):
            continue
        return codecs.lookup(candidate).name.upper()
    return None


def _dbf_text(dbf: bytes, header: int, record: int, count: int) -> bytes:
    """The bytes of a .dbf's field names and character fields, to tell their encoding."""
    names: list[bytes] = []
    columns: list[int] = []
    offset = 1  # each record starts with its deletion flag
    for start in range(32, header - 1, 32):
        if dbf[start] == 0x0D:
            break
        names.append(dbf[start : start + 11].split(b"\x00")[0])
        width = dbf[start + 16]
        if dbf[start + 11 : start + 12] == b"C":
            columns.extend(range(offset, min(offset + width, record)))
        offset += width
    if not columns:
        return b"".join(names)
    rows = np.frombuffer(dbf, np.uint8, count * record, header).reshape(count, record)
    return b"".join(names) + rows[:, np.array(columns, dtype=np.intp)].tobytes()


def _decode(data: bytes, where: str, *, strict: bool = True) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="strict" if strict else "replace")
    data = data.removeprefix(codecs.BOM_UTF8)
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not strict:
        return data.decode("utf-8", errors="replace")
    raise _refuse(
        where,
        "not_utf8",
        f"'{where}' is neither UTF-8 nor GB18030 (GBK) text; save it as UTF-8 and upload it again.",
    )


def _csv_columns(keys: list[str]) -> tuple[int, ...] | None:
    """Index of the WKT column, or of the longitude and latitude columns; None if neither."""
    wkt = [i for i, k in enumerate(keys) if k in WKT_COLUMNS]
    lon = [i for i, k in enumerate(keys) if k in LON_COLUMNS]
    lat = [i for i, k in enumerate(keys) if k in LAT_COLUMNS]
    return (wkt[0],) if wkt else (lon[0], lat[0]) if lon and lat else None


def _read_csv(path: Path, layer: str, budget: _Budget, where: str) -> gpd.GeoDataFrame:
    text = _decode(path.read_bytes(), where)
    first = text.partition("\n")[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=max(",\t;|", key=first.count))
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # long WKT of big polygons
    header = [h.strip() for h in next(reader, [])]
    columns = _csv_columns([h.lower() for h in header])
    if columns is None:
        raise _refuse(
            layer,
            "no_geometry_column",
            f"CSV '{layer}' has no geometry column: name "
            f"one of {', '.join(WKT_COLUMNS)} (WKT), or give lon and lat columns; "
            f"columns found: {', '.join(header) or 'none'}.",
        )
    problems: list[Problem] = []
    rows: list[list[str]] = []
    try:
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                problems.append(
                    _at(
                        layer,
                        len(rows),
                        "bad_row",
                        f"(line {reader.line_num}) has "
                        f"{len(record)} fields; the header has {len(header)}.",
                    )
                )
            rows.append((record + [""] * len(header))[: len(header)])
            if len(rows) > budget.left:
                budget.take(len(rows), layer)  # refuses the file before it is all in memory
    except csv.Error as exc:
        raise _refuse(
            layer,
            "unreadable",
            f"CSV '{layer}' cannot be read after line {reader.line_num}: {exc}.",
        ) from None
    budget.take(len(rows), layer)
    frame = pd.DataFrame(rows, columns=header, dtype=object).replace({"": None})
    crs: CRS | None = None
    if len(columns) == 1:
        wkt = frame.pop(header[columns[0]]).to_numpy(dtype=object)
        srids = {m[1] for w in wkt if w is not None and (m := _EWKT.match(w))}
        crs = CRS.from_epsg(int(srids.pop())) if len(srids) == 1 else None
        wkt = np.array([None if w is None else _EWKT.sub("", w) for w in wkt], dtype=object)
        geoms = shapely.from_wkt(wkt, on_invalid="ignore")
        for i in np.flatnonzero(pd.isna(geoms) & pd.notna(wkt)):
            try:
                shapely.from_wkt(wkt[i])
                reason = "it is not WKT"
            except shapely.errors.ShapelyError as exc:
                reason = str(exc)
            problems.append(
                _at(layer, i, "bad_wkt", f"has a geometry that cannot be read: {reason}.")
            )
    else:
        given = [frame[header[c]] for c in columns]
        xy = [pd.to_numeric(g, errors="coerce").to_numpy(float) for g in given]
        for i in np.flatnonzero(
            np.isnan(xy[0]) & given[0].notna() | np.isnan(xy[1]) & given[1].notna()
        ):
            problems.append(
                _at(layer, i, "bad_number", "has a longitude or latitude that is not a number.")
            )
        geoms = np.where(given[0].notna() & given[1].notna(), shapely.points(*xy), None)
    if problems:
        raise ValidationFailed(f"CSV '{layer}' cannot be read: {problems[0].message}", problems)
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=crs)


def _listed(problems: list[Problem], layer: str, found: list[Problem]) -> None:
    problems.extend(found[:LISTED])
    if len(found) > LISTED:
        message = f"Layer '{layer}' has {len(found) - LISTED} more feature(s) with that problem."
        problems.append(Problem(f"layer '{layer}'", found[0].rule, message))


def _crs_name(crs: CRS | str) -> str:
    if isinstance(crs, str):
        return crs
    authority = crs.to_authority(min_confidence=70)
    return f"{authority[0]}:{authority[1]}" if authority else crs.to_wkt()


def _from_gcj02(coords: np.ndarray) -> np.ndarray:
    return np.column_stack(gcj02_to_wgs84(coords[:, 0], coords[:, 1]))


def _to_wgs84(
    frame: gpd.GeoDataFrame,
    layer: str,
    declared: CRS | str | None,
    problems: list[Problem],
    keep_source: bool,
) -> gpd.GeoDataFrame:
    """Number the features, check their coordinates are finite and convert them to EPSG:4326."""
    geoms = shapely.force_2d(np.asarray(frame.geometry.array, dtype=object))
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
    attrs = attrs.rename(columns={"row": "source_row"})
    attrs.insert(0, "row", np.arange(1, len(attrs) + 1))
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
    text = "has a coordinate that is not a finite number (NaN or infinity); fix or remove it."
    _listed(problems, layer, [_at(layer, i, "non_finite_coordinate", text) for i in bad])
    source = declared if declared is not None else frame.crs
    if source is None:
        message = f"Layer '{layer}' says nothing about its coordinate reference system; {CRS_HINT}."
        problems.append(Problem(f"layer '{layer}'", "missing_crs", message))
    elif len(bad) == 0:
        if keep_source:
            attrs["source_geometry"] = geoms
        geoms = _transform(geoms, source, layer, problems)
        coords, index = shapely.get_coordinates(geoms, return_index=True)
        lonlat = np.isfinite(coords).all(axis=1) & (np.abs(coords) <= (180, 90)).all(axis=1)
        text = (
            f"is not at a longitude/latitude after conversion from {_crs_name(source)}; is that "
            f"the right coordinate reference system? If not, {CRS_HINT}."
        )
        looks_swapped = (
            (coords[:, 0] >= 18)
            & (coords[:, 0] <= 54)
            & (coords[:, 1] >= 73)
            & (coords[:, 1] <= 135)
        )
        if len(coords) and looks_swapped[~lonlat].all():
            text += " The coordinates look like latitude, longitude: swap the two columns."
        _listed(
            problems, layer, [_at(layer, i, "not_lonlat", text) for i in np.unique(index[~lonlat])]
        )
    result = gpd.GeoDataFrame(attrs, geometry=list(geoms), crs=WGS84)
    result.attrs["source_crs"] = None if source is None else _crs_name(source)
    return result


def _transform(
    geoms: np.ndarray, source: CRS | str, layer: str, problems: list[Problem]
) -> np.ndarray:
    """Geometries in ``source`` (a pyproj CRS or ``gcj02``) converted to EPSG:4326."""
    try:
        if isinstance(source, str):  # gcj02, the only CRS parse_crs gives as text
            return shapely.transform(geoms, _from_gcj02)
        if CRS.from_user_input(source).equals(WGS84, ignore_axis_order=True):
            return geoms
        return gpd.GeoSeries(geoms, crs=source).to_crs(WGS84).to_numpy()
    except (CRSError, ProjError) as exc:
        message = (
            f"Layer '{layer}' cannot be converted from {_crs_name(source)} to EPSG:4326: {exc}."
        )
        problems.append(Problem(f"layer '{layer}'", "crs_unusable", message))
        return geoms
