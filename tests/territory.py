"""A hand-made territory with known answers: 1 district, 2 streets, 3 communities, 6 grids.

Drawn in CGCS2000 / 3-degree Gauss–Krüger CM 102E (EPSG:4543) near 102.85E 24.98N, every
grid an exact 100 m x 100 m square (10,000 m² in the projection):

    y 2763200 +------+------+------+------+
              | A1-1 | A1-2 | A2-1 | A2-2 |      street 001 (龙城街道): A1 = 001001, A2 = 001002
    y 2763100 +------+------+------+------+
              | B1-1 | B1-2 |                    street 002 (乌龙街道): B1 = 002001
    y 2763000 +------+------+
            x 585000      585200       585400
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.features.query import extent
from geogrid.layers import load_layers

X0, Y0 = 585_000.0, 2_763_000.0
DISTRICT = "530114"
STREETS = {"530114001": "龙城街道", "530114002": "乌龙街道"}
COMMUNITIES = {
    "530114001001": ("530114001", "春城社区"),
    "530114001002": ("530114001", "彩云社区"),
    "530114002001": ("530114002", "斗南社区"),
}
# code -> (column, row, grid_type); row 1 is the northern row
GRIDS = {
    "530114001001001": (0, 1, "city"),
    "530114001001002": (1, 1, "city"),
    "530114001002001": (2, 1, "rural"),
    "530114001002002": (3, 1, "city"),
    "530114002001001": (0, 0, "industrial"),
    "530114002001002": (1, 0, "city"),
}


def square_wkt(col: int, row: int, size: float = 100.0) -> str:
    x, y = X0 + col * size, Y0 + row * size
    return f"POLYGON(({x} {y},{x + size} {y},{x + size} {y + size},{x} {y + size},{x} {y}))"


def grid_bbox_wgs84(engine: Engine) -> tuple[float, float, float, float]:
    with engine.connect() as conn:
        box = extent(conn, load_layers().get("grids"))
    assert box is not None
    return box


def load_territory(engine: Engine) -> None:
    """Insert the territory above (grids, then their unions as communities, streets, district)."""
    to_4326 = "ST_Multi(ST_Transform(ST_GeomFromText(:wkt, 4543), 4326))"
    with engine.begin() as conn:
        for code, (col, row, gtype) in GRIDS.items():
            conn.execute(
                sa.text(
                    "INSERT INTO grids (district_code, code, community_code, street_code, "
                    f"grid_type, geom) VALUES (:d, :code, :c, :s, :t, {to_4326})"
                ),
                {
                    "d": DISTRICT,
                    "code": code,
                    "c": code[:12],
                    "s": code[:9],
                    "t": gtype,
                    "wkt": square_wkt(col, row),
                },
            )
        for code, (street, name) in COMMUNITIES.items():
            conn.execute(
                sa.text(
                    "INSERT INTO communities (district_code, code, street_code, name, geom) "
                    "SELECT :d, :code, :s, :n, ST_Multi(ST_Union(geom)) FROM grids "
                    "WHERE community_code = :code"
                ),
                {"d": DISTRICT, "code": code, "s": street, "n": name},
            )
        for code, name in STREETS.items():
            conn.execute(
                sa.text(
                    "INSERT INTO streets (district_code, code, name, kind, geom) "
                    "SELECT :d, :code, :n, '街道', ST_Multi(ST_Union(geom)) FROM communities "
                    "WHERE street_code = :code"
                ),
                {"d": DISTRICT, "code": code, "n": name},
            )
        conn.execute(
            sa.text(
                "INSERT INTO districts (code, name, geom) "
                "SELECT :d, '呈贡区', ST_Multi(ST_Union(geom)) FROM streets"
            ),
            {"d": DISTRICT},
        )
