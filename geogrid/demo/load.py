"""Write a demo district to PostGIS, replacing any earlier load of the same district.

One transaction: the district's rows are deleted from roads, grids, communities, streets and
districts (every version), then the new rows are streamed in with ``COPY … FROM STDIN`` (CSV,
geometries as hex EWKB in EPSG:4326). Generated columns (``area_m2``, ``length_m``), road ids
and ``created_at`` are left to the database.
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geogrid.cases import store_frame
from geogrid.catalogue import Catalogue
from geogrid.db.copy import copy_csv_in
from geogrid.demo.district import DemoDistrict, Progress
from geogrid.demo.patrol import DemoPatrol
from geogrid.patrol.fixes import store_fixes
from geogrid.patrol.supervisors import register_supervisors
from geogrid.worktime import WorkCalendar

# Children first on delete, parents first on insert.
_TABLES = (
    ("districts", "code", "district"),
    ("streets", "district_code", "streets"),
    ("communities", "district_code", "communities"),
    ("grids", "district_code", "grids"),
    ("roads", "district_code", "roads"),
)


def load_demo(
    engine: Engine, district: DemoDistrict, progress: Progress | None = None
) -> dict[str, int]:
    """Replace the district's territory in the database with ``district`` (DOMAIN.md §1).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Engine of a migrated geogrid database (psycopg2 driver).
    district : DemoDistrict
        What :func:`geogrid.demo.build_district` returned.
    progress : callable, optional
        Called as ``progress(stage, fraction)`` with fraction 0–1 of the rows written.

    Returns
    -------
    dict of str to int
        Rows inserted per table: ``districts``, ``streets``, ``communities``, ``grids``, ``roads``.
    """
    report = progress or (lambda stage, fraction: None)
    code = district.spec.district_code
    frames = {table: getattr(district, attr) for table, _, attr in _TABLES}
    total = max(sum(len(f) for f in frames.values()), 1)
    done = 0
    with engine.begin() as conn:
        report("deleting", 0.0)
        for table, column, _ in reversed(_TABLES):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE {column} = :code"), {"code": code})
        for table, frame in frames.items():
            report(table, done / total)
            _copy(conn, table, frame)
            done += len(frame)
        report("analysing", done / total)
        conn.execute(sa.text(f"ANALYZE {', '.join(frames)}"))
    report("done", 1.0)
    return {table: len(frame) for table, frame in frames.items()}


def _copy(conn: Connection, table: str, frame: gpd.GeoDataFrame) -> None:
    """Stream ``frame`` into ``table`` with COPY (CSV; NULL is an unquoted empty field)."""
    if frame.empty:
        return
    rows = frame.copy()
    geoms = shapely.set_srid(rows.geometry.values.to_numpy(), 4326)
    rows = rows.drop(columns=rows.geometry.name).assign(
        **{frame.geometry.name: shapely.to_wkb(geoms, hex=True, include_srid=True)}
    )
    rows = rows[list(frame.columns)]
    buffer = io.StringIO()
    rows.to_csv(buffer, header=False, index=False)
    buffer.seek(0)
    copy_csv_in(conn, table, list(rows.columns), buffer)


def load_demo_cases(
    engine: Engine,
    cases: pd.DataFrame,
    *,
    district_code: str,
    catalogue: Catalogue,
    calendar: WorkCalendar,
    tz: str = "Asia/Shanghai",
    batch: int = 250_000,
    progress: Progress | None = None,
) -> int:
    """Replace the district's cases with ``cases`` (from :func:`build_cases`), in one transaction.

    The cases go through the same validation, location and upsert as an import, in batches
    of ``batch`` rows; returns the number stored.
    """
    report = progress or (lambda stage, fraction: None)
    total = max(len(cases), 1)
    stored = 0
    with engine.begin() as conn:
        report("deleting cases", 0.0)
        conn.execute(sa.text("DELETE FROM cases WHERE district_code = :d"), {"d": district_code})
        for start in range(0, len(cases), batch):
            part = cases.iloc[start : start + batch]

            def step(stage: str, fraction: float, s: int = start, n: int = len(part)) -> None:
                report(f"cases: {stage}", (s + fraction * n) / total)

            result = store_frame(
                conn,
                part,
                catalogue=catalogue,
                calendar=calendar,
                tz=tz,
                shown="demo cases",
                progress=step,
            )
            stored += result.total
        report("analysing cases", 1.0)
        conn.execute(sa.text("ANALYZE cases"))
    return stored


def load_demo_components(
    engine: Engine,
    components: gpd.GeoDataFrame,
    *,
    catalogue: Catalogue,
    progress: Progress | None = None,
) -> int:
    """Replace the inventory with ``components`` through a plan that is applied at once.

    The components go through the same validation, planning and apply as an uploaded census
    (DOMAIN.md §2), so the demo inventory has a version history like a real one.
    """
    from geogrid.components.update import apply_component_update, plan_component_update
    from geogrid.components.upload import ComponentUpload

    report = progress or (lambda stage, fraction: None)
    frame = components.copy()
    frame.insert(0, "row", np.arange(1, len(frame) + 1))
    frame.insert(0, "layer", "demo")
    for column in ("install_date", "change_date", "data_source", "sub_class"):
        if column not in frame:
            frame[column] = None
    frame["install_date"] = frame["install_date"].astype(object)
    upload = ComponentUpload(frame, "demo components", "demo", "EPSG:4326", [])
    with engine.begin() as conn:
        # A fresh demo inventory: its history starts here.
        conn.execute(sa.text("DELETE FROM components"))
        conn.execute(sa.text("DELETE FROM component_sequences"))
        conn.execute(sa.text("DELETE FROM change_plans WHERE kind = 'components'"))
        plan = plan_component_update(
            conn,
            upload,
            catalogue=catalogue,
            created_by="demo",
            progress=lambda stage, f: report(f"components: {stage}", 0.7 * f),
        )
        report("components: applying", 0.7)
        apply_component_update(conn, plan.id, decided_by="demo")
        report("analysing components", 1.0)
        conn.execute(sa.text("ANALYZE components"))
    return len(frame)


def load_demo_patrol(
    engine: Engine,
    patrol: DemoPatrol,
    *,
    district_code: str,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Replace the district's supervisors and fixes with ``patrol``, in one transaction.

    The supervisors are registered and the fixes stored (one UTC day at a time) through the same
    functions as an import (DOMAIN.md §5), so network fixes and spikes come out flagged.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Engine of a migrated geogrid database holding the district's grids.
    patrol : DemoPatrol
        What :func:`geogrid.demo.build_patrol` returned for that district.
    district_code : str
        The district the supervisors and fixes belong to.
    progress : callable, optional
        Called as ``progress(stage, fraction)`` with fraction 0–1 of the days stored.

    Returns
    -------
    dict of str to int
        ``supervisors`` registered and ``fixes`` stored.
    """
    report = progress or (lambda stage, fraction: None)
    fixes = patrol.fixes
    day = fixes["fixed_at"].dt.floor("D")
    days = day.drop_duplicates().sort_values().tolist()
    stored = 0
    with engine.begin() as conn:
        report("deleting tracks", 0.0)
        conn.execute(sa.text("DELETE FROM fixes WHERE district_code = :d"), {"d": district_code})
        conn.execute(
            sa.text("DELETE FROM supervisors WHERE district_code = :d"), {"d": district_code}
        )
        report("registering supervisors", 0.0)
        register_supervisors(conn, patrol.supervisors, shown="demo supervisors")
        for k, first in enumerate(days):
            report("loading tracks", k / max(len(days), 1))
            part = fixes[(day == first).to_numpy()]
            stored += store_fixes(conn, part, district_code=district_code).inserted
        report("analysing tracks", 1.0)
        conn.execute(sa.text("ANALYZE fixes"))
    return {"supervisors": len(patrol.supervisors), "fixes": stored}
