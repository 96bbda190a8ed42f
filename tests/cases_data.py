"""Hand-made cases on the hand-made territory (tests/territory.py), written as real CSV files.

Positions are given in metres inside a grid of the territory (EPSG:4543) and converted to
WGS84 longitude/latitude, so every case lies where the test says it does.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import sqlalchemy as sa
from pyproj import Transformer
from sqlalchemy.engine import Engine

from geogrid.cases.columns import COLUMNS
from tests.territory import GRIDS, X0, Y0

_TO_WGS84 = Transformer.from_crs(4543, 4326, always_xy=True)


def lonlat(grid: str, dx: float = 50.0, dy: float = 50.0) -> tuple[float, float]:
    """WGS84 position ``dx``, ``dy`` metres from the south-west corner of ``grid``."""
    col, row, _ = GRIDS[grid]
    lon, lat = _TO_WGS84.transform(X0 + col * 100 + dx, Y0 + row * 100 + dy)
    return round(lon, 8), round(lat, 8)


def case(
    case_id: str,
    grid: str = "530114001001001",
    dx: float = 50.0,
    dy: float = 50.0,
    **fields: object,
) -> dict[str, object]:
    """One case row: defaults for a district supervisor's 暴露垃圾 (06010) event."""
    lon, lat = lonlat(grid, dx, dy)
    row: dict[str, object] = {
        "case_id": case_id,
        "source": "district_supervisor",
        "case_type": "event",
        "major_class": "06",
        "sub_class": "06010",
        "lon": lon,
        "lat": lat,
        "department": "区城管局",
    }
    row.update(fields)
    return row


def write_csv(
    path: Path, rows: Sequence[Mapping[str, object]], columns: Sequence[str] = COLUMNS
) -> Path:
    """Write ``rows`` with the given header (missing cells empty)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


def add_road(engine: Engine, road_class: str, points_m: Sequence[tuple[float, float]]) -> None:
    """A road of ``road_class`` through positions in metres (EPSG:4543) of the territory."""
    wkt = "LINESTRING(" + ",".join(f"{X0 + x} {Y0 + y}" for x, y in points_m) + ")"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO roads (district_code, name, road_class, geom) "
                "VALUES ('530114', :n, :c, ST_Transform(ST_GeomFromText(:w, 4543), 4326))"
            ),
            {"n": f"{road_class} road", "c": road_class, "w": wkt},
        )
