"""Bad input for every upload endpoint: each refusal is a 4xx in the one error shape, with a
sentence naming the problem, and leaves the database, the temporary directory and the data
directory as they were.

The inputs (as apply to each endpoint's format): a valid file cut in half, a PNG, random bytes
or a Windows executable under the expected name, a zip bomb (a small archive inflating past the
ratio limit), archive members named ``../evil.shp`` or ``/etc/evil.shp``, text that is neither
UTF-8 nor GB18030, more features than the endpoint reads, NaN and infinite coordinates, a
self-intersecting polygon (bowtie), an empty file, an upload over ``max_upload_mb``.

One database serves the whole module: every request here must leave it unchanged, which is
checked around each one with :func:`tests.checksums.unchanged_database`. A million features are
sent once per reader: as CSV to every vector endpoint (the CSV reader stops at the limit), as
GeoJSON to ``/grid-updates`` only (GDAL streams it; ~2 s), as rows to the table endpoints and
as fixes to ``/tracks``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from PIL import Image
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.db.engine import make_engine
from tests.cases_data import case, lonlat
from tests.checksums import unchanged_database
from tests.components_data import code as component_code
from tests.conftest import clone_database, drop_database
from tests.credentials import ADMIN, app_settings
from tests.satellite.data import jpeg, write_image
from tests.satellite.data import lonlat as patch_lonlat
from tests.satellite.scenario import BATCH, DELIVERED, DISPATCHED, HANDLED, PHOTO_TIME, patch_file
from tests.territory import load_territory

A11 = "530114001001001"
S1 = "530114001"
MILLION = 10**6
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "SELECT ", "INSERT ", "geogrid-upload-")

# --------------------------------------------------------------------------- the database


@dataclass
class World:
    """The module's database, its clients, and the ids the endpoints' URLs need."""

    engine: Engine
    admin: TestClient
    small: TestClient  # max_upload_mb=1
    data_dir: Path
    ids: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(
    pg_server: str, template_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The territory with a company, a supervisor, a patch batch and an assessment run."""
    url = clone_database(pg_server, template_url.rsplit("/", 1)[-1])
    engine = make_engine(url)
    folder = tmp_path_factory.mktemp("bad-input")
    data_dir = folder / "data"
    # A temporary directory of the module's own: what a request leaves there is its doing.
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(folder / "tmp")
    (folder / "tmp").mkdir()
    try:
        load_territory(engine)
        admin_app = create_app(app_settings(engine, data_dir=data_dir))
        small_app = create_app(app_settings(engine, data_dir=data_dir, max_upload_mb=1))
        with (
            TestClient(admin_app, headers=ADMIN) as admin,
            TestClient(small_app, headers=ADMIN) as small,
        ):
            world = World(engine, admin, small, data_dir)
            _populate(world, folder)
            yield world
    finally:
        tempfile.tempdir = saved_tempdir
        engine.dispose()
        drop_database(pg_server, url)


def _populate(world: World, folder: Path) -> None:
    api = world.admin
    company = {"id": "HW1", "name": "城洁环卫有限公司", "contract_from": "2026-01-01"}
    assert api.post("/sanitation/companies", json=[company]).status_code == 201
    supervisor = {"id": "S01", "name": "张三", "grids": [A11], "valid_from": "2026-01-01"}
    assert api.post("/supervisors", json=supervisor).status_code == 201
    with patch_file(folder).open("rb") as fh:
        r = api.post(
            "/patch-batches",
            files={"file": ("patches.geojson", fh)},
            data={
                "batch": BATCH,
                "delivered_at": DELIVERED.isoformat(),
                "dispatched_at": DISPATCHED.isoformat(),
            },
        )
    assert r.status_code == 201, r.text
    world.ids["batch"] = BATCH
    world.ids["patch"] = api.get("/patches").json()["patches"][0]["id"]
    r = api.post(
        "/assessments", json={"rules": "district-detail", "month": "2026-10", "level": "street"}
    )
    assert r.status_code == 201, r.text
    world.ids["run"] = r.json()["id"]


# --------------------------------------------------------------------------- files


def geojson(features: list[dict[str, Any]]) -> bytes:
    """A FeatureCollection as UTF-8 bytes; NaN and infinity are written as JavaScript does."""
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False).encode()


def gj_feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def bowtie() -> dict[str, Any]:
    """A self-intersecting ring in grid A1-1: (10,10) (50,50) (50,10) (10,50), in metres from
    the grid's south-west corner."""
    ring = [lonlat(A11, x, y) for x, y in ((10, 10), (50, 50), (50, 10), (10, 50), (10, 10))]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def square(dx: float = 10, dy: float = 10, size: float = 40) -> dict[str, Any]:
    corners = ((dx, dy), (dx + size, dy), (dx + size, dy + size), (dx, dy + size), (dx, dy))
    return {"type": "Polygon", "coordinates": [[list(lonlat(A11, x, y)) for x, y in corners]]}


def non_finite(value: float) -> dict[str, Any]:
    """``square()`` with one corner's longitude replaced by ``value`` (NaN or infinity)."""
    polygon = square()
    ring = polygon["coordinates"][0]
    ring[1] = [value, ring[1][1]]
    return polygon


def zipped(files: dict[str, bytes], *, level: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def zip_bomb(member: str) -> bytes:
    """20 MiB of zeros packed into ~20 KB: past the 16 MiB floor at about 1000:1."""
    return zipped({member: b"\0" * (20 << 20)}, level=9)


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
RANDOM = bytes((i * 7919 + 13) % 251 for i in range(4096))  # deterministic noise
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"PE\x00\x00" * 64
LATIN1 = "caf\xe9, cr\xe8me br\xfbl\xe9e"  # é, è, û: neither valid UTF-8 nor GB18030 in bytes


def with_latin1(data: bytes) -> bytes:
    """``data`` with the placeholder ``LATIN1`` replaced by :data:`LATIN1` in Latin-1 bytes."""
    return data.replace(b"LATIN1", LATIN1.encode("latin-1"))


def latin1_geojson(feature: dict[str, Any]) -> bytes:
    feature["properties"]["note"] = "LATIN1"
    doc = json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=True)
    return with_latin1(doc.encode())


def gbk_geojson(feature: dict[str, Any]) -> bytes:
    """GeoJSON saved as GBK (Chinese Windows): RFC 7946 says UTF-8, so it is refused."""
    feature["properties"]["note"] = "龙城街道"
    doc = {"type": "FeatureCollection", "features": [feature]}
    return json.dumps(doc, ensure_ascii=False).encode("gbk")


def million_points_csv(count: int) -> bytes:
    lon, lat = lonlat(A11)
    return b"lon,lat\n" + f"{lon},{lat}\n".encode() * count


def million_points_geojson(count: int) -> bytes:
    lon, lat = lonlat(A11)
    point = f'{{"type":"Point","coordinates":[{lon},{lat}]}}'
    one = f'{{"type":"Feature","properties":{{}},"geometry":{point}}}'
    return ('{"type":"FeatureCollection","features":[' + ",".join([one] * count) + "]}").encode()


def jpeg_bomb() -> bytes:
    """A real JPEG whose frame header claims 65,000 x 65,000 pixels (4.2 gigapixels)."""
    data = bytearray(jpeg(size=(16, 16)))
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = (65000).to_bytes(2, "big") * 2
    return bytes(data)


def noisy_jpeg() -> bytes:
    """A JPEG whose scan data is most of the file, so that half of it ends inside the scan."""
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def geotiff(folder: Path) -> bytes:
    return write_image(folder / "image.tif", {}).read_bytes()


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    """An upload endpoint: URL (``{batch}``, ``{patch}``, ``{run}`` filled in), its file field
    and other form fields, the kind of file it reads, and the features of a valid upload, a
    bowtie and a non-finite coordinate (``geometry`` replaced) for vector files."""

    name: str
    url: str
    kind: str  # vector, table, rules, tiff, jpeg
    form: dict[str, str] = field(default_factory=dict)
    file_field: str = "file"
    feature: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    table: list[list[object]] = field(default_factory=list)
    limit: int = 0  # most features or rows the endpoint reads (0: read_layers' default)


def grid_feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return gj_feature(geometry, code=A11, community_code=A11[:12])


def component_feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return gj_feature(geometry, code=component_code("02001", 1), sub_class="02001")


def patch_feature_of(geometry: dict[str, Any]) -> dict[str, Any]:
    return gj_feature(geometry, patch_id="TB99", change_type="building")


def area_feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return gj_feature(geometry, id="N9", name="龙城保洁区", company="HW1")


def segment_feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return gj_feature(geometry, name="彩云路", road_class="main")


def rule_feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return gj_feature(geometry, code="R9", sub_class="06010", unit="区城管局")


CASE_ROW = case("BAD-1", registered_at="2026-06-01 09:00:00")
CASE_HEADER = list(CASE_ROW)

ENDPOINTS = [
    Endpoint("grid-updates", "/grid-updates", "vector", feature=grid_feature, limit=200_000),
    Endpoint(
        "component-updates",
        "/component-updates",
        "vector",
        feature=component_feature,
        limit=1_000_000,
    ),
    Endpoint(
        "patch-batches",
        "/patch-batches",
        "vector",
        form={"batch": "2026-07"},
        feature=patch_feature_of,
        limit=20_000,
    ),
    Endpoint("sanitation-areas", "/sanitation/areas", "vector", feature=area_feature),
    Endpoint("sanitation-segments", "/sanitation/segments", "vector", feature=segment_feature),
    Endpoint(
        "responsibility-updates",
        "/responsibility-updates",
        "rules",
        feature=rule_feature,
        limit=50_000,
    ),
    Endpoint(
        "cases-import",
        "/cases/import",
        "table",
        table=[CASE_HEADER, list(CASE_ROW.values())],
        limit=1_000_000,
    ),
    Endpoint(
        "assessment-inputs",
        "/assessments/{run}/inputs",
        "table",
        table=[["单位编码", "agency"], [S1, 4]],
        limit=100_000,
    ),
    Endpoint("imagery", "/patch-batches/{batch}/imagery", "tiff", form={"role": "after"}),
    Endpoint(
        "handling",
        "/patches/{patch}/handling",
        "jpeg",
        form={"handling_type": "on_site", "handler": "张三", "handled_at": HANDLED.isoformat()},
        file_field="photos",
    ),
]
BY_NAME = {e.name: e for e in ENDPOINTS}


@dataclass(frozen=True)
class Bad:
    """A bad upload: file name and bytes, the statuses allowed, words one of which the message
    must hold (lower case), and whether it goes to the app with ``max_upload_mb=1``."""

    file_name: str
    content: bytes
    statuses: tuple[int, ...] = (422,)
    words: tuple[str, ...] = ()
    small: bool = False


TRUNCATED = ("truncated", "damaged", "cannot be read", "cannot be opened", "not a readable")
WRONG_VECTOR = ("not in a format geogrid reads", "not a rule file")
WRONG_TABLE = ("not a csv or xlsx table", "not a rule file")
WRONG_TIFF = ("cannot be opened as a geotiff",)
WRONG_JPEG = ("not a jpeg image",)
BOMB = ("zip bomb",)
UNSAFE = ("outside the archive",)
ENCODING = ("utf-8",)
NON_FINITE = ("finite", "nan", "infinity", "not a number", "no number")
BOWTIE = ("self-intersect", "invalid", "not valid", "not a road line")
EMPTY = ("empty",)
TOO_LARGE = ("larger than the limit",)


def _vector(e: Endpoint, bad: str, folder: Path) -> Bad:
    assert e.feature is not None
    valid = geojson([e.feature(square())])
    limit = max(e.limit or 200_000, MILLION - 1)
    cases: dict[str, Callable[[], Bad]] = {
        "truncated": lambda: Bad("data.geojson", half(valid), words=TRUNCATED),
        "truncated_zip": lambda: Bad(
            "data.zip", half(zipped({"data.geojson": valid * 20})), words=TRUNCATED
        ),
        "png": lambda: Bad("data.geojson", PNG, (415, 422), WRONG_VECTOR),
        "random": lambda: Bad("data.geojson", RANDOM, (415, 422), WRONG_VECTOR),
        "exe": lambda: Bad("setup.exe", EXE, (415, 422), WRONG_VECTOR),
        "zip_bomb": lambda: Bad("data.zip", zip_bomb("data.geojson"), (413, 422), BOMB),
        "dotdot_member": lambda: Bad(
            "data.zip", zipped({"../evil.shp": b"x", "data.geojson": valid}), words=UNSAFE
        ),
        "absolute_member": lambda: Bad(
            "data.zip", zipped({"/etc/evil.shp": b"x", "data.geojson": valid}), words=UNSAFE
        ),
        "dotdot_name": lambda: Bad("../../../evil.geojson", RANDOM, (415, 422), WRONG_VECTOR),
        "latin1": lambda: Bad(
            "data.geojson",
            latin1_geojson(e.feature(square())),
            words=ENCODING,
        ),
        "gbk_geojson": lambda: Bad(
            "data.geojson", gbk_geojson(e.feature(square())), words=ENCODING
        ),
        "latin1_csv": lambda: Bad(
            "data.csv",
            with_latin1(csv_bytes([["wkt", "name"], ["POINT (102.85 24.98)", "LATIN1"]])),
            words=ENCODING,
        ),
        "million_csv": lambda: Bad(
            "points.csv",
            million_points_csv(limit + 1),
            (413, 422),
            (f"{min(e.limit or 200_000, limit):,}",),
        ),
        "nan": lambda: Bad(
            "data.geojson", geojson([e.feature(non_finite(float("nan")))]), words=NON_FINITE
        ),
        "inf": lambda: Bad(
            "data.geojson", geojson([e.feature(non_finite(float("inf")))]), words=NON_FINITE
        ),
        "nan_wkt": lambda: Bad(
            "data.csv", csv_bytes([["wkt"], ["POINT (nan 24.98)"]]), words=NON_FINITE
        ),
        "bowtie": lambda: Bad("data.geojson", geojson([e.feature(bowtie())]), words=BOWTIE),
        "empty": lambda: Bad("data.geojson", b"", words=EMPTY),
        "too_large": lambda: Bad(
            "data.geojson", b" " * ((1 << 20) + 1), (413, 422), TOO_LARGE, small=True
        ),
    }
    return cases[bad]()


def _table(e: Endpoint, bad: str, folder: Path) -> Bad:
    valid_csv = csv_bytes(e.table)
    valid_xlsx = xlsx(e.table)
    header = [str(h) for h in e.table[0]]
    row = [str(v) for v in e.table[1]]
    count = max(e.limit, MILLION - 1) + 1

    def replaced(column: str, value: str) -> bytes:
        return csv_bytes(
            [header, [value if h == column else v for h, v in zip(header, row, strict=True)]]
        )

    number_column = "lon" if "lon" in header else header[-1]
    cases: dict[str, Callable[[], Bad]] = {
        "truncated": lambda: Bad("data.xlsx", half(valid_xlsx), words=TRUNCATED),
        "truncated_csv": lambda: Bad(
            "data.csv",
            valid_csv[: valid_csv.index(b"\n") + 3],
            words=(*TRUNCATED, "row", "no manual input"),
        ),
        "png": lambda: Bad("data.csv", PNG, (415, 422), WRONG_TABLE),
        "random": lambda: Bad("data.csv", RANDOM, (415, 422), WRONG_TABLE),
        "exe": lambda: Bad("setup.exe", EXE, (415, 422), WRONG_TABLE),
        "zip_bomb": lambda: Bad(
            "data.xlsx", zip_bomb("xl/worksheets/sheet1.xml"), (413, 422), BOMB
        ),
        "dotdot_member": lambda: Bad(
            "data.xlsx", zipped({"../evil.xml": b"x", "[Content_Types].xml": b"<x/>"}), words=UNSAFE
        ),
        "dotdot_name": lambda: Bad("../../../evil.csv", RANDOM, (415, 422), WRONG_TABLE),
        "latin1": lambda: Bad(
            "data.csv", with_latin1(csv_bytes([header, [*row[:-1], "LATIN1"]])), words=ENCODING
        ),
        "million": lambda: Bad(
            "data.csv",
            ",".join(header).encode() + b"\n" + (",".join(row).encode() + b"\n") * count,
            (413, 422),
            (f"more than {e.limit:,} rows",),
        ),
        "nan": lambda: Bad("data.csv", replaced(number_column, "nan"), words=NON_FINITE),
        "inf": lambda: Bad("data.csv", replaced(number_column, "inf"), words=NON_FINITE),
        "empty": lambda: Bad("data.csv", b"", words=EMPTY),
        "too_large": lambda: Bad(
            "data.csv", b" " * ((1 << 20) + 1), (413, 422), TOO_LARGE, small=True
        ),
    }
    return cases[bad]()


def _rules(e: Endpoint, bad: str, folder: Path) -> Bad:
    if bad.startswith("table_"):
        rows = [["code", "sub_class", "unit", "grids"], ["R9", "06010", "区城管局", A11]]
        table = Endpoint(e.name, e.url, "table", table=rows, limit=50_000)
        return _table(table, bad.removeprefix("table_"), folder)
    return _vector(e, bad, folder)


def _tiff(e: Endpoint, bad: str, folder: Path) -> Bad:
    cases: dict[str, Callable[[], Bad]] = {
        "truncated": lambda: Bad("image.tif", half(geotiff(folder)), words=TRUNCATED),
        "png": lambda: Bad("image.tif", PNG, (415, 422), WRONG_TIFF),
        "random": lambda: Bad("image.tif", RANDOM, (415, 422), WRONG_TIFF),
        "exe": lambda: Bad("setup.exe", EXE, (415, 422), WRONG_TIFF),
        "zip_bomb": lambda: Bad("image.zip", zip_bomb("image.tif"), (413, 415, 422), WRONG_TIFF),
        "dotdot_name": lambda: Bad("../../../evil.tif", RANDOM, (415, 422), WRONG_TIFF),
        "empty": lambda: Bad("image.tif", b"", words=EMPTY),
        "too_large": lambda: Bad(
            "image.tif", b"II*\x00" + b"\0" * (1 << 20), (413, 422), TOO_LARGE, small=True
        ),
    }
    return cases[bad]()


def _jpeg(e: Endpoint, bad: str, folder: Path) -> Bad:
    photo = jpeg(lon=patch_lonlat(30, 145)[0], lat=patch_lonlat(30, 145)[1], taken=PHOTO_TIME)
    cases: dict[str, Callable[[], Bad]] = {
        "truncated": lambda: Bad("photo.jpg", half(noisy_jpeg()), words=TRUNCATED),
        "png": lambda: Bad("photo.jpg", PNG, (415, 422), WRONG_JPEG),
        "random": lambda: Bad("photo.jpg", RANDOM, (415, 422), WRONG_JPEG),
        "exe": lambda: Bad("setup.exe", EXE, (415, 422), WRONG_JPEG),
        "zip_bomb": lambda: Bad("photo.zip", zip_bomb("photo.jpg"), (415, 422), WRONG_JPEG),
        "image_bomb": lambda: Bad("photo.jpg", jpeg_bomb(), (413, 422), ("pixels",)),
        "dotdot_name": lambda: Bad("../../../evil.jpg", RANDOM, (415, 422), WRONG_JPEG),
        "empty": lambda: Bad("photo.jpg", b"", words=EMPTY),
        "too_large": lambda: Bad(
            "photo.jpg", photo + b"\0" * (1 << 20), (413, 422), TOO_LARGE, small=True
        ),
    }
    return cases[bad]()


BUILDERS = {"vector": _vector, "table": _table, "rules": _rules, "tiff": _tiff, "jpeg": _jpeg}
VECTOR_INPUTS = (
    "truncated",
    "truncated_zip",
    "png",
    "random",
    "exe",
    "zip_bomb",
    "dotdot_member",
    "absolute_member",
    "dotdot_name",
    "latin1",
    "gbk_geojson",
    "latin1_csv",
    "million_csv",
    "nan",
    "inf",
    "nan_wkt",
    "bowtie",
    "empty",
    "too_large",
)
TABLE_INPUTS = (
    "truncated",
    "truncated_csv",
    "png",
    "random",
    "exe",
    "zip_bomb",
    "dotdot_member",
    "dotdot_name",
    "latin1",
    "million",
    "nan",
    "inf",
    "empty",
    "too_large",
)
INPUTS = {
    "vector": VECTOR_INPUTS,
    "rules": VECTOR_INPUTS
    + tuple(f"table_{b}" for b in TABLE_INPUTS if b not in ("nan", "inf", "too_large")),
    "table": TABLE_INPUTS,
    "tiff": ("truncated", "png", "random", "exe", "zip_bomb", "dotdot_name", "empty", "too_large"),
    "jpeg": (
        "truncated",
        "png",
        "random",
        "exe",
        "zip_bomb",
        "image_bomb",
        "dotdot_name",
        "empty",
        "too_large",
    ),
}
CASES = [
    pytest.param(e.name, bad, id=f"{e.name}-{bad}") for e in ENDPOINTS for bad in INPUTS[e.kind]
]


# --------------------------------------------------------------------------- checks


def temporary_files() -> set[str]:
    """What is in the (module's) temporary directory: geogrid's upload and archive folders
    (``geogrid-upload-*``, ``geogrid-read-*``) and anything else."""
    return set(os.listdir(tempfile.gettempdir()))


def kept_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def assert_refused(res: httpx.Response, statuses: tuple[int, ...], words: tuple[str, ...]) -> None:
    """A 4xx of ``statuses`` in the one error shape, a sentence holding one of ``words``."""
    assert res.status_code in statuses, f"{res.status_code}: {res.text[:2000]}"
    body = res.json()
    assert set(body) == {"code", "message", "details"}, body
    message = body["message"]
    assert isinstance(body["code"], str) and body["code"], body
    assert isinstance(message, str) and message.rstrip().endswith((".", "。", ")")), message
    assert len(message.split()) >= 4, message
    assert isinstance(body["details"], list), body
    for detail in body["details"]:
        assert {"where", "rule", "message"} <= set(detail), detail
    text = json.dumps(body, ensure_ascii=False)
    assert not [leak for leak in LEAKS if leak in text], text
    assert tempfile.gettempdir() not in text, text
    if words:
        assert any(w in message.lower() for w in words), f"{words} not in: {message}"


@contextmanager
def nothing_left(world: World) -> Iterator[None]:
    """The block changes no user table, leaves no temporary directory and keeps no file."""
    temporary, kept = temporary_files(), kept_files(world.data_dir)
    with unchanged_database(world.engine):
        yield
    assert temporary_files() == temporary, temporary_files() ^ temporary
    assert kept_files(world.data_dir) == kept


def url_of(endpoint: Endpoint, world: World) -> str:
    return endpoint.url.format(**world.ids)


# --------------------------------------------------------------------------- the battery


@pytest.mark.parametrize(("endpoint_name", "bad_name"), CASES)
def test_bad_upload_is_refused_and_changes_nothing(
    world: World, tmp_path: Path, endpoint_name: str, bad_name: str
) -> None:
    endpoint = BY_NAME[endpoint_name]
    bad = BUILDERS[endpoint.kind](endpoint, bad_name, tmp_path)
    client = world.small if bad.small else world.admin
    with nothing_left(world):
        res = client.post(
            url_of(endpoint, world),
            files={endpoint.file_field: (bad.file_name, bad.content, "application/octet-stream")},
            data=endpoint.form,
        )
    assert_refused(res, bad.statuses, bad.words)
    if "evil" in bad.file_name:  # nothing was written where the name points
        tmp = Path(tempfile.gettempdir())
        for folder in (tmp, tmp / "geogrid-upload-x"):
            assert not (folder / bad.file_name).resolve().exists()


def test_an_image_for_an_unknown_batch_is_refused_and_not_kept(
    world: World, tmp_path: Path
) -> None:
    with nothing_left(world):
        res = world.admin.post(
            "/patch-batches/1999-01/imagery",
            files={"file": ("image.tif", geotiff(tmp_path))},
            data={"role": "after"},
        )
    assert_refused(res, (404,), ("no patch batch",))


def test_gbk_text_is_read_where_documented(world: World) -> None:
    """Tables and CSV layers may be GB18030/GBK (Chinese Excel); they are read as Chinese."""
    row = case("GBK-1", registered_at="2026-06-01 09:00:00", description="路边暴露垃圾")
    table = csv_bytes([list(row), list(row.values())]).decode().encode("gbk")
    res = world.admin.post("/cases/import", files={"file": ("案件.csv", table)})
    assert res.status_code == 200, res.text
    case_item = world.admin.get("/collections/cases/items/GBK-1").json()
    assert case_item["properties"]["description"] == "路边暴露垃圾"
    ring = square()["coordinates"][0]
    wkt = "SRID=4326;POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    areas = csv_bytes([["wkt", "id", "name", "company"], [wkt, "G1", "龙城保洁区", "HW1"]])
    res = world.admin.post(
        "/sanitation/areas", files={"file": ("保洁区.csv", areas.decode().encode("gbk"))}
    )
    assert res.status_code == 201, res.text
    names = {
        f["id"]: f["properties"]["name"]
        for f in world.admin.get("/sanitation/areas").json()["features"]
    }
    assert names["G1"] == "龙城保洁区"


def test_a_million_features_as_geojson_are_refused(world: World) -> None:
    """GDAL reads GeoJSON as a stream: the reader stops at the limit instead of parsing all."""
    with nothing_left(world):
        res = world.admin.post(
            "/grid-updates", files={"file": ("grids.geojson", million_points_geojson(MILLION))}
        )
    assert_refused(res, (413, 422), ("200,000",))


# --------------------------------------------------------------------------- JSON bodies

FIX = {"supervisor_id": "S01", "timestamp": "2026-06-01T08:00:00", "lon": 102.85, "lat": 24.98}
JSON_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "cases": ("/cases", {k: v for k, v in CASE_ROW.items() if k != "department"}),
    "tracks": ("/tracks", {"fixes": [FIX]}),
    "assessment-inputs": ("/assessments/{run}/inputs", {S1: {"agency": 4}}),
}
NUMBER_PATHS = {
    "cases": ("lon",),
    "tracks": ("fixes", 0, "lon"),
    "assessment-inputs": (S1, "agency"),
}


def with_number(name: str, value: float) -> bytes:
    """The valid body of ``name`` with its coordinate (or value) replaced, as Python writes it."""
    body = json.loads(json.dumps(JSON_BODIES[name][1]))
    *parents, last = NUMBER_PATHS[name]
    target = body
    for key in parents:
        target = target[key]
    target[last] = value
    return json.dumps(body, ensure_ascii=False).encode()


def json_bad(name: str, bad: str) -> Bad:
    valid = json.dumps(JSON_BODIES[name][1], ensure_ascii=False).encode()
    cases: dict[str, Callable[[], Bad]] = {
        "truncated": lambda: Bad("application/json", half(valid), (400, 422), ("json",)),
        "png": lambda: Bad("application/json", PNG, (400, 415, 422), ("json",)),
        "latin1": lambda: Bad(
            "application/json",
            valid.replace(b"}", b', "note": "' + LATIN1.encode("latin-1") + b'"}', 1),
            (400, 422),
            ("json", "utf-8"),
        ),
        "nan": lambda: Bad(
            "application/json", with_number(name, float("nan")), (400, 422), NON_FINITE
        ),
        "inf": lambda: Bad(
            "application/json", with_number(name, float("inf")), (400, 422), NON_FINITE
        ),
        "empty": lambda: Bad("application/json", b"", (400, 422), ()),
        "text": lambda: Bad("text/plain", b"lon=102.85", (400, 415, 422), ()),
        "too_large": lambda: Bad(
            "application/json", b" " * (3 << 20) + valid, (413,), TOO_LARGE, small=True
        ),
        "million": lambda: Bad(
            "application/json",
            b'{"fixes": [' + b",".join([json.dumps(FIX).encode()] * MILLION) + b"]}",
            (400, 413, 422),
            ("100000", "100,000"),
        ),
    }
    return cases[bad]()


JSON_CASES = [
    pytest.param(name, bad, id=f"{name}-{bad}")
    for name in JSON_BODIES
    for bad in ("truncated", "png", "latin1", "nan", "inf", "empty", "text", "too_large")
    + (("million",) if name == "tracks" else ())
]


@pytest.mark.parametrize(("name", "bad_name"), JSON_CASES)
def test_bad_json_body_is_refused_and_changes_nothing(
    world: World, name: str, bad_name: str
) -> None:
    bad = json_bad(name, bad_name)
    client = world.small if bad.small else world.admin
    with nothing_left(world):
        res = client.post(
            JSON_BODIES[name][0].format(**world.ids),
            content=bad.content,
            headers={"content-type": bad.file_name},
        )
    assert_refused(res, bad.statuses, bad.words)
