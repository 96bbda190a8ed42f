"""Supervisors, their assigned grids and shifts, and GPS fixes (DOMAIN.md §5).

``fixes`` is partitioned by month on the fix time (~11 million rows a month at city scale);
partitions are created on demand when fixes of a new month arrive. The primary key
(district, supervisor, time) makes re-sent batches idempotent and serves "one supervisor, one
day"; a GiST index on the geometry serves "one grid, one period". Flagged fixes (inaccurate,
network-located, impossible speed) are kept and ignored by analytics.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE supervisors (
    district_code text NOT NULL,
    id text NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    name text NOT NULL,
    level text NOT NULL DEFAULT 'district' CHECK (level IN ('city', 'district')),
    device_id text,
    phone text,
    shift_start time NOT NULL DEFAULT '08:00',
    shift_end time NOT NULL DEFAULT '18:00',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    CHECK (shift_end > shift_start)
);
CREATE UNIQUE INDEX supervisors_device ON supervisors (device_id) WHERE device_id IS NOT NULL;

CREATE TABLE supervisor_grids (
    district_code text NOT NULL,
    supervisor_id text NOT NULL,
    grid_code text NOT NULL,
    valid_from date NOT NULL,
    valid_to date,
    PRIMARY KEY (district_code, supervisor_id, grid_code, valid_from),
    FOREIGN KEY (district_code, supervisor_id) REFERENCES supervisors ON DELETE CASCADE,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX supervisor_grids_grid ON supervisor_grids (grid_code);

CREATE TABLE supervisor_shifts (
    district_code text NOT NULL,
    supervisor_id text NOT NULL,
    day date NOT NULL,
    shift_start time NOT NULL,
    shift_end time NOT NULL,
    PRIMARY KEY (district_code, supervisor_id, day),
    FOREIGN KEY (district_code, supervisor_id) REFERENCES supervisors ON DELETE CASCADE,
    CHECK (shift_end > shift_start)
);

CREATE TABLE fixes (
    district_code text NOT NULL,
    supervisor_id text NOT NULL,
    fixed_at timestamptz NOT NULL,
    geom geometry(Point, 4326) NOT NULL,
    accuracy_m real,
    speed_mps real,
    heading real,
    source text,
    recorded_lon double precision,
    recorded_lat double precision,
    recorded_crs text,
    flags text[] NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, supervisor_id, fixed_at)
) PARTITION BY RANGE (fixed_at);
CREATE INDEX fixes_geom ON fixes USING gist (geom);
CREATE INDEX fixes_time ON fixes (fixed_at);
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    for table in ("supervisors", "supervisor_grids", "fixes"):
        op.execute(
            f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_layer_version('{table}')"
        )
        op.execute(f"INSERT INTO layer_versions (layer) VALUES ('{table}')")


def downgrade() -> None:
    op.execute(
        "DROP TABLE fixes, supervisor_shifts, supervisor_grids, supervisors; "
        "DELETE FROM layer_versions WHERE layer IN ('supervisors', 'supervisor_grids', 'fixes');"
    )
