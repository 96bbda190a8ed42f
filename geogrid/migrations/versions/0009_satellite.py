"""Satellite change patches (图斑, DOMAIN.md §6): batches, patches, handling, evidence, imagery.

- ``patch_batches``: one vendor delivery (id like ``2022-05``).
- ``patches``: one change polygon; the grids it overlaps (largest overlap first, the first is
  its grid), community, street, department, the case it became (``cases.case_id``) and its
  due time. The vendor's image dates (前时相 / 后时相) are kept as delivered.
- ``patch_handling``: handling records (on site or by documents); ``patch_photos``: their
  evidence photos, stored in the database with the EXIF position and time read from them
  (photos are small and belong to the record's transaction: no file outlives a rolled-back
  record, and a backup of the database holds the evidence).
- ``patch_imagery``: the GeoTIFFs registered per batch and role (``reference`` before the
  change, ``before`` handling, ``after`` handling) with their band roles; only paths are
  stored, the pixels stay in the files and are read window by window.
- ``patch_verifications``: the latest verdict of each patch with every figure that decided it
  and the rules used.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE patch_batches (
    district_code text NOT NULL,
    id text NOT NULL CHECK (id ~ '^[0-9A-Za-z][0-9A-Za-z_.-]{0,15}$'),
    delivered_at timestamptz NOT NULL,
    dispatched_at timestamptz NOT NULL,
    vendor text,
    note text,
    file_name text NOT NULL,
    file_sha256 text NOT NULL,
    source_crs text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    CHECK (dispatched_at >= delivered_at)
);

CREATE TABLE patches (
    district_code text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    batch_id text NOT NULL,
    patch_code text NOT NULL CHECK (length(patch_code) BETWEEN 1 AND 40),
    change_type text NOT NULL
        CHECK (change_type IN ('building', 'dust_source', 'land_use', 'other')),
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED,
    declared_area_m2 double precision,
    before_date date,
    after_date date,
    grid_codes text[] NOT NULL CHECK (cardinality(grid_codes) >= 1),
    grid_code text NOT NULL,
    community_code text NOT NULL,
    street_code text NOT NULL,
    department text NOT NULL,
    sub_class text NOT NULL CHECK (sub_class ~ '^[0-9]{5}$'),
    case_id text NOT NULL,
    dispatched_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    note text,
    source_row integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    UNIQUE (district_code, batch_id, patch_code),
    UNIQUE (district_code, case_id),
    FOREIGN KEY (district_code, batch_id) REFERENCES patch_batches ON DELETE CASCADE,
    CHECK (grid_codes[1] = grid_code),
    CHECK (after_date IS NULL OR before_date IS NULL OR after_date >= before_date)
);
CREATE INDEX patches_geom ON patches USING gist (geom);
CREATE INDEX patches_batch ON patches (district_code, batch_id, id);
CREATE INDEX patches_street ON patches (street_code);

CREATE TABLE patch_handling (
    district_code text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    patch_id bigint NOT NULL,
    handling_type text NOT NULL CHECK (handling_type IN ('on_site', 'documents')),
    handler text NOT NULL CHECK (length(handler) BETWEEN 1 AND 100),
    handled_at timestamptz NOT NULL,
    closes boolean NOT NULL DEFAULT true,
    covered_area_m2 double precision CHECK (covered_area_m2 >= 0),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    FOREIGN KEY (district_code, patch_id) REFERENCES patches ON DELETE CASCADE
);
CREATE INDEX patch_handling_patch ON patch_handling (district_code, patch_id, handled_at);

CREATE TABLE patch_photos (
    district_code text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    patch_id bigint NOT NULL,
    handling_id bigint NOT NULL,
    file_name text NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes integer NOT NULL,
    width integer,
    height integer,
    content bytea NOT NULL,
    geom geometry(Point, 4326),
    taken_at timestamptz,
    taken_at_source text,
    exif jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    FOREIGN KEY (district_code, handling_id) REFERENCES patch_handling ON DELETE CASCADE,
    FOREIGN KEY (district_code, patch_id) REFERENCES patches ON DELETE CASCADE
);
CREATE INDEX patch_photos_patch ON patch_photos (district_code, patch_id);
CREATE INDEX patch_photos_geom ON patch_photos USING gist (geom);
CREATE INDEX patch_photos_sha256 ON patch_photos (sha256);

CREATE TABLE patch_imagery (
    district_code text NOT NULL,
    batch_id text NOT NULL,
    role text NOT NULL CHECK (role IN ('reference', 'before', 'after')),
    path text NOT NULL,
    bands jsonb NOT NULL,
    scale double precision NOT NULL CHECK (scale > 0),
    crs text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    band_count integer NOT NULL,
    dtype text NOT NULL,
    footprint geometry(Polygon, 4326) NOT NULL,
    acquired_on date,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, batch_id, role),
    FOREIGN KEY (district_code, batch_id) REFERENCES patch_batches ON DELETE CASCADE
);

CREATE TABLE patch_verifications (
    district_code text NOT NULL,
    patch_id bigint NOT NULL,
    verdict text NOT NULL CHECK (verdict IN
        ('verified', 'field_verified', 'not_verified', 'documents_only', 'inconclusive')),
    figures jsonb NOT NULL,
    rules jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, patch_id),
    FOREIGN KEY (district_code, patch_id) REFERENCES patches ON DELETE CASCADE
);
CREATE INDEX patch_verifications_verdict ON patch_verifications (verdict);
"""

TRIGGERS = ("patches", "patch_handling", "patch_verifications", "patch_imagery")


def upgrade() -> None:
    op.execute(UPGRADE)
    for table in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_layer_version('{table}')"
        )
        op.execute(f"INSERT INTO layer_versions (layer) VALUES ('{table}')")


def downgrade() -> None:
    op.execute(
        "DROP TABLE patch_verifications, patch_imagery, patch_photos, patch_handling, patches, "
        "patch_batches; DELETE FROM layer_versions WHERE layer IN "
        "('patches', 'patch_handling', 'patch_verifications', 'patch_imagery');"
    )
