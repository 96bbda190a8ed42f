"""The case store for indicators (DOMAIN.md §3, §4).

- ``road_class``: the class of the road nearest to the case at registration; it decides how
  many cases at one place make them repeat cases (2 main, 3 secondary, 4 alleys).
- ``major_class_recorded``: the major class as delivered, beside the mapped current one.
- ``recorded_lon`` / ``recorded_lat`` / ``recorded_crs``: the coordinates as delivered when
  they were converted (GCJ-02 from a domestic map SDK), beside the stored EPSG:4326 point.
- ``created_at`` / ``updated_at``: when the row was first imported and last re-imported.
- Closure cannot precede registration, so the life of a case is a time range
  ``[registered_at, closed_at)``; a GiST index on that range answers "open at the cut-off"
  (累计未结案数) without reading every case since the accumulation start.
- ``grids_all_geom``: every grid version by geometry, to find the grid a case was
  registered in when the grid has been redrawn since.
- ``indicator_layers``: a period's indicators per grid, community or street, computed once
  per set of parameters and data versions, so that map tiles and pages of a choropleth join
  them instead of recomputing them per tile. Unlogged: it is a cache, rebuilt on demand.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE cases
    ADD COLUMN road_class text CHECK (road_class IN ('main', 'secondary', 'alley')),
    ADD COLUMN major_class_recorded text,
    ADD COLUMN recorded_lon double precision,
    ADD COLUMN recorded_lat double precision,
    ADD COLUMN recorded_crs text,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT cases_closed_after_registered
        CHECK (closed_at IS NULL OR registered_at IS NULL OR closed_at >= registered_at);
CREATE INDEX cases_open_range ON cases USING gist (tstzrange(registered_at, closed_at, '[)'))
    WHERE registered_at IS NOT NULL;
CREATE INDEX cases_sub_class ON cases (district_code, sub_class, registered_at);
CREATE UNLOGGED TABLE indicator_layers (
    key text NOT NULL,
    code text NOT NULL,
    props jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, code)
);
CREATE INDEX grids_all_geom ON grids USING gist (geom);
CREATE INDEX cases_newest ON cases (registered_at DESC NULLS LAST, case_id);
"""

DOWNGRADE = """
DROP TABLE indicator_layers;
DROP INDEX cases_open_range, cases_sub_class, cases_newest, grids_all_geom;
ALTER TABLE cases
    DROP CONSTRAINT cases_closed_after_registered,
    DROP COLUMN road_class,
    DROP COLUMN major_class_recorded,
    DROP COLUMN recorded_lon,
    DROP COLUMN recorded_lat,
    DROP COLUMN recorded_crs,
    DROP COLUMN created_at,
    DROP COLUMN updated_at;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
