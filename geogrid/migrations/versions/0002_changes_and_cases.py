"""The update mechanism (plan → review → apply, versioned history) and the cases table.

A change plan is computed from an uploaded file against the layer versions current at the
time; applying it closes the old rows (``valid_to``, ``ended_by``) and inserts new versions
(``change_id``), so the state after any applied plan can be rebuilt: rows with
``change_id <= V`` (or none) and ``ended_by`` null or ``> V``.

Cases (DOMAIN.md §3) keep the grid, community and street they were registered in and carry the
current ones, which an applied grid update re-assigns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE grids ADD COLUMN ended_by bigint;
ALTER TABLE communities ADD COLUMN change_id bigint, ADD COLUMN ended_by bigint;
ALTER TABLE streets ADD COLUMN change_id bigint, ADD COLUMN ended_by bigint;

CREATE TABLE change_plans (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    district_code text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('grids', 'components')),
    file_name text NOT NULL,
    file_sha256 text NOT NULL,
    source_crs text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    base_versions jsonb NOT NULL,
    effective_from timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'applied', 'rejected', 'stale')),
    decided_by text,
    decided_at timestamptz,
    restores bigint,
    summary jsonb NOT NULL DEFAULT '{}',
    warnings jsonb NOT NULL DEFAULT '[]',
    fixes jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX change_plans_kind_status ON change_plans (kind, status, id);

CREATE TABLE change_plan_features (
    plan_id bigint NOT NULL REFERENCES change_plans (id) ON DELETE CASCADE,
    layer text NOT NULL CHECK (layer IN ('grids', 'communities', 'streets', 'components')),
    row_number integer NOT NULL,
    code text NOT NULL,
    attrs jsonb NOT NULL DEFAULT '{}',
    geom geometry(Geometry, 4326) NOT NULL,
    PRIMARY KEY (plan_id, layer, code)
);
CREATE INDEX change_plan_features_geom ON change_plan_features USING gist (geom);

CREATE TABLE change_plan_changes (
    plan_id bigint NOT NULL REFERENCES change_plans (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    kind text NOT NULL,
    old_codes text[] NOT NULL,
    new_codes text[] NOT NULL,
    iou double precision,
    street_code text,
    community_code text,
    old_area_m2 double precision,
    new_area_m2 double precision,
    PRIMARY KEY (plan_id, seq)
);

CREATE TABLE cases (
    district_code text NOT NULL,
    case_id text NOT NULL,
    source text NOT NULL CHECK (source IN ('city_supervisor', 'district_supervisor', 'hotline',
        'public', 'satellite', 'grid_worker', 'community')),
    platform text NOT NULL DEFAULT 'district' CHECK (platform IN ('city', 'district')),
    case_type text NOT NULL CHECK (case_type IN ('component', 'event')),
    major_class text NOT NULL CHECK (major_class ~ '^[0-9]{2}$'),
    sub_class text NOT NULL CHECK (sub_class ~ '^[0-9]{5}$'),
    sub_class_recorded text,
    description text,
    urgency text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    geom geometry(Point, 4326),
    grid_code text,
    community_code text,
    street_code text,
    current_grid_code text,
    current_community_code text,
    current_street_code text,
    department text,
    component_code text,
    reported_at timestamptz,
    registered_at timestamptz,
    dispatched_at timestamptz,
    handled_at timestamptz,
    verified_at timestamptz,
    closed_at timestamptz,
    due_at timestamptz,
    rework_count integer NOT NULL DEFAULT 0 CHECK (rework_count >= 0),
    extended boolean NOT NULL DEFAULT false,
    postponed boolean NOT NULL DEFAULT false,
    returned_count integer NOT NULL DEFAULT 0 CHECK (returned_count >= 0),
    satisfaction text CHECK (satisfaction IN ('满意', '基本满意', '不满意')),
    PRIMARY KEY (district_code, case_id)
);
CREATE INDEX cases_geom ON cases USING gist (geom);
CREATE INDEX cases_registered ON cases (district_code, registered_at);
CREATE INDEX cases_current_grid ON cases (current_grid_code);
CREATE INDEX cases_current_community ON cases (current_community_code);

CREATE TABLE change_plan_impact (
    plan_id bigint NOT NULL REFERENCES change_plans (id) ON DELETE CASCADE,
    district_code text NOT NULL,
    case_id text NOT NULL,
    old_grid_code text,
    old_community_code text,
    old_street_code text,
    new_grid_code text,
    new_community_code text,
    new_street_code text,
    PRIMARY KEY (plan_id, district_code, case_id)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(
        "CREATE TRIGGER cases_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON cases FOR EACH STATEMENT EXECUTE FUNCTION bump_layer_version('cases')"
    )
    op.execute("INSERT INTO layer_versions (layer) VALUES ('cases')")


def downgrade() -> None:
    op.execute(
        "DROP TABLE change_plan_impact, cases, change_plan_changes, change_plan_features, "
        "change_plans; DELETE FROM layer_versions WHERE layer = 'cases';"
        "ALTER TABLE grids DROP COLUMN ended_by;"
        "ALTER TABLE communities DROP COLUMN change_id, DROP COLUMN ended_by;"
        "ALTER TABLE streets DROP COLUMN change_id, DROP COLUMN ended_by;"
    )
