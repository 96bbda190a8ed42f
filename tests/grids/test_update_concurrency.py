"""Two applies racing on separate connections: exactly one succeeds, the other is stale."""

from __future__ import annotations

import threading

import geopandas as gpd
import pytest
from shapely.geometry import shape
from sqlalchemy.engine import Engine

from geogrid.errors import StalePlan
from geogrid.grids.update import apply_grid_update, plan_grid_update
from geogrid.grids.upload import GridUpload
from tests.api.test_grid_updates import SPLIT_A11


def split_upload() -> GridUpload:
    frame = gpd.GeoDataFrame(
        {
            "row": [1, 2, 3],
            "code": [f["properties"]["code"] for f in SPLIT_A11],
            "community_code": [f["properties"]["community_code"] for f in SPLIT_A11],
            "community_name": [None] * 3,
            "grid_type": ["city"] * 3,
            "name": [None] * 3,
        },
        geometry=[shape(f["geometry"]) for f in SPLIT_A11],
        crs=4326,
    )
    return GridUpload(frame, None, None, "split.geojson", "0" * 64, "EPSG:4326")


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_applies_cannot_both_succeed(territory_engine: Engine, attempt: int) -> None:
    with territory_engine.begin() as conn:
        first = plan_grid_update(conn, split_upload(), created_by="a").id
        second = plan_grid_update(conn, split_upload(), created_by="b").id
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def apply(plan_id: int) -> None:
        barrier.wait()
        try:
            with territory_engine.begin() as conn:
                apply_grid_update(conn, plan_id, decided_by="race")
            outcomes[plan_id] = "applied"
        except StalePlan:
            outcomes[plan_id] = "stale"

    threads = [threading.Thread(target=apply, args=(p,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["applied", "stale"]
