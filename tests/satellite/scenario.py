"""A batch of nine patches on the hand-made territory with a known verdict each.

Row 1 of the territory (y 100-200 m) holds four 40 m patches, row 0 five 20 m ones; evidence
photos and patrol fixes are placed so that each lies within 50 m of its own patch only.

=====  ===========  =====================  ==========================  ===============
patch  type         images (before→after)  handling / field evidence   verdict
=====  ===========  =====================  ==========================  ===============
TB1    dust_source  soil → green net       on site, photo inside       verified
TB2    dust_source  soil → soil            documents                   not_verified
TB3    building     roof → soil            on site                     verified
TB4    building     roof → roof            documents                   not_verified
TB5    dust_source  soil → nodata          on site, photo inside       field_verified
TB6    dust_source  soil → nodata          documents, photo too early  documents_only
TB7    dust_source  soil → nodata          none, a clean patrol fix    field_verified
TB8    dust_source  soil → nodata          none, a flagged fix only    inconclusive
TB9    building     roof → roof            none (spans two grids)      not_verified
=====  ===========  =====================  ==========================  ===============
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geogrid.catalogue import load_catalogue
from geogrid.patrol.fixes import ensure_partitions
from geogrid.satellite import (
    add_handling,
    import_batch,
    read_patch_upload,
    read_photo,
    register_imagery,
)
from geogrid.worktime import WorkCalendar
from tests.satellite.data import (
    NET,
    ROOF,
    SOIL,
    feature,
    jpeg,
    lonlat,
    square,
    write_geojson,
    write_image,
)

CST = timezone(timedelta(hours=8))
DELIVERED = datetime(2026, 6, 1, 9, 0, tzinfo=CST)
DISPATCHED = datetime(2026, 6, 1, 10, 0, tzinfo=CST)
HANDLED = datetime(2026, 6, 5, 16, 0, tzinfo=CST)
PHOTO_TIME = datetime(2026, 6, 5, 11, 0)
NOW = datetime(2026, 7, 1, 0, 0, tzinfo=CST)
BATCH = "2026-06"
NODATA = (0, 0, 0, 0)

PATCHES: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "TB1": ("dust_source", square(10, 110)),
    "TB2": ("dust_source", square(110, 110)),
    "TB3": ("building", square(210, 110)),
    "TB4": ("building", square(310, 110)),
    "TB5": ("dust_source", square(10, 10, 20)),
    "TB6": ("dust_source", square(170, 10, 20)),
    "TB7": ("dust_source", square(170, 70, 20)),
    "TB8": ("dust_source", square(10, 70, 20)),
    "TB9": ("building", square(85, 40, 20)),
}
BEFORE = {sq: ROOF if kind == "building" else SOIL for kind, sq in PATCHES.values()}
AFTER = {
    PATCHES["TB1"][1]: NET,
    PATCHES["TB2"][1]: SOIL,
    PATCHES["TB3"][1]: SOIL,
    PATCHES["TB4"][1]: ROOF,
    PATCHES["TB9"][1]: ROOF,
    **{PATCHES[k][1]: NODATA for k in ("TB5", "TB6", "TB7", "TB8")},
}
EXPECTED = {
    "TB1": "verified",
    "TB2": "not_verified",
    "TB3": "verified",
    "TB4": "not_verified",
    "TB5": "field_verified",
    "TB6": "documents_only",
    "TB7": "field_verified",
    "TB8": "inconclusive",
    "TB9": "not_verified",
}


def patch_file(tmp_path: Path) -> Path:
    return write_geojson(
        tmp_path / "patches-2026-06.geojson",
        [
            feature(
                sq,
                patch_id=code,
                change_type=kind,
                before_date="2026-04-25",
                after_date="2026-05-25",
            )
            for code, (kind, sq) in PATCHES.items()
        ],
    )


def import_scenario_batch(conn: Connection, tmp_path: Path) -> dict[str, Any]:
    catalogue = load_catalogue()
    upload = read_patch_upload(patch_file(tmp_path), catalogue=catalogue)
    return import_batch(
        conn,
        upload,
        batch_id=BATCH,
        catalogue=catalogue,
        calendar=WorkCalendar.load(),
        delivered_at=DELIVERED,
        dispatched_at=DISPATCHED,
        vendor="测绘院",
        now=NOW,
    )


def patch_ids(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.text("SELECT patch_code, id FROM patches")).all()
    return {str(code): int(i) for code, i in rows}


def photo(x: float, y: float, taken: datetime = PHOTO_TIME, name: str = "现场.jpg") -> Any:
    lon, lat = lonlat(x, y)
    return read_photo(jpeg(lon=lon, lat=lat, taken=taken), file_name=name)


def add_fix(conn: Connection, x: float, y: float, at: datetime, flags: list[str]) -> None:
    lon, lat = lonlat(x, y)
    ensure_partitions(conn, [date(at.year, at.month, 1)])
    conn.execute(
        sa.text(
            "INSERT INTO fixes (district_code, supervisor_id, fixed_at, geom, flags) VALUES "
            "('530114', 'S01', :at, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :flags)"
        ),
        {"at": at, "lon": lon, "lat": lat, "flags": flags},
    )


def build(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """Import the batch, register both images, add handling records, photos and fixes."""
    before = write_image(tmp_path / "before.tif", BEFORE)
    after = write_image(tmp_path / "after.tif", AFTER)
    bands = {"red": 1, "green": 2, "blue": 3, "nir": 4}
    with engine.begin() as conn:
        import_scenario_batch(conn, tmp_path)
        register_imagery(conn, BATCH, role="before", path=before, bands=bands)
        register_imagery(conn, BATCH, role="after", path=after, bands=bands)
        ids = patch_ids(conn)

        def handle(code: str, kind: str, *photos: Any) -> None:
            add_handling(
                conn,
                ids[code],
                handling_type=kind,
                handler="区住建局 张三",
                handled_at=HANDLED,
                photos=list(photos),
                now=NOW,
            )

        handle("TB1", "on_site", photo(30, 145))
        handle("TB2", "documents")
        handle("TB3", "on_site")
        handle("TB4", "documents")
        handle("TB5", "on_site", photo(20, 15))
        handle("TB6", "documents", photo(180, 20, datetime(2026, 5, 20, 11, 0)))
        add_fix(conn, 195, 95, datetime(2026, 6, 10, 10, 0, tzinfo=CST), [])
        add_fix(conn, 20, 80, datetime(2026, 6, 10, 10, 0, 30, tzinfo=CST), ["accuracy"])
        add_fix(conn, 21, 81, datetime(2026, 5, 30, 10, 0, tzinfo=CST), [])
    return ids


#: The published example (DOMAIN.md §6): of the nine patches 2 handled on site, 7 closed by
#: documents (TB9 late, after its due time); no photo near a patch, no patrol fix.
SCORED_ON_SITE = ("TB1", "TB3")
LATE = datetime(2026, 6, 30, 12, 0, tzinfo=CST)
SCORED_VERDICTS = {
    "TB1": "verified",
    "TB2": "not_verified",
    "TB3": "verified",
    "TB4": "not_verified",
    "TB5": "documents_only",
    "TB6": "documents_only",
    "TB7": "documents_only",
    "TB8": "documents_only",
    "TB9": "not_verified",
}


def build_scored(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """The batch with both images, TB1 and TB3 handled on site, the seven others by documents.

    TB1 declares 1,500 m² covered. Hand-computed at :data:`NOW`: district 9 patches, 2 on
    site, 7 by documents, 1 overdue (TB9); street 001 (TB1–TB4) 2 on site and 2 by
    documents, street 002 (TB5–TB9) 5 by documents; verdicts :data:`SCORED_VERDICTS`.
    """
    before = write_image(tmp_path / "before.tif", BEFORE)
    after = write_image(tmp_path / "after.tif", AFTER)
    bands = {"red": 1, "green": 2, "blue": 3, "nir": 4}
    with engine.begin() as conn:
        import_scenario_batch(conn, tmp_path)
        register_imagery(conn, BATCH, role="before", path=before, bands=bands)
        register_imagery(conn, BATCH, role="after", path=after, bands=bands)
        ids = patch_ids(conn)
        for code in PATCHES:
            add_handling(
                conn,
                ids[code],
                handling_type="on_site" if code in SCORED_ON_SITE else "documents",
                handler="区住建局 张三",
                handled_at=LATE if code == "TB9" else HANDLED,
                covered_area_m2=1500.0 if code == "TB1" else None,
                now=NOW,
            )
    return ids
