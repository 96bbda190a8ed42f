"""Store every layer's geometry in Web Mercator (EPSG:3857) beside EPSG:4326.

Vector tiles are cut in EPSG:3857; reprojecting each grid on every tile request cost more
than the rest of the tile query. A generated column keeps the projected copy exact and
current, and its own spatial index serves the tile envelope directly.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("grids", "communities", "streets")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN geom_3857 geometry(MultiPolygon, 3857) "
            "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED"
        )
        op.execute(
            f"CREATE INDEX {table}_current_geom_3857 ON {table} USING gist (geom_3857) "
            "WHERE valid_to IS NULL"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN geom_3857")
