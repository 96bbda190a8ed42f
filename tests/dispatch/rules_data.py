"""Hand-made responsibility rules on the hand-made territory (tests/territory.py), as real files.

Positions are in metres from the territory's south-west corner (EPSG:4543), converted to WGS84:

    y 200 +------+------+------+------+
          | A1-1 | A1-2 | A2-1 | A2-2 |
    y 100 +------+------+------+------+
          | B1-1 | B1-2 |
    y   0 +------+------+
        x 0     100    200    300    400
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyproj import Transformer
from sqlalchemy.engine import Engine

from geogrid.catalogue import load_catalogue
from geogrid.changes.plans import Plan
from geogrid.dispatch import (
    apply_responsibility_update,
    plan_responsibility_update,
    read_rule_upload,
)
from tests.territory import X0, Y0

A11, A12, A21, A22 = "530114001001001", "530114001001002", "530114001002001", "530114001002002"
B11, B12 = "530114002001001", "530114002001002"
ALL_GRIDS = (A11, A12, A21, A22, B11, B12)
_TO_WGS84 = Transformer.from_crs(4543, 4326, always_xy=True)
COLUMNS = (
    "code",
    "case_type",
    "sub_class",
    "major_class",
    "unit",
    "unit_kind",
    "area_name",
    "grids",
    "priority",
    "valid_from",
    "valid_to",
)


def ll(x: float, y: float) -> tuple[float, float]:
    """WGS84 longitude, latitude of the point ``x``, ``y`` metres into the territory."""
    lon, lat = _TO_WGS84.transform(X0 + x, Y0 + y)
    return round(lon, 9), round(lat, 9)


def write_rules_csv(
    path: Path, rows: Sequence[Mapping[str, object]], columns: Sequence[str] = COLUMNS
) -> Path:
    """A rule table (grid lists) with the given header."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


def polygon(x0: float, y0: float, x1: float, y1: float, **props: Any) -> dict[str, Any]:
    """A rectangle feature with corners in territory metres."""
    ring = [ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)]
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
    }


def road(points: Sequence[tuple[float, float]], **props: Any) -> dict[str, Any]:
    """A line feature through points in territory metres."""
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": [list(ll(x, y)) for x, y in points]},
    }


def write_geojson(path: Path, features: Sequence[Mapping[str, Any]]) -> Path:
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def plan(engine: Engine, path: Path, **kw: Any) -> Plan:
    with engine.begin() as conn:
        return plan_responsibility_update(
            conn, read_rule_upload(path), catalogue=load_catalogue(), created_by="test", **kw
        )


def apply(engine: Engine, plan_id: int) -> Plan:
    with engine.begin() as conn:
        return apply_responsibility_update(conn, plan_id, decided_by="test")


def load_rules(engine: Engine, path: Path, **kw: Any) -> Plan:
    """Plan and apply a rule file."""
    return apply(engine, plan(engine, path, **kw).id)
