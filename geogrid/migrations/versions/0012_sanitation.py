"""Sanitation companies (环卫公司), their areas, road segments, vehicles and crews (issue 10).

- ``sanitation_companies``: a company under contract (``contract_from`` .. ``contract_to``,
  both days included; NULL end: open). ``name`` is the responsible unit that responsibility
  rules of unit kind ``company`` name, so it is what dispatch writes into ``cases.department``.
- ``sanitation_areas``: a company's cleaning area (保洁责任区, a polygon) and its service
  level: the sweeps a day required on main roads, secondary roads and alleys.
- ``sanitation_segments``: the road segments of an area (路段, lines between crossings), with
  their road class and, optionally, a number of sweeps a day that overrides the area's.
- ``sanitation_trackers``: vehicles (sweeper 扫路车, washer 洗扫/冲洗车, garbage truck 垃圾
  清运车) and crews (保洁班组) of a company, each with the device that sends its fixes.

**Tracks through the supervisors' ingest.** Vehicles and crews send fixes to the same
``POST /tracks`` and land in the same ``fixes`` table, keyed on the tracker's id in the
``supervisor_id`` column: the table and :func:`geogrid.patrol.fixes.store_fixes` are unchanged.
Their ids and devices therefore share one name space with the supervisors'; two triggers keep
an id or device from being both a supervisor's and a tracker's. The view ``trackers`` lists
every id that may send fixes (supervisors and sanitation trackers); the ingest reads it. Patrol
analytics join ``supervisors`` and so never see vehicle fixes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = "CHECK (id ~ '^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$')"

UPGRADE = f"""
CREATE TABLE sanitation_companies (
    district_code text NOT NULL,
    id text NOT NULL {_ID},
    name text NOT NULL CHECK (btrim(name) <> ''),
    contract_from date NOT NULL,
    contract_to date,
    contact text,
    phone text,
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    UNIQUE (district_code, name),
    CHECK (contract_to IS NULL OR contract_to >= contract_from)
);

CREATE TABLE sanitation_areas (
    district_code text NOT NULL,
    id text NOT NULL {_ID},
    company_id text NOT NULL,
    name text NOT NULL,
    sweeps_main smallint NOT NULL DEFAULT 2 CHECK (sweeps_main BETWEEN 0 AND 20),
    sweeps_secondary smallint NOT NULL DEFAULT 1 CHECK (sweeps_secondary BETWEEN 0 AND 20),
    sweeps_alley smallint NOT NULL DEFAULT 1 CHECK (sweeps_alley BETWEEN 0 AND 20),
    geom geometry(MultiPolygon, 4326) NOT NULL,
    area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom::geography)) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    FOREIGN KEY (district_code, company_id) REFERENCES sanitation_companies ON DELETE CASCADE
);
CREATE INDEX sanitation_areas_geom ON sanitation_areas USING gist (geom);

CREATE TABLE sanitation_segments (
    district_code text NOT NULL,
    id text NOT NULL {_ID},
    area_id text NOT NULL,
    road_name text,
    road_class text NOT NULL CHECK (road_class IN ('main', 'secondary', 'alley')),
    sweeps smallint CHECK (sweeps BETWEEN 0 AND 20),
    geom geometry(LineString, 4326) NOT NULL,
    length_m double precision GENERATED ALWAYS AS (ST_Length(geom::geography)) STORED,
    PRIMARY KEY (district_code, id),
    FOREIGN KEY (district_code, area_id) REFERENCES sanitation_areas ON DELETE CASCADE
);
CREATE INDEX sanitation_segments_geom ON sanitation_segments USING gist (geom);
CREATE INDEX sanitation_segments_area ON sanitation_segments (district_code, area_id);

CREATE TABLE sanitation_trackers (
    district_code text NOT NULL,
    id text NOT NULL {_ID},
    company_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('sweeper', 'washer', 'garbage_truck', 'crew')),
    name text NOT NULL CHECK (btrim(name) <> ''),
    device_id text,
    members smallint CHECK (members > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (district_code, id),
    FOREIGN KEY (district_code, company_id) REFERENCES sanitation_companies ON DELETE CASCADE
);
CREATE UNIQUE INDEX sanitation_trackers_device ON sanitation_trackers (device_id)
    WHERE device_id IS NOT NULL;

CREATE VIEW trackers AS
    SELECT district_code, id, device_id, 'supervisor'::text AS kind, NULL::text AS company_id
    FROM supervisors
    UNION ALL
    SELECT district_code, id, device_id, kind, company_id FROM sanitation_trackers;

CREATE FUNCTION tracker_ids_unique() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken boolean;
BEGIN
    IF TG_TABLE_NAME = 'supervisors' THEN
        SELECT EXISTS (SELECT 1 FROM sanitation_trackers t
                       WHERE (t.district_code = NEW.district_code AND t.id = NEW.id)
                          OR (NEW.device_id IS NOT NULL AND t.device_id = NEW.device_id))
        INTO taken;
    ELSE
        SELECT EXISTS (SELECT 1 FROM supervisors s
                       WHERE (s.district_code = NEW.district_code AND s.id = NEW.id)
                          OR (NEW.device_id IS NOT NULL AND s.device_id = NEW.device_id))
        INTO taken;
    END IF;
    IF taken THEN
        RAISE EXCEPTION 'tracker id % or device % is already taken', NEW.id, NEW.device_id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER supervisors_tracker_ids BEFORE INSERT OR UPDATE OF id, device_id ON supervisors
    FOR EACH ROW EXECUTE FUNCTION tracker_ids_unique();
CREATE TRIGGER sanitation_trackers_ids BEFORE INSERT OR UPDATE OF id, device_id
    ON sanitation_trackers FOR EACH ROW EXECUTE FUNCTION tracker_ids_unique();
"""

TABLES = (
    "sanitation_companies",
    "sanitation_areas",
    "sanitation_segments",
    "sanitation_trackers",
)


def upgrade() -> None:
    op.execute(UPGRADE)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_layer_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_layer_version('{table}')"
        )
        op.execute(f"INSERT INTO layer_versions (layer) VALUES ('{table}')")


def downgrade() -> None:
    names = ", ".join(f"'{t}'" for t in TABLES)
    op.execute(
        "DROP TRIGGER supervisors_tracker_ids ON supervisors; "
        "DROP VIEW trackers; "
        "DROP TABLE sanitation_trackers, sanitation_segments, sanitation_areas, "
        "sanitation_companies; "
        "DROP FUNCTION tracker_ids_unique(); "
        f"DELETE FROM layer_versions WHERE layer IN ({names})"
    )
