"""The component inventory (部件, DOMAIN.md §2), versioned like the grids.

One row per version of a component identifier: the current one has ``valid_to IS NULL``;
an applied change plan closes the replaced rows (``valid_to``, ``ended_by``) and inserts new
versions (``change_id``). ``component_sequences`` remembers the highest sequence ever used
per district and class, so that a generated identifier is never reused.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE components (
    district_code text NOT NULL,
    code text NOT NULL CHECK (code ~ '^[0-9]{16,17}$'),
    version integer NOT NULL DEFAULT 1,
    major_class text NOT NULL CHECK (major_class ~ '^[0-9]{2}$'),
    sub_class text NOT NULL CHECK (sub_class ~ '^[0-9]{5}$'),
    name text NOT NULL,
    department text,
    owner text,
    maintainer text,
    status text NOT NULL DEFAULT 'intact'
        CHECK (status IN ('intact', 'damaged', 'missing', 'occupied', 'retired', 'removed')),
    install_date date,
    change_date date,
    data_source text,
    photo_url text,
    note text,
    grid_code text,
    community_code text,
    street_code text,
    geom geometry(Geometry, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    geom_3857 geometry(Geometry, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    change_id bigint,
    ended_by bigint,
    PRIMARY KEY (district_code, code, version),
    CHECK (left(code, 6) = district_code),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX components_current_code ON components (district_code, code)
    WHERE valid_to IS NULL;
CREATE INDEX components_current_geom ON components USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX components_current_geom_3857 ON components USING gist (geom_3857)
    WHERE valid_to IS NULL;
CREATE INDEX components_current_class ON components (sub_class) WHERE valid_to IS NULL;
CREATE INDEX components_current_grid ON components (grid_code) WHERE valid_to IS NULL;
CREATE INDEX components_current_street ON components (street_code) WHERE valid_to IS NULL;
CREATE INDEX components_history ON components (code, valid_from);
CREATE INDEX cases_component ON cases (component_code) WHERE component_code IS NOT NULL;
CREATE INDEX cases_open_component ON cases (district_code, component_code)
    WHERE component_code IS NOT NULL AND closed_at IS NULL;

CREATE TABLE component_sequences (
    district_code text NOT NULL,
    sub_class text NOT NULL,
    last_sequence integer NOT NULL,
    PRIMARY KEY (district_code, sub_class)
);

ALTER TABLE change_plan_changes ADD COLUMN details jsonb;
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(
        "CREATE TRIGGER components_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON components FOR EACH STATEMENT EXECUTE FUNCTION bump_layer_version('components')"
    )
    op.execute("INSERT INTO layer_versions (layer) VALUES ('components')")


def downgrade() -> None:
    op.execute(
        "DROP TABLE components, component_sequences; "
        "DELETE FROM layer_versions WHERE layer = 'components'; "
        "DROP INDEX cases_component, cases_open_component; "
        "ALTER TABLE change_plan_changes DROP COLUMN details;"
    )
