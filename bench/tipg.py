"""tipg (developmentseed's FastAPI + PostGIS OGC server), the peer geogrid is measured against.

tipg pins its own FastAPI/pydantic stack, so it lives in its own virtualenv
``bench/.venv-tipg`` (git-ignored), created from PyPI the first time a suite needs it.
It serves whole tables or views: :data:`VIEW_SQL` makes ``bench_grids``, the current grids with
the properties of geogrid's grid collection (same joins, same rounding) and, when the schema has
it, the stored Web Mercator geometry; tile URLs ask for the :data:`TILE_PROPERTIES` geogrid puts
in its tiles and for that geometry, so both servers do the same work.

tipg's settings used here (``tipg/settings.py`` of the pinned version): ``DATABASE_URL``,
``TIPG_DB_SCHEMAS``/``TIPG_DB_TABLES`` (what to publish),
``TIPG_TABLE_CONFIG__<schema>_<table>__PK`` (the feature id), ``TIPG_TILE_BUFFER`` (set to
geogrid's 64), ``TIPG_MAX_FEATURES_PER_TILE`` (geogrid's 20,000),
``TIPG_CATALOG_TTL=0`` (no catalog refresh in the middle of a measurement).
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.servers import Server, serve, uvicorn_argv
from bench.stack import free_port

VERSION = "1.6.1"
VENV = Path(__file__).resolve().parent / ".venv-tipg"
PYTHON = VENV / "bin" / "python"
VIEW = "bench_grids"
COLLECTION = f"public.{VIEW}"
# geogrid's grid tiles carry these (geogrid/grids/layers.py, in_tiles=True).
TILE_PROPERTIES = (
    "code",
    "community_code",
    "community_name",
    "street_code",
    "street_name",
    "grid_type",
    "area_m2",
)
MERCATOR = "geom_3857"  # geogrid's stored EPSG:3857 copy, when the schema has it
VIEW_SQL = """
CREATE OR REPLACE VIEW {view} AS
SELECT f.code, f.community_code, c.name AS community_name, f.street_code,
       s.name AS street_name, f.grid_type, round(f.area_m2::numeric, 1)::float8 AS area_m2,
       f.version, f.valid_from, f.geom{mercator}
FROM grids f
JOIN communities c ON c.district_code = f.district_code
    AND c.code = f.community_code AND c.valid_to IS NULL
JOIN streets s ON s.district_code = f.district_code
    AND s.code = f.street_code AND s.valid_to IS NULL
WHERE f.valid_to IS NULL
"""


def installed_version() -> str | None:
    """The tipg version in ``bench/.venv-tipg``, or None when it is not there."""
    if not PYTHON.exists():
        return None
    res = subprocess.run(
        [str(PYTHON), "-c", "import tipg, uvicorn; print(tipg.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return res.stdout.strip() if res.returncode == 0 else None


def ensure_installed() -> str:
    """Install tipg ``VERSION`` (and uvicorn) into ``bench/.venv-tipg`` unless it is there."""
    if installed_version() == VERSION:
        return VERSION
    print(f"==> installing tipg {VERSION} into {VENV} (first run only)", flush=True)
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"tipg=={VERSION}",
            "uvicorn",
        ],
        check=True,
    )
    found = installed_version()
    if found != VERSION:
        raise RuntimeError(f"tipg {VERSION} did not install into {VENV} (found {found})")
    return found


@dataclass(frozen=True)
class View:
    """The view tipg serves: how many grids it holds, and whether tiles use ``geom_3857``."""

    grids: int
    mercator: bool

    def tile_path(self, z: int, x: int, y: int) -> str:
        """tipg's URL of one grid tile, with geogrid's tile properties and tile geometry."""
        query = "properties=" + ",".join(TILE_PROPERTIES)
        if self.mercator:
            query += f"&geom-column={MERCATOR}"
        return f"/collections/{COLLECTION}/tiles/WebMercatorQuad/{z}/{x}/{y}?{query}"


def create_view(engine: Engine) -> View:
    """Create the ``bench_grids`` view over the current grids.

    When ``grids`` stores a Web Mercator copy of its geometry (as geogrid cuts its tiles
    from), the view carries it too and tipg's tiles use it, so that neither server
    reprojects per request; items use ``geom`` (EPSG:4326) in both.
    """
    with engine.begin() as conn:
        mercator = bool(
            conn.execute(
                sa.text(
                    "SELECT EXISTS (SELECT 1 FROM information_schema.columns "
                    "WHERE table_name = 'grids' AND column_name = :c)"
                ),
                {"c": MERCATOR},
            ).scalar_one()
        )
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {VIEW}"))
        conn.execute(
            sa.text(VIEW_SQL.format(view=VIEW, mercator=f", f.{MERCATOR}" if mercator else ""))
        )
        grids = int(conn.execute(sa.text(f"SELECT count(*) FROM {VIEW}")).scalar_one())
    return View(grids, mercator)


def tipg_server(
    libpq_url: str, *, work_dir: Path, name: str = "tipg"
) -> AbstractContextManager[Server]:
    """tipg serving ``public.bench_grids`` of ``libpq_url`` with one uvicorn worker."""
    port = free_port()
    env = {
        "DATABASE_URL": libpq_url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": f'["{COLLECTION}"]',
        f"TIPG_TABLE_CONFIG__public_{VIEW}__PK": "code",
        f"TIPG_TABLE_CONFIG__public_{VIEW}__GEOMCOL": "geom",
        "TIPG_TILE_BUFFER": "64",
        "TIPG_MAX_FEATURES_PER_TILE": "20000",
        "TIPG_CATALOG_TTL": "0",
        "TIPG_ADD_TILES_VIEWER": "false",
    }
    argv = uvicorn_argv(PYTHON, "tipg.main:app", port)
    return serve(name, argv, port=port, env=env, ready_path="/healthz", work_dir=work_dir)


def items_path(limit: int, offset: int) -> str:
    """tipg's URL of one GeoJSON items page."""
    return f"/collections/{COLLECTION}/items?limit={limit}&offset={offset}&f=geojson"
