"""The case store for indicators (DOMAIN.md §3, §4).

- ``road_class``: the class of the road nearest to the case at registration; it decides how
  many cases at one place make them repeat cases (2 main, 3 secondary, 4 alleys).
- ``major_class_recorded``: the major class as delivered, beside the mapped current one.
- ``created_at`` / ``updated_at``: when the row was first imported and last re-imported.
- Closure cannot precede registration, so the life of a case is a time range
  ``[registered_at, closed_at)``; a GiST index on that range answers "open at the cut-off"
  (累计未结案数) without reading every case since the accumulation start.

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
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT cases_closed_after_registered
        CHECK (closed_at IS NULL OR registered_at IS NULL OR closed_at >= registered_at);
CREATE INDEX cases_open_range ON cases USING gist (tstzrange(registered_at, closed_at, '[)'))
    WHERE registered_at IS NOT NULL;
CREATE INDEX cases_sub_class ON cases (district_code, sub_class, registered_at);
"""

DOWNGRADE = """
DROP INDEX cases_open_range, cases_sub_class;
ALTER TABLE cases
    DROP CONSTRAINT cases_closed_after_registered,
    DROP COLUMN road_class,
    DROP COLUMN major_class_recorded,
    DROP COLUMN created_at,
    DROP COLUMN updated_at;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
