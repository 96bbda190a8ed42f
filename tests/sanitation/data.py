"""Hand-made sanitation data on the hand-made territory (tests/territory.py).

Two companies: 城洁 (HW1) cleans street 龙城街道 (the northern row of grids, x 0–400 m,
y 100–200 m from the territory's corner) as area N, 绿源 (HW2) street 乌龙街道 (x 0–200 m,
y 0–100 m) as area S. A main road runs west to east through area N at y = 150 m; an alley
through area S at y = 50 m. Positions are metres in EPSG:4543 from the territory's corner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Engine

from geogrid.patrol.fixes import known_trackers, parse_fixes, store_fixes
from geogrid.sanitation import (
    AreaSpec,
    CompanySpec,
    SegmentSpec,
    TrackerSpec,
    register_companies,
    register_trackers,
    replace_segments,
    store_areas,
)
from tests.territory import X0, Y0

TO_WGS84 = Transformer.from_crs(4543, 4326, always_xy=True)
COMPANIES = [
    CompanySpec("HW1", "城洁环卫有限公司", date(2026, 1, 1), date(2026, 12, 31)),
    CompanySpec("HW2", "绿源环卫有限公司", date(2026, 1, 1)),
]


def lonlat(geom: BaseGeometry) -> BaseGeometry:
    """A geometry given in metres from the territory's corner, in EPSG:4326."""
    corner = np.array([X0, Y0])
    return shapely.transform(geom, lambda xy: np.column_stack(TO_WGS84.transform(*(xy + corner).T)))


def point(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(X0 + x, Y0 + y)
    return round(lon, 8), round(lat, 8)


AREA_N = box(0, 100, 400, 200)
AREA_S = box(0, 0, 200, 100)
MAIN_ROAD = LineString([(0, 150), (400, 150)])
ALLEY = LineString([(0, 50), (200, 50)])


def load_sanitation(engine: Engine, *, trackers: Sequence[TrackerSpec] = ()) -> None:
    """The two companies, their areas, one segment each (N-0001 main, S-0001 alley)."""
    with engine.begin() as conn:
        register_companies(conn, COMPANIES, shown="test")
        store_areas(
            conn,
            [
                AreaSpec("N", "龙城保洁区", "HW1", lonlat(AREA_N)),
                AreaSpec("S", "乌龙保洁区", "绿源环卫有限公司", lonlat(AREA_S), 2, 1, 1),
            ],
            shown="test",
        )
        replace_segments(
            conn,
            [
                SegmentSpec("N-0001", "N", "main", "彩云路", lonlat(MAIN_ROAD)),
                SegmentSpec("S-0001", "S", "alley", "云桥一巷", lonlat(ALLEY)),
            ],
        )
        if trackers:
            register_trackers(conn, list(trackers), shown="test")


def send_fixes(engine: Engine, rows: list[dict[str, Any]]) -> int:
    """Store fixes through the ingest (any registered supervisor, vehicle or crew)."""
    frame = pd.DataFrame(rows).astype(object).fillna("").astype(str)
    with engine.begin() as conn:
        district, ids, devices = known_trackers(conn)
        fixes = parse_fixes(frame, supervisors=ids, devices=devices)
        return store_fixes(conn, fixes, district_code=district).inserted


def drive(
    tracker: str, day: str, start: str, xs: Sequence[float], y: float, *, every_s: int = 5
) -> list[dict[str, Any]]:
    """Fixes of ``tracker`` at ``xs`` (metres east), ``y`` north, every ``every_s`` s."""
    t0 = pd.Timestamp(f"{day} {start}")
    rows = []
    for k, x in enumerate(xs):
        lon, lat = point(x, y)
        moment = (t0 + pd.Timedelta(seconds=k * every_s)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append({"supervisor_id": tracker, "timestamp": moment, "lon": lon, "lat": lat})
    return rows


def write_geojson(path: Path, features: list[tuple[BaseGeometry | None, dict[str, Any]]]) -> Path:
    """A GeoJSON file of (geometry in EPSG:4326, properties) features."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": None if g is None else shapely.geometry.mapping(g),
                "properties": props,
            }
            for g, props in features
        ],
    }
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path
