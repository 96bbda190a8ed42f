"""Index fixes with BRIN on time and position instead of btree and GiST (DOMAIN.md §5).

The GiST index on the point and the btree on ``fixed_at`` cost the bulk ingest more than they
gave. Inserting a day of 360,000 fixes of 100 supervisors into a monthly partition that already
held five days (PostgreSQL 15, 2 cores): heap and primary key ~1.1 s; the GiST index added
~1.2 s, growing with the partition (87 MB for six days, more than the buffer cache by the end
of a month); the btree ~0.45 s; the two BRIN indexes below ~0.15 s together.

What the queries need (times from ``bench/patrol.py``, a partition holding 21 days):

- **One supervisor, one day**: the primary key (district, supervisor, time), a range scan
  (0.6 ms for 3,600 fixes). Queries should name the district to use it.
- **One day or period, every supervisor** (coverage, online rate): fixes arrive day after day,
  so a partition's pages are in time order and a BRIN on ``fixed_at`` (128-page ranges, a few
  kB a month) finds a day's pages; the bitmap heap scan then reads them in order (35 ms for a
  day among six, where the btree's index scan took 86 ms).
- **One grid, one period**: :func:`geogrid.patrol.fixes.store_fixes` writes a batch sorted by
  supervisor then time, so 8 pages (~500 fixes) hold about an hour of one supervisor's walk,
  whose extent is small. A BRIN on ``geom`` with 8-page ranges (~30 kB a day) finds a 100 m
  grid's fixes of a day in ~5 ms and of 21 days in ~70 ms (GiST: under 1 ms, at 1.2 s per day
  ingested).
- **The newest fix**: neither BRIN answers ``max(fixed_at)``; take the maximum over the
  supervisors of the primary key's last entry (one index probe per supervisor and partition).

A BRIN range is used only once summarised; until then it is read whole. VACUUM summarises, so
every partition is vacuumed after each 100,000 fixes inserted
(``autovacuum_vacuum_insert_threshold``, scale factor 0; new partitions get the same from
``ensure_partitions``), which also keeps the visibility map current for index-only scans of the
primary key. The time index also asks autovacuum to summarise each range as it fills
(``autosummarize``: ~45 requests a day); the position index does not, as its ~700 requests a
day would overflow autovacuum's queue of 256.

Indexes created on the partitioned table are created on every partition, existing or new.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VACUUM_AFTER = (
    "autovacuum_vacuum_insert_threshold = 100000, autovacuum_vacuum_insert_scale_factor = 0"
)

_EACH_PARTITION = """
DO $$
DECLARE part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'fixes'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s {action}', part);
    END LOOP;
END $$
"""


def upgrade() -> None:
    op.execute(
        "DROP INDEX fixes_geom; DROP INDEX fixes_time; "
        "CREATE INDEX fixes_time ON fixes USING brin (fixed_at) WITH (autosummarize = on); "
        "CREATE INDEX fixes_geom ON fixes USING brin (geom) WITH (pages_per_range = 8)"
    )
    op.execute(_EACH_PARTITION.format(action=f"SET ({VACUUM_AFTER})"))
    # per-day shifts change online and off-post figures: pages built on them must notice
    op.execute(
        "CREATE TRIGGER supervisor_shifts_layer_version AFTER INSERT OR UPDATE OR DELETE OR "
        "TRUNCATE ON supervisor_shifts FOR EACH STATEMENT "
        "EXECUTE FUNCTION bump_layer_version('supervisor_shifts'); "
        "INSERT INTO layer_versions (layer) VALUES ('supervisor_shifts')"
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER supervisor_shifts_layer_version ON supervisor_shifts; "
        "DELETE FROM layer_versions WHERE layer = 'supervisor_shifts'"
    )
    op.execute(
        "DROP INDEX fixes_geom; DROP INDEX fixes_time; "
        "CREATE INDEX fixes_geom ON fixes USING gist (geom); "
        "CREATE INDEX fixes_time ON fixes (fixed_at)"
    )
    op.execute(
        _EACH_PARTITION.format(
            action="RESET (autovacuum_vacuum_insert_threshold, "
            "autovacuum_vacuum_insert_scale_factor)"
        )
    )
