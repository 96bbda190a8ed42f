"""Repeat cases (重复案件, DOMAIN.md §4): many cases of one subclass at one place in a period.

A *place* is a chain of the period's event cases of one subclass, each within the repeat
distance of the next (single linkage, found with a k-d tree and connected components: the
period of a city holds ~170,000 cases, which PostGIS's ``ST_ClusterDBSCAN`` took minutes to
cluster where dense hotspots put hundreds of cases within a few metres). A place's road class is
that of the road nearest to its first case; all its cases are repeat cases once it holds as
many as the threshold of that class (2 main roads, 3 secondary roads, 4 alleys).
Component cases and illegal small ads never count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sqlalchemy.engine import Connection

from geogrid.cases.columns import SMALL_AD_SUB_CLASSES
from geogrid.crs import local_metric_proj4
from geogrid.db.copy import copy_csv_out
from geogrid.indicators.rules import REPEAT_THRESHOLD_DEFAULT, REPEAT_THRESHOLDS


def repeat_flags(
    sub_classes: Sequence[str],
    road_classes: Sequence[str | None],
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    distance_m: float,
) -> npt.NDArray[np.bool_]:
    """Which cases are repeat cases.

    Parameters
    ----------
    sub_classes, road_classes
        Per case, in registration order within each subclass (the first case of a place
        decides its road class).
    x, y
        Positions in metres (any local metric projection).
    distance_m
        Cases of one subclass closer than this are at the same place.

    Returns
    -------
    ndarray of bool
        True for the cases of places that reach their road class's threshold.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    flags = np.zeros(len(xs), dtype=bool)
    if len(xs) == 0:
        return flags
    codes, _ = pd.factorize(np.asarray(sub_classes, dtype=object))
    threshold = (
        pd.Series(list(road_classes), dtype=object)
        .map(REPEAT_THRESHOLDS)
        .fillna(REPEAT_THRESHOLD_DEFAULT)
        .to_numpy(dtype=np.int64)
    )
    order = np.argsort(codes, kind="stable")  # keeps registration order within a subclass
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for index in np.split(order, bounds):
        n = len(index)
        if n < min(REPEAT_THRESHOLDS.values()):
            continue
        pairs = cKDTree(np.column_stack([xs[index], ys[index]])).query_pairs(
            distance_m, output_type="ndarray"
        )
        if len(pairs) == 0:
            continue
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels)
        first = np.full(len(sizes), n, dtype=np.int64)
        np.minimum.at(first, labels, np.arange(n))
        needed = threshold[index[first]]
        flags[index] = sizes[labels] >= needed[labels]
    return flags


_POINTS_SQL = """
SELECT f.case_id, f.sub_class, f.road_class, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM cases f
WHERE f.registered_at >= :t0 AND f.registered_at < :t1 AND f.registered_at <= :c
  AND f.case_type = 'event' AND f.sub_class <> ALL(:small_ads) AND f.geom IS NOT NULL {filters}
ORDER BY f.registered_at
"""


def _copy_frame(conn: Connection, sql: str, params: dict[str, object]) -> pd.DataFrame:
    """The rows of ``sql`` read with ``COPY … TO STDOUT`` (a third of the time of a fetch)."""
    compiled = sa.text(sql).bindparams(**params).compile(dialect=conn.dialect)
    buffer = copy_csv_out(conn, compiled.string, dict(compiled.params))
    return pd.read_csv(buffer, dtype={"case_id": str, "sub_class": str, "road_class": str})


def find_repeat_cases(
    conn: Connection,
    params: dict[str, object],
    filters: str,
    *,
    distance_m: float,
) -> list[str]:
    """Ids of the repeat cases among the cases registered in a period.

    ``params`` binds :t0, :t1, :c and the filters' parameters; ``filters`` is the SQL of the
    indicator filters (platform, source).
    """
    sql = _POINTS_SQL.format(filters=filters)
    points = _copy_frame(conn, sql, {**params, "small_ads": list(SMALL_AD_SUB_CLASSES)})
    if points.empty:
        return []
    lons, lats = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    proj = local_metric_proj4(float(np.median(lons)), float(np.median(lats)))
    x, y = Transformer.from_crs("EPSG:4326", proj, always_xy=True).transform(lons, lats)
    road = points["road_class"].where(points["road_class"].notna(), None)
    flags = repeat_flags(
        points["sub_class"].to_numpy(), road.to_numpy(), x, y, distance_m=distance_m
    )
    return points["case_id"].to_numpy()[flags].tolist()
