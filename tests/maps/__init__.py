"""Tests of the map pages, and the tiny hand-made district they draw.

The district: two streets (街道), three communities (社区), six unit grids (单元网格) of
0.001° × 0.0009° (about 101 m × 100 m) in three columns and two rows near Kunming::

    lon 102.800     102.801     102.802     102.803
         +-----------+-----------+-----------+  lat 24.8818
         | 龙城 001  | 斗南 001  | 乌龙 001  |
         +-----------+-----------+-----------+  lat 24.8809
         | 龙城 002  | 斗南 002  | 乌龙 002  |
         +-----------+-----------+-----------+  lat 24.8800
          <------ 龙城街道 ----->  乌龙街道

A grid's code is its community's 12 digits + the sequence shown (DOMAIN.md §1).
"""

from __future__ import annotations

from typing import Any

WEST, SOUTH, DX, DY = 102.800, 24.880, 0.001, 0.0009

STREETS = {"530114001": "龙城街道", "530114002": "乌龙街道"}
COMMUNITIES = {  # column → (code, name, street code)
    0: ("530114001001", "龙城社区", "530114001"),
    1: ("530114001002", "斗南社区", "530114001"),
    2: ("530114002001", "乌龙社区", "530114002"),
}
GRID_TYPES = {(0, 0): "city", (0, 1): "rural", (1, 0): "city", (1, 1): "industrial"}
AREAS = {(0, 0): 11190.4, (0, 1): 11190.5}


def _box(col0: int, row0: int, col1: int, row1: int) -> dict[str, Any]:
    """Polygon over columns col0..col1-1 and rows row0..row1-1 (row 0 = north)."""
    west, east = WEST + col0 * DX, WEST + col1 * DX
    north, south = SOUTH + (2 - row0) * DY, SOUTH + (2 - row1) * DY
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def sample_district() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(grids, streets, communities) FeatureCollections of the district above, EPSG:4326."""
    grids = []
    for col, (community, community_name, street) in COMMUNITIES.items():
        for row in (0, 1):
            props = {
                "code": f"{community}{row + 1:03d}",
                "community_code": community,
                "community_name": community_name,
                "street_code": street,
                "street_name": STREETS[street],
                "grid_type": GRID_TYPES.get((col, row), "city"),
                "area_m2": AREAS.get((col, row), 11190.0),
            }
            grids.append(
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": _box(col, row, col + 1, row + 1),
                }
            )
    streets = [
        {
            "type": "Feature",
            "properties": {"code": "530114001", "name": "龙城街道"},
            "geometry": _box(0, 0, 2, 2),
        },
        {
            "type": "Feature",
            "properties": {"code": "530114002", "name": "乌龙街道"},
            "geometry": _box(2, 0, 3, 2),
        },
    ]
    communities = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name, "street_code": street},
            "geometry": _box(col, 0, col + 1, 2),
        }
        for col, (code, name, street) in COMMUNITIES.items()
    ]
    return _collection(grids), _collection(streets), _collection(communities)


def large_district(side: int = 100) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(grids, streets, communities) of ``side`` × ``side`` grids with 9-vertex rings.

    Ten streets as north–south bands, each cut into ten communities: the size of a big
    district (10,000 grids for ``side=100``), to check that its page stays small and renders.
    """
    step = side // 10

    def ring(col0: int, row0: int, col1: int, row1: int) -> dict[str, Any]:
        w, e, s, n = WEST + col0 * DX, WEST + col1 * DX, SOUTH + row0 * DY, SOUTH + row1 * DY
        mx, my = (w + e) / 2, (s + n) / 2
        points = [[w, s], [mx, s], [e, s], [e, my], [e, n], [mx, n], [w, n], [w, my], [w, s]]
        return {"type": "Polygon", "coordinates": [points]}

    streets, communities, grids = [], [], []
    for band in range(10):
        street = f"530114{band + 1:03d}"
        cols = (band * step, (band + 1) * step)
        streets.append(
            {
                "type": "Feature",
                "properties": {"code": street, "name": f"第{band + 1}街道"},
                "geometry": ring(cols[0], 0, cols[1], side),
            }
        )
        for block in range(10):
            community = f"{street}{block + 1:03d}"
            communities.append(
                {
                    "type": "Feature",
                    "properties": {
                        "code": community,
                        "name": f"第{block + 1}社区",
                        "street_code": street,
                    },
                    "geometry": ring(cols[0], block * step, cols[1], (block + 1) * step),
                }
            )
            for i in range(step * step):
                col, row = cols[0] + i % step, block * step + i // step
                props = {
                    "code": f"{community}{i + 1:03d}",
                    "community_code": community,
                    "community_name": f"第{block + 1}社区",
                    "street_code": street,
                    "street_name": f"第{band + 1}街道",
                    "grid_type": "city",
                    "area_m2": 11190.0,
                }
                geometry = ring(col, row, col + 1, row + 1)
                grids.append({"type": "Feature", "properties": props, "geometry": geometry})
    return _collection(grids), _collection(streets), _collection(communities)
