"""Responsibility rules (责任规则) as versioned data, and the rule that dispatched each case.

- ``responsibility_rules``: one row per version of a rule code (``R12``). A rule names the
  responsible unit (处置部门 / 责任单位: a department or a sanitation company) of the cases of a
  subclass (5 digits), a major class (2 digits) or all (``*``), optionally of one case type,
  in an area: a set of unit grids (``grid_codes``), a polygon or road segments (``geom``, lines)
  with a buffer (``buffer_m``). ``area`` is the area every kind resolves to (the grids' union
  when planned, the polygon, the lines buffered in metres): dispatch tests one point against it.
  ``valid_from`` / ``valid_to`` bound when the rule holds (``valid_to`` exclusive; NULL open);
  ``priority`` (1 first) breaks ties between rules of equal specificity.
  Versions follow the plan mechanism of ``change_plans``: ``change_id`` is the plan that wrote
  the version, ``ended_by`` the plan that replaced or removed it (NULL: current).
- ``responsibility_plan_rules``: the rules of a pending plan, as they would be stored.
- ``cases.dispatch_rule``: the rule code that chose the case's department, ``catalogue`` when
  no rule matched and the catalogue's default department was used, NULL when the department
  came with the case (or the case was stored before this revision). The open ones are
  indexed: a re-dispatch dry run reads them, and only them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_RULE_COLUMNS = """
    code text NOT NULL CHECK (code ~ '^[0-9A-Za-z][0-9A-Za-z_.-]{0,31}$'),
    case_type text CHECK (case_type IN ('component', 'event')),
    scope text NOT NULL CHECK (scope ~ '^([0-9]{2}|[0-9]{5}|[*])$'),
    scope_level smallint GENERATED ALWAYS AS
        (CASE length(scope) WHEN 5 THEN 3 WHEN 2 THEN 2 ELSE 1 END) STORED,
    unit text NOT NULL CHECK (btrim(unit) <> ''),
    unit_kind text NOT NULL CHECK (unit_kind IN ('department', 'company')),
    area_kind text NOT NULL CHECK (area_kind IN ('grids', 'polygon', 'road')),
    area_rank smallint GENERATED ALWAYS AS
        (CASE area_kind WHEN 'road' THEN 3 WHEN 'polygon' THEN 2 ELSE 1 END) STORED,
    area_name text,
    grid_codes text[],
    geom geometry(Geometry, 4326),
    buffer_m double precision CHECK (buffer_m > 0),
    area geometry(MultiPolygon, 4326) NOT NULL,
    area_m2 double precision NOT NULL,
    priority integer CHECK (priority >= 1),
    valid_from timestamptz,
    valid_to timestamptz,
    note text,
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from),
    CHECK ((area_kind = 'grids') = (grid_codes IS NOT NULL)),
    CHECK ((area_kind = 'grids') = (geom IS NULL)),
    CHECK ((area_kind = 'road') = (buffer_m IS NOT NULL))
"""

UPGRADE = f"""
ALTER TABLE change_plans DROP CONSTRAINT change_plans_kind_check;
ALTER TABLE change_plans ADD CONSTRAINT change_plans_kind_check
    CHECK (kind IN ('grids', 'components', 'responsibility'));

CREATE TABLE responsibility_rules (
    district_code text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    {_RULE_COLUMNS},
    change_id bigint NOT NULL,
    ended_by bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    PRIMARY KEY (district_code, code, version)
);
CREATE UNIQUE INDEX responsibility_rules_current_code
    ON responsibility_rules (district_code, code) WHERE ended_by IS NULL;
CREATE INDEX responsibility_rules_current_area
    ON responsibility_rules USING gist (area) WHERE ended_by IS NULL;

CREATE TABLE responsibility_plan_rules (
    plan_id bigint NOT NULL REFERENCES change_plans (id) ON DELETE CASCADE,
    district_code text NOT NULL,
    row_label text NOT NULL,
    {_RULE_COLUMNS},
    PRIMARY KEY (plan_id, code)
);

ALTER TABLE cases ADD COLUMN dispatch_rule text;
CREATE INDEX cases_open_dispatched ON cases (district_code)
    WHERE closed_at IS NULL AND dispatch_rule IS NOT NULL;
"""

DOWNGRADE = """
DROP TABLE responsibility_plan_rules, responsibility_rules;
DELETE FROM layer_versions WHERE layer = 'responsibility_rules';
ALTER TABLE cases DROP COLUMN dispatch_rule;
DELETE FROM change_plans WHERE kind = 'responsibility';
ALTER TABLE change_plans DROP CONSTRAINT change_plans_kind_check;
ALTER TABLE change_plans ADD CONSTRAINT change_plans_kind_check
    CHECK (kind IN ('grids', 'components'));
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(
        "CREATE TRIGGER responsibility_rules_layer_version AFTER INSERT OR UPDATE OR DELETE "
        "OR TRUNCATE ON responsibility_rules FOR EACH STATEMENT "
        "EXECUTE FUNCTION bump_layer_version('responsibility_rules')"
    )
    op.execute("INSERT INTO layer_versions (layer) VALUES ('responsibility_rules')")


def downgrade() -> None:
    op.execute(DOWNGRADE)
