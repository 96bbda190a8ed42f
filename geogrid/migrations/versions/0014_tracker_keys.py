"""API keys of GPS terminals: the ``tracker`` role.

A sanitation vehicle's or crew's terminal posts its own fixes and nothing else. Its key has
the role ``tracker`` and, in ``supervisor_id``, the id of the tracker it is (a supervisor or a
sanitation tracker: the ``trackers`` view). Users cannot have this role.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The unnamed checks of migration 0013 are found by their definition.
_DROP_CHECKS = """
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'api_keys'::regclass AND contype = 'c'
               AND (pg_get_constraintdef(oid) LIKE '%role = ANY%'
                    OR pg_get_constraintdef(oid) LIKE '%supervisor_id IS NOT NULL%')
    LOOP
        EXECUTE format('ALTER TABLE api_keys DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
"""

UPGRADE = (
    _DROP_CHECKS
    + """
ALTER TABLE api_keys
    ADD CONSTRAINT api_keys_role_check
        CHECK (role IN ('admin', 'street_operator', 'supervisor', 'tracker', 'viewer')),
    ADD CONSTRAINT api_keys_tracker_check
        CHECK ((role IN ('supervisor', 'tracker')) = (supervisor_id IS NOT NULL));
"""
)

DOWNGRADE = (
    "DELETE FROM api_keys WHERE role = 'tracker';\n"
    + _DROP_CHECKS
    + """
ALTER TABLE api_keys
    ADD CONSTRAINT api_keys_role_check
        CHECK (role IN ('admin', 'street_operator', 'supervisor', 'viewer')),
    ADD CONSTRAINT api_keys_check1 CHECK ((role = 'supervisor') = (supervisor_id IS NOT NULL));
"""
)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
