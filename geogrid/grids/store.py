"""SQL of the unit-grid tables: reading current and historical grids, writing versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geogrid.errors import NotFound

TERRITORY_LAYERS = ("communities", "grids", "streets")


def _frame(conn: Connection, sql: str, params: dict[str, Any]) -> gpd.GeoDataFrame:
    return gpd.read_postgis(sa.text(sql), conn, geom_col="geometry", params=params, crs=4326)


def current_grids(conn: Connection, community_codes: Sequence[str]) -> gpd.GeoDataFrame:
    """Current grids of the given communities (columns as in uploads, plus street_code)."""
    return _frame(
        conn,
        "SELECT code, community_code, street_code, grid_type, name, version, "
        "geom AS geometry FROM grids WHERE valid_to IS NULL AND community_code = ANY(:c) "
        "ORDER BY code",
        {"c": list(community_codes)},
    )


def current_communities(conn: Connection, codes: Sequence[str]) -> gpd.GeoDataFrame:
    """Current boundaries of the given communities, with their street's code and name."""
    return _frame(
        conn,
        "SELECT c.code, c.name, c.street_code, s.name AS street_name, c.geom AS geometry "
        "FROM communities c LEFT JOIN streets s ON s.code = c.street_code AND s.valid_to IS NULL "
        "WHERE c.valid_to IS NULL AND c.code = ANY(:c) ORDER BY c.code",
        {"c": list(codes)},
    )


def codes_in_use_elsewhere(
    conn: Connection, codes: Sequence[str], communities: Sequence[str]
) -> dict[str, str]:
    """Codes among ``codes`` that are current grids of communities not in ``communities``."""
    rows = conn.execute(
        sa.text(
            "SELECT code, community_code FROM grids WHERE valid_to IS NULL AND code = ANY(:codes) "
            "AND NOT (community_code = ANY(:comms))"
        ),
        {"codes": list(codes), "comms": list(communities)},
    ).all()
    return {str(r[0]): str(r[1]) for r in rows}


def retired_codes(conn: Connection, codes: Sequence[str]) -> set[str]:
    """Codes among ``codes`` that existed once and are no longer current (never reused)."""
    rows = conn.execute(
        sa.text(
            "SELECT code FROM grids WHERE code = ANY(:codes) GROUP BY code "
            "HAVING bool_and(valid_to IS NOT NULL)"
        ),
        {"codes": list(codes)},
    ).scalars()
    return {str(r) for r in rows}


def grids_at_version(
    conn: Connection, version: int, community_codes: Sequence[str]
) -> gpd.GeoDataFrame:
    """The grids of the given communities as they were right after version ``version``."""
    return _frame(
        conn,
        "SELECT code, community_code, street_code, grid_type, name, geom AS geometry "
        "FROM grids WHERE community_code = ANY(:c) "
        "AND coalesce(change_id, 0) <= :v AND (ended_by IS NULL OR ended_by > :v) ORDER BY code",
        {"c": list(community_codes), "v": version},
    )


def communities_changed_after(conn: Connection, version: int) -> list[str]:
    """Communities whose grids were written by any version after ``version``."""
    rows = conn.execute(
        sa.text(
            "SELECT DISTINCT community_code FROM grids WHERE change_id > :v OR ended_by > :v "
            "ORDER BY 1"
        ),
        {"v": version},
    ).scalars()
    return [str(r) for r in rows]


def applied_versions(conn: Connection) -> list[int]:
    """Ids of applied grid plans (the versions), oldest first; 0 is the initial state."""
    rows = conn.execute(
        sa.text(
            "SELECT id FROM change_plans WHERE kind = 'grids' AND status = 'applied' ORDER BY id"
        )
    ).scalars()
    return [0, *(int(r) for r in rows)]


def grid_history(conn: Connection, code: str) -> list[dict[str, Any]]:
    """Every version of grid ``code``, oldest first, with geometry as GeoJSON."""
    rows = (
        conn.execute(
            sa.text(
                "SELECT version, community_code, street_code, grid_type, name, "
                "round(area_m2::numeric, 1)::float8 AS area_m2, valid_from, valid_to, change_id, "
                "ended_by, ST_AsGeoJSON(geom, 7)::json AS geometry "
                "FROM grids WHERE code = :code ORDER BY version"
            ),
            {"code": code},
        )
        .mappings()
        .all()
    )
    if not rows:
        raise NotFound(f"There is no grid '{code}', current or historical.")
    return [
        {
            **{k: v for k, v in r.items() if k not in ("valid_from", "valid_to")},
            "valid_from": r["valid_from"].isoformat(),
            "valid_to": r["valid_to"].isoformat() if r["valid_to"] else None,
        }
        for r in rows
    ]
