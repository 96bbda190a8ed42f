"""Stored assessment runs (考核, DOMAIN.md §7): the run, its manual inputs, every scoring.

- ``assessment_runs``: one rule set scored for one period at one level. It keeps the rule
  set's text as loaded (a later edit of a preset or file does not change a stored run), the
  indicator values resolved from the data when the run was created (``inputs``: unit →
  indicator → value, and the units' names), the current result, and how often it was scored.
  ``units`` is the filter asked for (null: every unit of the level).
- ``assessment_inputs``: the current manual input (人工录入) of each unit and field (an item's
  key, ``key.role`` or a manual indicator), with who entered it and when.
- ``assessment_scorings``: every scoring of a run, the first one included: why (``created``,
  ``inputs``), the manual inputs it changed, each unit's total and the whole result. Entering
  manual inputs re-scores the run; the previous results stay here.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE assessment_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_set text NOT NULL,
    rule_set_version text NOT NULL,
    rule_set_title text NOT NULL,
    rules_text text NOT NULL,
    rules_format text NOT NULL DEFAULT 'yaml' CHECK (rules_format IN ('yaml', 'toml')),
    period text NOT NULL CHECK (period ~ '^[0-9]{4}(-[0-9]{2})?$'),
    level text NOT NULL
        CHECK (level IN ('district', 'street', 'community', 'grid', 'department')),
    units text[],
    status text NOT NULL CHECK (status IN ('pending', 'complete')),
    inputs jsonb NOT NULL,
    result jsonb NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    scored_at timestamptz NOT NULL DEFAULT now(),
    scorings integer NOT NULL DEFAULT 1 CHECK (scorings >= 1)
);
CREATE INDEX assessment_runs_created ON assessment_runs (created_at DESC);
CREATE INDEX assessment_runs_rule_set ON assessment_runs (rule_set, period);

CREATE TABLE assessment_inputs (
    run_id bigint NOT NULL REFERENCES assessment_runs ON DELETE CASCADE,
    unit text NOT NULL,
    field text NOT NULL,
    item text NOT NULL,
    value double precision NOT NULL,
    entered_by text NOT NULL,
    entered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, unit, field)
);

CREATE TABLE assessment_scorings (
    run_id bigint NOT NULL REFERENCES assessment_runs ON DELETE CASCADE,
    n integer NOT NULL CHECK (n >= 1),
    cause text NOT NULL CHECK (cause IN ('created', 'inputs')),
    changes jsonb NOT NULL DEFAULT '{}',
    totals jsonb NOT NULL,
    result jsonb NOT NULL,
    scored_by text NOT NULL,
    scored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, n)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE assessment_scorings, assessment_inputs, assessment_runs")
