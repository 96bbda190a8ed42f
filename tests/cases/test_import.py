"""Importing cases into a real PostGIS: location, idempotence, legacy codes, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.engine import Engine

from geogrid.cases import import_cases
from geogrid.catalogue import load_catalogue
from geogrid.crs import wgs84_to_gcj02
from geogrid.errors import ValidationFailed
from geogrid.worktime import WorkCalendar
from tests.cases_data import case, lonlat, write_csv

A11, A12 = "530114001001001", "530114001001002"


def _import(engine: Engine, path: Path, **kw: str) -> tuple[int, int]:
    with engine.begin() as conn:
        result = import_cases(
            conn, path, catalogue=load_catalogue(), calendar=WorkCalendar.load(), **kw
        )
    return result.inserted, result.updated


def _cases(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM cases ORDER BY case_id")).mappings().all()
    return {r["case_id"]: dict(r) for r in rows}


def test_cases_are_located_and_reimport_updates(territory_engine: Engine, tmp_path: Path) -> None:
    rows = [
        case("C1", A11, registered_at="2026-10-02 09:00", due_at="2026-10-03 09:00"),
        case("C2", A12, registered_at="2026-10-02 10:00", due_at="2026-10-03 09:00"),
    ]
    path = write_csv(tmp_path / "cases.csv", rows)
    assert _import(territory_engine, path) == (2, 0)
    stored = _cases(territory_engine)
    assert stored["C1"]["grid_code"] == A11 and stored["C1"]["current_grid_code"] == A11
    assert stored["C2"]["community_code"] == "530114001001"
    assert stored["C2"]["street_code"] == "530114001"
    assert stored["C1"]["registered_at"].isoformat() == "2026-10-02T01:00:00+00:00"

    rows[0]["closed_at"] = "2026-10-02 18:00"
    write_csv(path, rows)
    assert _import(territory_engine, path) == (0, 2)
    stored = _cases(territory_engine)
    assert len(stored) == 2
    assert stored["C1"]["closed_at"] is not None


def test_chinese_headers_and_aliases(territory_engine: Engine, tmp_path: Path) -> None:
    lon, lat = lonlat(A11)
    path = tmp_path / "案件.csv"
    path.write_text(
        "案卷号,来源,小类,经度,纬度,立案时间,处置时限,满意度\n"
        f"Z1,热线,06010,{lon},{lat},2026/10/02 09:00,2026-10-03 09:00,基本满意\n",
        encoding="gb18030",
    )
    assert _import(territory_engine, path) == (1, 0)
    stored = _cases(territory_engine)["Z1"]
    assert stored["source"] == "hotline" and stored["satisfaction"] == "基本满意"
    assert stored["case_type"] == "event" and stored["major_class"] == "06"


def test_legacy_code_is_mapped_and_kept(territory_engine: Engine, tmp_path: Path) -> None:
    row = case("L1", registered_at="2026-10-02 09:00", sub_class="01-10", major_class="01")
    _import(territory_engine, write_csv(tmp_path / "c.csv", [row]))
    stored = _cases(territory_engine)["L1"]
    assert (stored["sub_class"], stored["major_class"]) == ("06010", "06")
    assert (stored["sub_class_recorded"], stored["major_class_recorded"]) == ("01-10", "01")


def test_missing_due_time_comes_from_the_catalogue(
    territory_engine: Engine, tmp_path: Path
) -> None:
    row = case("D1", registered_at="2026-10-09 15:00", dispatched_at="2026-10-09 15:20")
    _import(territory_engine, write_csv(tmp_path / "c.csv", [row]))
    stored = _cases(territory_engine)["D1"]
    item = load_catalogue().get("event", "06010")
    calendar = WorkCalendar.load()
    expected = calendar.add(stored["dispatched_at"], item.deadline_normal)
    assert stored["due_at"] == expected
    assert stored["due_at"] > stored["dispatched_at"]
    assert stored["department"] == "区城管局"


def test_gcj02_is_converted_and_the_original_kept(territory_engine: Engine, tmp_path: Path) -> None:
    lon, lat = lonlat(A12)
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    row = case("G1", A12, registered_at="2026-10-02 09:00")
    row.update(lon=glon, lat=glat)
    _import(territory_engine, write_csv(tmp_path / "c.csv", [row]), crs="gcj02")
    stored = _cases(territory_engine)["G1"]
    assert stored["current_grid_code"] == A12  # the raw GCJ-02 point lies hundreds of m away
    assert stored["recorded_crs"] == "gcj02"
    assert stored["recorded_lon"] == pytest.approx(glon)
    with territory_engine.connect() as conn:
        d = conn.execute(
            sa.text(
                "SELECT ST_Distance(geom::geography, ST_MakePoint(:x, :y)::geography) FROM cases"
            ),
            {"x": lon, "y": lat},
        ).scalar_one()
    assert d < 0.5


def test_xlsx_import(territory_engine: Engine, tmp_path: Path) -> None:
    lon, lat = lonlat(A11)
    book = Workbook()
    sheet = book.active
    sheet.append(["case_id", "source", "sub_class", "lon", "lat", "registered_at", "extended"])
    from datetime import datetime

    sheet.append([20261002001, "public", "09006", lon, lat, datetime(2026, 10, 2, 9, 0), True])
    path = tmp_path / "cases.xlsx"
    book.save(path)
    assert _import(territory_engine, path) == (1, 0)
    stored = _cases(territory_engine)["20261002001"]
    assert stored["sub_class"] == "09006" and stored["extended"] is True
    assert stored["registered_at"].isoformat() == "2026-10-02T01:00:00+00:00"


def test_bad_rows_are_all_listed_and_nothing_written(
    territory_engine: Engine, tmp_path: Path
) -> None:
    good = case("OK", registered_at="2026-10-02 09:00")
    rows = [
        good,
        case("B1", registered_at="2026-13-02 09:00"),  # row 3: no 13th month
        case("B2", registered_at="2026-10-02 09:00", sub_class="99999"),  # row 4
        case("B3", registered_at="2026-10-02 09:00", closed_at="2026-10-01 09:00"),  # row 5
        case("OK", registered_at="2026-10-02 09:00"),  # row 6: doubled id
        case("B4", registered_at="2026-10-02 09:00", source="pigeon", rework_count=-1),  # row 7
        case("B5", registered_at="1566-07-06T06:56:53Z"),  # row 8: before nanosecond times
    ]
    rows[-2]["lat"] = ""
    with pytest.raises(ValidationFailed) as err:
        _import(territory_engine, write_csv(tmp_path / "bad.csv", rows))
    wheres = {p.where for p in err.value.problems}
    assert {
        "row 3, column registered_at",
        "row 4, column sub_class",
        "row 5, column closed_at",
        "row 6, column case_id",
        "row 7, column source",
        "row 7, column rework_count",
        "row 7, column lat",
        "row 8, column registered_at",
    } <= wheres
    assert "6 row(s)" in err.value.message and "nothing was written" in err.value.message
    assert _cases(territory_engine) == {}


def test_a_case_outside_the_grids_is_refused(territory_engine: Engine, tmp_path: Path) -> None:
    rows = [
        case("IN", registered_at="2026-10-02 09:00"),
        case("OUT", registered_at="2026-10-02 09:00", lon=103.5, lat=25.5),
    ]
    with pytest.raises(ValidationFailed) as err:
        _import(territory_engine, write_csv(tmp_path / "c.csv", rows))
    assert err.value.problems[0].where == "row 3, column lon"
    assert "outside every unit grid" in err.value.problems[0].message
    assert _cases(territory_engine) == {}


def test_missing_required_column(territory_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("case_id,source,lon,lat\nX,hotline,102.85,24.98\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="sub_class"):
        _import(territory_engine, path)


def test_registered_grid_is_the_version_valid_at_registration(
    territory_engine: Engine, tmp_path: Path
) -> None:
    with territory_engine.begin() as conn:
        conn.execute(sa.text("UPDATE grids SET valid_from = '2019-01-01'"))
        conn.execute(
            sa.text(
                "INSERT INTO grids (district_code, code, community_code, street_code, grid_type, "
                "geom, valid_from, version) SELECT district_code, '530114001001009', "
                "community_code, street_code, grid_type, geom, '2026-06-01', 2 FROM grids "
                "WHERE code = :c; UPDATE grids SET valid_to = '2026-06-01' WHERE code = :c"
            ),
            {"c": A11},
        )
    rows = [
        case("OLD", registered_at="2026-05-01 09:00"),
        case("NEW", registered_at="2026-07-01 09:00"),
    ]
    _import(territory_engine, write_csv(tmp_path / "c.csv", rows))
    stored = _cases(territory_engine)
    assert stored["OLD"]["grid_code"] == A11
    assert stored["OLD"]["current_grid_code"] == "530114001001009"
    assert stored["NEW"]["grid_code"] == "530114001001009"
