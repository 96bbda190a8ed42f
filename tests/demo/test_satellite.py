"""The demo's satellite patches: plan, images, and a batch loaded with every verdict."""

from __future__ import annotations

import collections
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
import sqlalchemy as sa
from rasterio.features import geometry_mask
from sqlalchemy.engine import Engine

from geogrid.catalogue import load_catalogue
from geogrid.demo import DemoDistrict, DemoSpec, build_district, load_demo
from geogrid.demo.district import PROJECTED_CRS
from geogrid.demo.satellite import (
    MIN_GAP_M,
    OUTCOMES,
    ROAD_CLEARANCE_M,
    expected_verdicts,
    load_demo_satellite,
    plan_satellite,
)
from geogrid.demo.satellite_images import BLOCK, COVER, NODATA, OVERVIEWS, write_images
from geogrid.satellite.rules import VERDICTS
from geogrid.worktime import WorkCalendar

TINY = DemoSpec(
    "tiny", 800, 800, street_columns=2, street_rows=1, main_spacing_m=800, secondary_spacing_m=400
)
MONTH = date(2026, 10, 1)


@pytest.fixture(scope="module")
def tiny() -> DemoDistrict:
    return build_district(TINY, seed=7)


def test_plan_is_deterministic_spaced_and_inside_grids(tiny: DemoDistrict) -> None:
    sat = plan_satellite(tiny, month=MONTH, patches=len(OUTCOMES), seed=3)
    again = plan_satellite(tiny, month=MONTH, patches=len(OUTCOMES), seed=3)
    assert [p.geom.wkt for p in sat.patches] == [p.geom.wkt for p in again.patches]
    assert (
        sat.batch_id == "2026-10" and sat.dispatched_at.isoformat() == "2026-10-03T10:00:00+08:00"
    )
    assert collections.Counter(p.outcome.name for p in sat.patches) == {o.name: 1 for o in OUTCOMES}
    assert set(expected_verdicts(sat).values()) == set(VERDICTS)
    grids = tiny.grids.to_crs(PROJECTED_CRS).geometry
    roads = tiny.roads.to_crs(PROJECTED_CRS).geometry.union_all()
    shapes = [p.geom for p in sat.patches]
    for shape in shapes:
        assert 15 * 15 <= shape.area <= 45 * 45
        assert grids.contains(shape).sum() == 1
        assert shape.distance(roads) >= ROAD_CLEARANCE_M - 0.01
    gaps = [a.distance(b) for i, a in enumerate(shapes) for b in shapes[i + 1 :]]
    assert min(gaps) >= MIN_GAP_M


def test_images_are_tiled_with_overviews_and_show_each_outcome(
    tiny: DemoDistrict, tmp_path: Path
) -> None:
    sat = plan_satellite(tiny, month=MONTH, patches=len(OUTCOMES), seed=3)
    paths = write_images(sat, tiny, tmp_path, cog=True)
    means = {}
    for role, path in paths.items():
        with rasterio.open(path) as src:
            assert (src.count, src.dtypes[0], src.nodata, src.crs.to_epsg()) == (
                4,
                "uint16",
                NODATA,
                4543,
            )
            assert src.block_shapes[0] == (BLOCK, BLOCK) and src.compression.value == "DEFLATE"
            assert src.overviews(1)[:2] == list(OVERVIEWS[:2])
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            data = src.read()
            for patch in sat.patches:
                inside = geometry_mask([patch.geom], data.shape[1:], src.transform, invert=True)
                pixels = data[:, inside]
                valid = (pixels != NODATA).all(axis=0)
                means[role, patch.outcome.name, patch.change_type] = (
                    valid.mean(),
                    pixels[:, valid].mean(axis=1) if valid.any() else None,
                )
    for patch in sat.patches:
        name, kind = patch.outcome.name, patch.change_type
        share_before, before = means["before", name, kind]
        share_after, after = means["after", name, kind]
        assert share_before == 1.0
        assert share_after == (0.0 if patch.outcome.cloud else 1.0), name
        if not patch.outcome.cloud:
            assert before is not None and after is not None
            moved = np.abs(after - before).max()
            assert (moved > 500) == patch.outcome.reversed, (name, before, after)
        expected = {"dust_source": "soil", "building": "steel_roof"}.get(kind)
        if expected and before is not None:
            assert np.allclose(before, COVER[expected], atol=10)


def test_load_gives_every_verdict(engine: Engine, tiny: DemoDistrict, tmp_path: Path) -> None:
    load_demo(engine, tiny)
    counts = load_demo_satellite(
        engine,
        tiny,
        month=MONTH,
        out_dir=tmp_path,
        catalogue=load_catalogue(),
        calendar=WorkCalendar.load(),
        patches=len(OUTCOMES),
        seed=3,
    )
    sat = plan_satellite(tiny, month=MONTH, patches=len(OUTCOMES), seed=3)
    assert counts["patches"] == len(OUTCOMES) and counts["photos"] >= 3
    with engine.connect() as conn:
        got = dict(
            conn.execute(
                sa.text(
                    "SELECT p.patch_code, v.verdict FROM patches p JOIN patch_verifications v "
                    "ON v.patch_id = p.id"
                )
            ).all()
        )
        roles = conn.execute(sa.text("SELECT role FROM patch_imagery ORDER BY role")).scalars()
        assert list(roles) == ["after", "before"]
        photos = conn.execute(sa.text("SELECT count(geom), count(*) FROM patch_photos")).one()
    assert got == expected_verdicts(sat)
    assert photos[0] == photos[1] == counts["photos"]
    assert (tmp_path / "2026-10" / "before.tif").exists()
    # loading again replaces the batch and its cases
    load_demo_satellite(
        engine,
        tiny,
        month=MONTH,
        out_dir=tmp_path,
        catalogue=load_catalogue(),
        calendar=WorkCalendar.load(),
        patches=len(OUTCOMES),
        seed=3,
    )
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM cases WHERE source = 'satellite'"))
        assert n.scalar_one() == len(OUTCOMES)
