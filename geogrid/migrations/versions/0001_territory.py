"""Territory and unit grids: districts, streets, communities, roads, grids (versioned).

Every large table carries ``district_code`` (the distribution key should geogrid run on Citus)
and its primary key includes it. Versioned tables keep one row per version of a code, the
current one with ``valid_to IS NULL``. ``layer_versions`` is bumped by statement triggers on
every write, so tile ETags change the moment a layer's data changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AREA = "double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED"

UPGRADE = f"""
CREATE TABLE layer_versions (
    layer text PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_versions AS lv (layer, version, changed_at)
    VALUES (TG_ARGV[0], 1, clock_timestamp())
    ON CONFLICT (layer) DO UPDATE SET version = lv.version + 1, changed_at = clock_timestamp();
    RETURN NULL;
END $$;

CREATE TABLE districts (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{{6}}$'),
    name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    area_m2 {AREA},
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE streets (
    district_code text NOT NULL,
    code text NOT NULL CHECK (code ~ '^[0-9]{{9}}$'),
    version integer NOT NULL DEFAULT 1,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('街道', '镇', '乡')),
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    area_m2 {AREA},
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    PRIMARY KEY (district_code, code, version),
    CHECK (left(code, 6) = district_code),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX streets_current_code ON streets (district_code, code) WHERE valid_to IS NULL;
CREATE INDEX streets_current_geom ON streets USING gist (geom) WHERE valid_to IS NULL;

CREATE TABLE communities (
    district_code text NOT NULL,
    code text NOT NULL CHECK (code ~ '^[0-9]{{12}}$'),
    version integer NOT NULL DEFAULT 1,
    street_code text NOT NULL,
    name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    area_m2 {AREA},
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    PRIMARY KEY (district_code, code, version),
    CHECK (left(code, 9) = street_code),
    CHECK (left(code, 6) = district_code),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX communities_current_code
    ON communities (district_code, code) WHERE valid_to IS NULL;
CREATE INDEX communities_current_geom ON communities USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX communities_street ON communities (street_code) WHERE valid_to IS NULL;

CREATE TABLE grids (
    district_code text NOT NULL,
    code text NOT NULL CHECK (code ~ '^[0-9]{{14,15}}$'),
    version integer NOT NULL DEFAULT 1,
    community_code text NOT NULL,
    street_code text NOT NULL,
    grid_type text NOT NULL DEFAULT 'city' CHECK (grid_type IN ('city', 'rural', 'industrial')),
    name text,
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    area_m2 {AREA},
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    change_id bigint,
    PRIMARY KEY (district_code, code, version),
    CHECK (left(code, 12) = community_code),
    CHECK (left(code, 9) = street_code),
    CHECK (left(code, 6) = district_code),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX grids_current_code ON grids (district_code, code) WHERE valid_to IS NULL;
CREATE INDEX grids_current_geom ON grids USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX grids_current_community ON grids (community_code) WHERE valid_to IS NULL;
CREATE INDEX grids_current_street ON grids (street_code) WHERE valid_to IS NULL;
CREATE INDEX grids_history ON grids (code, valid_from);

CREATE TABLE roads (
    district_code text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    road_class text NOT NULL CHECK (road_class IN ('main', 'secondary', 'alley')),
    geom geometry(LineString, 4326) NOT NULL,
    length_m double precision GENERATED ALWAYS AS (ST_Length(geom::geography)) STORED,
    PRIMARY KEY (district_code, id)
);
CREATE INDEX roads_geom ON roads USING gist (geom);
"""

TRIGGERS = ["districts", "streets", "communities", "grids", "roads"]


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
        "DROP TABLE roads, grids, communities, streets, districts, layer_versions;"
        "DROP FUNCTION bump_layer_version();"
    )
