"""Tests of the hotspot analysis (Getis-Ord Gi* over unit grids), and a hand-made lattice.

The lattice: 5 × 5 squares of 100 m in CGCS2000 / 3-degree Gauss–Krüger CM 102E (EPSG:4543),
row 0 in the south, column 0 in the west; grid codes ``530114001001`` + a 3-digit sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from shapely.geometry import box

X0, Y0, SIZE = 585_000.0, 2_763_000.0, 100.0


def lattice(
    values: Sequence[float] | np.ndarray,
    *,
    side: int = 5,
    extra: Sequence[tuple[float, float]] = (),
) -> gpd.GeoDataFrame:
    """``side`` × ``side`` squares (row by row from the south-west) plus squares at ``extra``.

    ``values`` gives the ``cases`` of each square in that order (the extra ones last);
    ``density`` is cases per km² (each square is 0.01 km²).
    """
    cells = [(col, row) for row in range(side) for col in range(side)]
    squares = [
        box(X0 + c * SIZE, Y0 + r * SIZE, X0 + (c + 1) * SIZE, Y0 + (r + 1) * SIZE)
        for c, r in cells
    ]
    squares += [box(X0 + x, Y0 + y, X0 + x + SIZE, Y0 + y + SIZE) for x, y in extra]
    cases = np.asarray(values, dtype=np.int64)
    assert len(cases) == len(squares)
    return gpd.GeoDataFrame(
        {
            "code": [f"530114001001{i + 1:03d}" for i in range(len(squares))],
            "street_code": "530114001",
            "cases": cases,
            "density": cases / 0.01,
        },
        geometry=squares,
        crs="EPSG:4543",
    )


def corner_cluster(side: int = 5, high: int = 20, base: int = 2) -> np.ndarray:
    """Counts with a 2 × 2 block of ``high`` in the south-west corner, ``base`` elsewhere."""
    values = np.full(side * side, base, dtype=np.int64)
    for row in (0, 1):
        for col in (0, 1):
            values[row * side + col] = high
    return values
