"""SQL of component plans: staging the file, classifying changes, applying them.

Set-based throughout, so that a census of 500,000 components plans in seconds: the file is
copied into a staging table, compared with the current inventory by code, and changes are
written to ``change_plan_changes`` with their details (moved distance, old and new owner,
status, attributes).
"""

from __future__ import annotations

from geogrid.components.upload import COLUMNS

#: Staged columns of a component file (after validation): its attributes, the mapped class
#: beside the recorded one, the file row and the geometry as hex WKB.
STAGED = ("row_number", *COLUMNS, "sub_class_recorded", "major_class", "wkb")
#: Attributes compared besides code, geometry, owner and status (each reported on its own).
OTHER = tuple(c for c in COLUMNS if c not in ("code", "owner", "status"))

STAGE = """
DROP TABLE IF EXISTS component_stage;
CREATE TEMP TABLE component_stage (
    row_number integer, code text, sub_class text, sub_class_recorded text, major_class text,
    name text, department text, owner text, maintainer text, status text, install_date date,
    change_date date, data_source text, photo_url text, note text, wkb text
) ON COMMIT DROP
"""

STORE_FEATURES = """
INSERT INTO change_plan_features (plan_id, layer, row_number, code, attrs, geom)
SELECT :p, 'components', row_number, code,
       jsonb_strip_nulls(jsonb_build_object(
           'sub_class', sub_class, 'sub_class_recorded', sub_class_recorded,
           'major_class', major_class, 'name', name, 'department', department, 'owner', owner,
           'maintainer', maintainer, 'status', status, 'install_date', install_date,
           'change_date', change_date, 'data_source', data_source, 'photo_url', photo_url,
           'note', note)),
       ST_SetSRID(ST_GeomFromWKB(decode(wkb, 'hex')), 4326)
FROM component_stage
"""

# The file's components as columns, and the current inventory in the plan's scope.
PLAN_VIEWS = """
DROP TABLE IF EXISTS plan_new, plan_old;
CREATE TEMP TABLE plan_new ON COMMIT DROP AS
SELECT f.code, f.row_number, f.geom, f.attrs->>'sub_class' AS sub_class,
       f.attrs->>'owner' AS owner, f.attrs->>'status' AS status, f.attrs
FROM change_plan_features f WHERE f.plan_id = :p AND f.layer = 'components';
CREATE INDEX ON plan_new (code);
CREATE TEMP TABLE plan_old ON COMMIT DROP AS
SELECT c.* FROM components c
WHERE c.district_code = :d AND c.valid_to IS NULL
  AND (c.sub_class = ANY(:scope) OR c.code IN (SELECT code FROM plan_new));
CREATE INDEX ON plan_old (code);
ANALYZE plan_new; ANALYZE plan_old
"""

# A removed code and an added one of the same subclass within 1 m: the component was recoded.
RECODED = """
DROP TABLE IF EXISTS plan_gone, plan_fresh, plan_recoded;
CREATE TEMP TABLE plan_gone ON COMMIT DROP AS
SELECT o.code, o.sub_class, o.geom FROM plan_old o
WHERE o.sub_class = ANY(:scope) AND NOT EXISTS (SELECT 1 FROM plan_new x WHERE x.code = o.code);
CREATE TEMP TABLE plan_fresh ON COMMIT DROP AS
SELECT n.code, n.sub_class, n.geom FROM plan_new n
WHERE NOT EXISTS (SELECT 1 FROM plan_old y WHERE y.code = n.code);
CREATE INDEX ON plan_fresh USING gist (geom);
ANALYZE plan_gone; ANALYZE plan_fresh;
CREATE TEMP TABLE plan_recoded ON COMMIT DROP AS
SELECT DISTINCT ON (new_code) old_code, new_code, moved_m FROM (
    SELECT DISTINCT ON (o.code) o.code AS old_code, n.code AS new_code,
           ST_Distance(o.geom::geography, n.geom::geography) AS moved_m
    FROM plan_gone o
    JOIN plan_fresh n ON n.geom && ST_Expand(o.geom, 0.0001) AND n.sub_class = o.sub_class
     AND ST_DWithin(o.geom::geography, n.geom::geography, :move_m)
    ORDER BY o.code, 3, n.code
) pairs ORDER BY new_code, moved_m, old_code
"""

_DIFFERS = " OR ".join(f"(n.attrs->>'{a}') IS DISTINCT FROM o.{a}::text" for a in OTHER)
_MOVED = (
    "CASE WHEN GeometryType(o.geom) = 'POINT' AND GeometryType(n.geom) = 'POINT' "
    "THEN ST_Distance(o.geom::geography, n.geom::geography) "
    "ELSE ST_HausdorffDistance(ST_Transform(o.geom, 3857), ST_Transform(n.geom, 3857)) "
    "* cos(radians(ST_Y(ST_Centroid(o.geom)))) END"
)

CHANGES = f"""
INSERT INTO change_plan_changes (plan_id, seq, kind, old_codes, new_codes, street_code,
    community_code, details)
SELECT :p, row_number() OVER (ORDER BY kind_order, coalesce(new_code, old_code)), kind,
       CASE WHEN old_code IS NULL THEN '{{}}'::text[] ELSE ARRAY[old_code] END,
       CASE WHEN new_code IS NULL THEN '{{}}'::text[] ELSE ARRAY[new_code] END,
       street_code, community_code, details
FROM (
    SELECT 1 AS kind_order, 'added' AS kind, NULL AS old_code, n.code AS new_code,
           NULL AS street_code, NULL AS community_code,
           jsonb_build_object('sub_class', n.sub_class, 'owner', n.owner, 'status', n.status,
                              'row', n.row_number) AS details
    FROM plan_new n
    WHERE NOT EXISTS (SELECT 1 FROM plan_old o WHERE o.code = n.code)
      AND NOT EXISTS (SELECT 1 FROM plan_recoded r WHERE r.new_code = n.code)
    UNION ALL
    SELECT 2, 'removed', o.code, NULL, o.street_code, o.community_code,
           jsonb_build_object('sub_class', o.sub_class, 'owner', o.owner, 'status', o.status)
    FROM plan_old o
    WHERE o.sub_class = ANY(:scope)
      AND NOT EXISTS (SELECT 1 FROM plan_new n WHERE n.code = o.code)
      AND NOT EXISTS (SELECT 1 FROM plan_recoded r WHERE r.old_code = o.code)
    UNION ALL
    SELECT 3, 'recoded', r.old_code, r.new_code, o.street_code, o.community_code,
           jsonb_build_object('sub_class', o.sub_class, 'moved_m', round(r.moved_m::numeric, 2),
                              'row', n.row_number)
    FROM plan_recoded r
    JOIN plan_old o ON o.code = r.old_code
    JOIN plan_new n ON n.code = r.new_code
    UNION ALL
    SELECT 4, CASE WHEN m.moved THEN 'moved' WHEN m.owner_changed THEN 'owner_changed'
                   WHEN m.status_changed THEN 'status_changed' ELSE 'changed' END,
           m.code, m.code, m.street_code, m.community_code,
           jsonb_strip_nulls(jsonb_build_object(
               'changes', to_jsonb(array_remove(ARRAY[
                   CASE WHEN m.moved THEN 'moved' END,
                   CASE WHEN m.owner_changed THEN 'owner_changed' END,
                   CASE WHEN m.status_changed THEN 'status_changed' END,
                   CASE WHEN m.other_changed THEN 'changed' END], NULL)),
               'moved_m', CASE WHEN m.moved THEN round(m.moved_m::numeric, 2) END,
               'old_owner', CASE WHEN m.owner_changed THEN m.old_owner END,
               'new_owner', CASE WHEN m.owner_changed THEN m.new_owner END,
               'old_status', CASE WHEN m.status_changed THEN m.old_status END,
               'new_status', CASE WHEN m.status_changed THEN m.new_status END,
               'row', m.row_number))
    FROM (
        SELECT n.code, n.row_number, o.street_code, o.community_code,
               {_MOVED} AS moved_m, {_MOVED} > :move_m AS moved,
               n.owner IS DISTINCT FROM o.owner AS owner_changed,
               n.status IS DISTINCT FROM o.status AS status_changed,
               ({_DIFFERS}) AS other_changed,
               o.owner AS old_owner, n.owner AS new_owner,
               o.status AS old_status, n.status AS new_status
        FROM plan_new n JOIN plan_old o ON o.code = n.code
    ) m
    WHERE m.moved OR m.owner_changed OR m.status_changed OR m.other_changed
) x
"""

MATCHED = "SELECT count(*) FROM plan_new n JOIN plan_old o ON o.code = n.code"

CLOSE = """
UPDATE components c SET valid_to = now(), ended_by = :p
FROM (SELECT DISTINCT unnest(old_codes) AS code FROM change_plan_changes WHERE plan_id = :p) x
WHERE c.district_code = :d AND c.code = x.code AND c.valid_to IS NULL
"""

INSERT_VERSIONS = """
INSERT INTO components (district_code, code, version, major_class, sub_class, name, department,
    owner, maintainer, status, install_date, change_date, data_source, photo_url, note,
    grid_code, community_code, street_code, geom, valid_from, change_id)
SELECT :d, f.code, coalesce(mv.version, 0) + 1,
       f.attrs->>'major_class', f.attrs->>'sub_class', f.attrs->>'name',
       f.attrs->>'department', f.attrs->>'owner', f.attrs->>'maintainer', f.attrs->>'status',
       (f.attrs->>'install_date')::date, (f.attrs->>'change_date')::date,
       f.attrs->>'data_source', f.attrs->>'photo_url', f.attrs->>'note',
       g.code, g.community_code, g.street_code, f.geom, now(), :p
FROM change_plan_features f
JOIN (SELECT DISTINCT unnest(new_codes) AS code FROM change_plan_changes WHERE plan_id = :p) x
  ON x.code = f.code
-- the versions so far, read once before inserting (a correlated subquery planned against an
-- empty table would scan the table it is filling, once per row)
LEFT JOIN (
    SELECT v.code, max(v.version) AS version FROM components v
    WHERE v.district_code = :d
      AND v.code IN (SELECT unnest(new_codes) FROM change_plan_changes WHERE plan_id = :p)
    GROUP BY v.code
) mv ON mv.code = f.code
LEFT JOIN LATERAL (
    SELECT code, community_code, street_code FROM grids
    WHERE valid_to IS NULL AND ST_Intersects(geom, ST_PointOnSurface(f.geom))
    ORDER BY code LIMIT 1
) g ON true
WHERE f.plan_id = :p AND f.layer = 'components'
"""

SEQUENCES = """
INSERT INTO component_sequences (district_code, sub_class, last_sequence)
SELECT :d, substr(code, 7, 5), max(substr(code, 12, 6)::integer)
FROM components WHERE district_code = :d AND change_id = :p AND length(code) = 17
GROUP BY 2
ON CONFLICT (district_code, sub_class) DO UPDATE
SET last_sequence = greatest(component_sequences.last_sequence, EXCLUDED.last_sequence)
"""

LAST_SEQUENCES = """
SELECT sub_class, max(seq) FROM (
    SELECT sub_class, last_sequence AS seq FROM component_sequences WHERE district_code = :d
    UNION ALL
    SELECT substr(code, 7, 5), max(substr(code, 12, 6)::integer) FROM components
    WHERE district_code = :d AND length(code) = 17 GROUP BY 1
) s GROUP BY sub_class
"""
