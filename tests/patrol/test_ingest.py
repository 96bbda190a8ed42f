"""Supervisors and GPS fixes on a real PostGIS: assignments, idempotence, flags, GCJ-02."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.crs import wgs84_to_gcj02
from geogrid.errors import ValidationFailed
from geogrid.patrol.fixes import parse_fixes, read_track_file, store_fixes
from geogrid.patrol.supervisors import (
    SupervisorSpec,
    get_supervisor,
    list_supervisors,
    register_supervisors,
)
from tests.cases_data import lonlat

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"


def _register(engine: Engine, *specs: SupervisorSpec) -> None:
    with engine.begin() as conn:
        register_supervisors(conn, list(specs), shown="test")


@pytest.fixture
def staffed(territory_engine: Engine) -> Engine:
    _register(
        territory_engine,
        SupervisorSpec(
            "S1", "张三", device_id="D-1", grids=(A11, A12), valid_from=date(2026, 1, 1)
        ),
        SupervisorSpec(
            "S2",
            "李四",
            level="city",
            grids=(B11,),
            shift_start=time(9),
            shift_end=time(17),
            valid_from=date(2026, 1, 1),
        ),
    )
    return territory_engine


def _ingest(engine: Engine, rows: list[dict[str, object]], crs: str = "wgs84") -> object:
    frame = pd.DataFrame(rows).astype(str)
    with engine.begin() as conn:
        fixes = parse_fixes(frame, supervisors={"S1", "S2"}, devices={"D-1": "S1"}, crs=crs)
        return store_fixes(conn, fixes, district_code="530114")


def _fixes(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text(
                "SELECT supervisor_id, fixed_at, ST_X(geom) AS lon, ST_Y(geom) AS lat, flags, "
                "recorded_lon, recorded_crs FROM fixes ORDER BY supervisor_id, fixed_at"
            ),
            conn,
        )


def test_supervisors_and_their_assignments(staffed: Engine) -> None:
    with staffed.connect() as conn:
        s1 = get_supervisor(conn, "S1")
        assert s1["grids"] == [A11, A12] and s1["shift_start"] == "08:00"
        assert [s["id"] for s in list_supervisors(conn)] == ["S1", "S2"]
    _register(
        staffed,
        SupervisorSpec(
            "S1", "张三", device_id="D-1", grids=(A12, B11), valid_from=date(2026, 6, 1)
        ),
    )
    with staffed.connect() as conn:
        assert get_supervisor(conn, "S1")["grids"] == [A12, B11]
        history = conn.execute(
            sa.text(
                "SELECT grid_code, valid_from, valid_to FROM supervisor_grids "
                "WHERE supervisor_id = 'S1' ORDER BY grid_code, valid_from"
            )
        ).all()
    assert (A11, date(2026, 1, 1), date(2026, 6, 1)) in history  # closed, kept
    with pytest.raises(ValidationFailed) as err:
        _register(
            staffed,
            SupervisorSpec("S3", "", grids=("530114009009009",)),
            SupervisorSpec("S4", "王五", level="county"),
        )
    rules = {p.rule for p in err.value.problems}
    assert {"bad_name", "unknown_grid", "bad_level"} <= rules


def test_fixes_are_idempotent_and_flagged(staffed: Engine) -> None:
    t = "2026-10-09 09:00:"
    near = [lonlat(A11, 20 + i, 50) for i in range(4)]
    far = lonlat(A11, 2020, 50)  # 2 km east
    rows = [
        {"supervisor_id": "S1", "timestamp": t + "00", "lon": near[0][0], "lat": near[0][1]},
        {"supervisor_id": "S1", "timestamp": t + "10", "lon": far[0], "lat": far[1]},
        {"supervisor_id": "S1", "timestamp": t + "20", "lon": near[1][0], "lat": near[1][1]},
        {
            "device_id": "D-1",
            "timestamp": t + "30",
            "lon": near[2][0],
            "lat": near[2][1],
            "accuracy_m": "120",
        },
        {
            "supervisor_id": "S1",
            "timestamp": t + "40",
            "lon": near[3][0],
            "lat": near[3][1],
            "source": "wifi",
        },
    ]
    first = _ingest(staffed, rows)
    assert (first.received, first.inserted, first.duplicates) == (5, 5, 0)
    again = _ingest(staffed, list(reversed(rows)))  # re-sent, out of order
    assert (again.inserted, again.duplicates) == (0, 5)
    flags = [list(f) for f in _fixes(staffed)["flags"]]
    assert flags == [[], ["speed"], [], ["inaccurate"], ["network"]]
    stamps = _fixes(staffed)["fixed_at"]
    assert stamps.iloc[0].isoformat() == "2026-10-09T01:00:00+00:00"  # naive = Beijing time
    with staffed.connect() as conn:
        parts = conn.execute(
            sa.text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'fixes'::regclass")
        ).scalar()
    assert parts == 1  # one monthly partition, made on demand


def test_gcj02_fixes_are_converted_and_kept(staffed: Engine) -> None:
    lon, lat = lonlat(A12)
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    _ingest(
        staffed,
        [
            {
                "supervisor_id": "S2",
                "timestamp": "2026-10-09T09:00:00+08:00",
                "lon": glon,
                "lat": glat,
            }
        ],
        crs="gcj02",
    )
    row = _fixes(staffed).iloc[0]
    assert row["recorded_crs"] == "gcj02" and row["recorded_lon"] == pytest.approx(glon)
    assert abs(row["lon"] - lon) < 5e-6 and abs(row["lat"] - lat) < 5e-6  # well under 0.5 m


def test_bad_rows_are_listed_and_nothing_written(staffed: Engine) -> None:
    rows = [
        {
            "supervisor_id": "S1",
            "timestamp": "2026-10-09 09:00:00",
            "lon": "102.85",
            "lat": "24.98",
        },
        {"supervisor_id": "S9", "timestamp": "yesterday", "lon": "999", "lat": "24.98"},
        {"device_id": "D-9", "timestamp": "2026-10-09 09:00:05", "lon": "102.85", "lat": ""},
    ]
    with pytest.raises(ValidationFailed) as err:
        _ingest(staffed, rows)
    wheres = {p.where for p in err.value.problems}
    assert {
        "row 3, column supervisor_id",
        "row 3, column timestamp",
        "row 3, column lon",
        "row 4, column device_id",
        "row 4, column lat",
    } <= wheres
    assert _fixes(staffed).empty


def test_gpx_and_geojson_tracks_are_read(tmp_path: Path) -> None:
    gpx = tmp_path / "track.gpx"
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        '<trkpt lat="24.98" lon="102.85"><time>2026-10-09T01:00:00Z</time></trkpt>'
        '<trkpt lat="24.9801" lon="102.8501"><time>2026-10-09T01:00:10Z</time></trkpt>'
        "</trkseg></trk></gpx>"
    )
    frame = read_track_file(gpx)
    assert list(frame["lon"].astype(float)) == [102.85, 102.8501]
    assert frame["timestamp"].iloc[1].startswith("2026-10-09T01:00:10")
