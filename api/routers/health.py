"""Liveness and versions."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnDep
from geogrid import __version__
from geogrid.db.status import server_versions

router = APIRouter(tags=["service"])


@router.get("/health")
def health(conn: ConnDep) -> dict[str, str | None]:
    """Service status with the PostgreSQL, PostGIS and schema versions."""
    return {"status": "ok", "geogrid": __version__, **server_versions(conn)}
