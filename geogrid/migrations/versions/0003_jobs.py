"""Background jobs: long work (a district-wide plan, an apply, a large import) runs apart
from the request that started it; the request returns the job id and the client polls it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE jobs (
    id text PRIMARY KEY,
    kind text NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    stage text NOT NULL DEFAULT '',
    progress double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    result jsonb,
    error jsonb
);
CREATE INDEX jobs_created ON jobs (created_at DESC);
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE jobs")
