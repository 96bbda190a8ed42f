"""SQL of responsibility rules: the best rule for many points at once, plans, conflicts, apply.

Dispatch is one statement however many cases: every point takes, in a lateral subquery, the
first of the rules whose area contains it (GiST index on the current rules' areas), whose scope
is its subclass, its major class or ``*`` and whose validity holds at its time, ordered by the
specificity of :mod:`geogrid.dispatch.rules`.
"""

from __future__ import annotations

from geogrid.dispatch.rules import POLYGON_OVERLAP_M2, ROAD_OVERLAP_M, ROAD_TOLERANCE_M

#: Columns of a rule, as stored in ``responsibility_rules`` and ``responsibility_plan_rules``.
RULE_COLUMNS = (
    "code",
    "case_type",
    "scope",
    "unit",
    "unit_kind",
    "area_kind",
    "area_name",
    "grid_codes",
    "geom",
    "buffer_m",
    "area",
    "area_m2",
    "priority",
    "valid_from",
    "valid_to",
    "note",
)
_COLS = ", ".join(RULE_COLUMNS)


def best_rule(rules: str, point: str, *, current: bool) -> str:
    """A lateral subquery: the most specific rule of ``rules`` matching the row ``point``.

    ``point`` is the alias of a relation with ``district_code``, ``geom`` (Point, 4326),
    ``case_type``, ``sub_class`` and ``at`` (timestamptz). ``current`` filters on
    ``ended_by IS NULL`` (the versioned table; it also lets the partial GiST index serve).
    """
    ended = "r.ended_by IS NULL AND " if current else ""
    return f"""
    SELECT r.code, r.unit, r.unit_kind FROM {rules} r
    WHERE {ended}r.district_code = {point}.district_code
      AND ST_Intersects(r.area, {point}.geom)
      AND r.scope IN ({point}.sub_class, left({point}.sub_class, 2), '*')
      AND (r.case_type IS NULL OR r.case_type = {point}.case_type)
      AND (r.valid_from IS NULL OR r.valid_from <= {point}.at)
      AND (r.valid_to IS NULL OR r.valid_to > {point}.at)
    ORDER BY r.scope_level DESC, (r.case_type IS NOT NULL) DESC, r.area_rank DESC,
             r.priority ASC NULLS LAST,
             CASE WHEN r.area_kind = 'road'
                  THEN ST_Distance(r.geom::geography, {point}.geom::geography, false) END
                 ASC NULLS LAST,
             r.area_m2, r.code
    LIMIT 1"""


#: Order of the points of a set-based dispatch: by subclass, then along a geohash curve, so that
#: consecutive points test the same rule areas and PostGIS reuses their detoasted, prepared
#: geometries (200,000 demo cases over 63 city rules: 6.4 s in table order, 3.4 s so).
NEAR_FIRST = "{p}.sub_class, ST_GeoHash({p}.geom, 8)"

DISPATCH_ONE = f"""
SELECT b.code FROM (
    SELECT d.code AS district_code, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom,
           CAST(:case_type AS text) AS case_type, CAST(:sub_class AS text) AS sub_class,
           CAST(:at AS timestamptz) AS at
    FROM districts d
    WHERE ST_Intersects(d.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
    ORDER BY d.code LIMIT 1
) p
CROSS JOIN LATERAL ({best_rule("responsibility_rules", "p", current=True)}) b
"""

RULE = f"""
SELECT {_COLS}, version, change_id FROM responsibility_rules
WHERE code = :code AND ended_by IS NULL
"""

CURRENT_RULES = f"""
SELECT {_COLS}, ST_AsGeoJSON(geom, 7) AS geometry, version, change_id, created_at
FROM responsibility_rules
WHERE ended_by IS NULL
  AND (CAST(:at AS timestamptz) IS NULL
       OR ((valid_from IS NULL OR valid_from <= :at) AND (valid_to IS NULL OR valid_to > :at)))
ORDER BY scope_level DESC, scope, area_rank DESC, priority NULLS LAST, code
"""

HISTORY = """
SELECT version, case_type, scope, unit, unit_kind, area_kind, area_name, grid_codes, buffer_m,
       priority, valid_from, valid_to, note, change_id, ended_by, created_at, ended_at,
       round(area_m2::numeric, 1) AS area_m2
FROM responsibility_rules WHERE code = :code ORDER BY version
"""

STAGE = """
DROP TABLE IF EXISTS rule_stage;
CREATE TEMP TABLE rule_stage (
    seq integer PRIMARY KEY, row_label text NOT NULL, code text, case_type text,
    scope text NOT NULL, scope_level smallint, unit text NOT NULL, unit_kind text NOT NULL,
    area_kind text NOT NULL, area_rank smallint, area_name text, grid_codes text[],
    geom geometry(Geometry, 4326), buffer_m double precision,
    area geometry(MultiPolygon, 4326), area_m2 double precision, priority integer,
    valid_from timestamptz, valid_to timestamptz, note text
) ON COMMIT DROP
"""

STAGE_ROW = """
INSERT INTO rule_stage (seq, row_label, code, case_type, scope, unit, unit_kind, area_kind,
    area_name, grid_codes, geom, buffer_m, priority, valid_from, valid_to, note)
VALUES (:seq, :row_label, :code, :case_type, :scope, :unit, :unit_kind, :area_kind,
    :area_name, :grid_codes, ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), :buffer_m,
    :priority, :valid_from, :valid_to, :note)
"""

# The area each kind resolves to, its size and the specificity columns.
RESOLVE = """
UPDATE rule_stage s SET
    scope_level = CASE length(scope) WHEN 5 THEN 3 WHEN 2 THEN 2 ELSE 1 END,
    area_rank = CASE area_kind WHEN 'road' THEN 3 WHEN 'polygon' THEN 2 ELSE 1 END,
    area = ST_Multi(ST_CollectionExtract(CASE s.area_kind
        WHEN 'polygon' THEN ST_MakeValid(s.geom)
        WHEN 'road' THEN ST_Buffer(s.geom::geography, s.buffer_m)::geometry
        ELSE (SELECT ST_Union(g.geom) FROM grids g
              WHERE g.valid_to IS NULL AND g.district_code = :d AND g.code = ANY(s.grid_codes))
    END, 3));
UPDATE rule_stage SET area_m2 = ST_Area(area::geography);
DROP TABLE IF EXISTS rule_current;
CREATE TEMP TABLE rule_current ON COMMIT DROP AS
SELECT * FROM responsibility_rules WHERE district_code = :d AND ended_by IS NULL;
CREATE INDEX ON rule_current (code);
ANALYZE rule_stage; ANALYZE rule_current
"""

_SAME_CONTENT = """
    s.case_type IS NOT DISTINCT FROM r.case_type AND s.scope = r.scope AND s.unit = r.unit
    AND s.unit_kind = r.unit_kind AND s.area_kind = r.area_kind
    AND s.area_name IS NOT DISTINCT FROM r.area_name
    AND s.grid_codes IS NOT DISTINCT FROM r.grid_codes
    AND s.buffer_m IS NOT DISTINCT FROM r.buffer_m AND s.priority IS NOT DISTINCT FROM r.priority
    AND s.valid_from IS NOT DISTINCT FROM r.valid_from
    AND s.valid_to IS NOT DISTINCT FROM r.valid_to AND s.note IS NOT DISTINCT FROM r.note
    AND NOT ({area_differs})
"""
_AREA_DIFFERS = """
    CASE WHEN ST_AsBinary(s.area) = ST_AsBinary(r.area) THEN false
         ELSE ST_HausdorffDistance(s.area, r.area) > 1e-6 END
"""

# A row without a code takes the code of an identical current rule (re-uploading a file
# without codes changes nothing), else the next unused R-number.
CODES = f"""
UPDATE rule_stage s SET code = m.code FROM (
    SELECT DISTINCT ON (r.code) r.code, s.seq FROM rule_stage s JOIN rule_current r
      ON {_SAME_CONTENT.format(area_differs=_AREA_DIFFERS)}
    WHERE s.code IS NULL AND NOT EXISTS (SELECT 1 FROM rule_stage t WHERE t.code = r.code)
    ORDER BY r.code, s.seq
) m WHERE s.seq = m.seq AND s.code IS NULL;
UPDATE rule_stage s SET code = 'R' || (n.base + n.k) FROM (
    SELECT seq, row_number() OVER (ORDER BY seq) AS k,
           (SELECT coalesce(max(substr(code, 2)::bigint), 0) FROM (
                SELECT code FROM responsibility_rules WHERE district_code = :d
                UNION ALL SELECT code FROM rule_stage) c
            WHERE code ~ '^R[0-9]{{1,15}}$') AS base
    FROM rule_stage WHERE code IS NULL
) n WHERE s.seq = n.seq
"""

_FIELDS_CHANGED = f"""to_jsonb(array_remove(ARRAY[
    CASE WHEN s.scope <> r.scope OR s.case_type IS DISTINCT FROM r.case_type
         THEN 'scope' END,
    CASE WHEN s.unit <> r.unit OR s.unit_kind <> r.unit_kind THEN 'unit' END,
    CASE WHEN s.area_kind <> r.area_kind OR s.grid_codes IS DISTINCT FROM r.grid_codes
              OR s.buffer_m IS DISTINCT FROM r.buffer_m OR {_AREA_DIFFERS} THEN 'area' END,
    CASE WHEN s.area_name IS DISTINCT FROM r.area_name THEN 'area_name' END,
    CASE WHEN s.priority IS DISTINCT FROM r.priority THEN 'priority' END,
    CASE WHEN s.valid_from IS DISTINCT FROM r.valid_from
              OR s.valid_to IS DISTINCT FROM r.valid_to THEN 'validity' END,
    CASE WHEN s.note IS DISTINCT FROM r.note THEN 'note' END], NULL))"""

_RULE_JSON = (
    "'scope', {a}.scope, 'case_type', {a}.case_type, 'unit', {a}.unit, "
    "'unit_kind', {a}.unit_kind, 'area_kind', {a}.area_kind, 'area_name', {a}.area_name"
)

CHANGES = f"""
INSERT INTO change_plan_changes (plan_id, seq, kind, old_codes, new_codes, details)
SELECT :p, row_number() OVER (ORDER BY kind_order, code), kind,
       CASE WHEN kind = 'added' THEN '{{}}'::text[] ELSE ARRAY[code] END,
       CASE WHEN kind = 'removed' THEN '{{}}'::text[] ELSE ARRAY[code] END, details
FROM (
    SELECT 1 AS kind_order, 'added' AS kind, s.code,
           jsonb_strip_nulls(jsonb_build_object('row', s.row_label,
               {_RULE_JSON.format(a="s")})) AS details
    FROM rule_stage s WHERE NOT EXISTS (SELECT 1 FROM rule_current r WHERE r.code = s.code)
    UNION ALL
    SELECT 2, 'changed', code, details FROM (
        SELECT s.code, jsonb_strip_nulls(jsonb_build_object('row', s.row_label,
                   {_RULE_JSON.format(a="s")}, 'changes', {_FIELDS_CHANGED},
                   'old_unit', r.unit, 'old_unit_kind', r.unit_kind)) AS details
        FROM rule_stage s JOIN rule_current r ON r.code = s.code
    ) c WHERE jsonb_array_length(details->'changes') > 0
    UNION ALL
    SELECT 3, 'removed', r.code, jsonb_strip_nulls(jsonb_build_object({_RULE_JSON.format(a="r")}))
    FROM rule_current r
    WHERE r.scope = ANY(:scope) AND NOT EXISTS (SELECT 1 FROM rule_stage s WHERE s.code = r.code)
) x
"""

STORE_PLAN_RULES = f"""
INSERT INTO responsibility_plan_rules (plan_id, district_code, row_label, {_COLS})
SELECT :p, :d, row_label, {_COLS} FROM rule_stage
"""

# The rule set the plan would leave: current rules it keeps and the versions it writes.
RESULT = f"""
DROP TABLE IF EXISTS rule_result;
CREATE TEMP TABLE rule_result ON COMMIT DROP AS
SELECT district_code, {_COLS}, scope_level, area_rank, false AS planned
FROM responsibility_rules r
WHERE r.district_code = :d AND r.ended_by IS NULL AND NOT EXISTS (
    SELECT 1 FROM change_plan_changes c
    WHERE c.plan_id = :p AND c.kind IN ('changed', 'removed') AND r.code = ANY(c.old_codes))
UNION ALL
SELECT district_code, {_COLS}, scope_level, area_rank, true
FROM responsibility_plan_rules pr
WHERE pr.plan_id = :p AND EXISTS (
    SELECT 1 FROM change_plan_changes c
    WHERE c.plan_id = :p AND c.kind IN ('added', 'changed') AND pr.code = ANY(c.new_codes));
CREATE INDEX ON rule_result USING gist (area);
ANALYZE rule_result
"""

CONFLICTS = f"""
SELECT a.code AS a_code, b.code AS b_code, a.scope, a.case_type, a.area_kind, a.priority,
       a.unit AS a_unit, b.unit AS b_unit,
       coalesce(pa.row_label, '') AS a_row, coalesce(pb.row_label, '') AS b_row,
       CASE a.area_kind
           WHEN 'grids' THEN array_to_string(ARRAY(
               SELECT unnest(a.grid_codes) INTERSECT SELECT unnest(b.grid_codes) ORDER BY 1), ', ')
           ELSE ST_AsText(ST_PointOnSurface(ST_Intersection(a.area, b.area)), 6) END AS place,
       ST_X(ST_PointOnSurface(ST_Intersection(a.area, b.area))) AS lon,
       ST_Y(ST_PointOnSurface(ST_Intersection(a.area, b.area))) AS lat
FROM rule_result a
JOIN rule_result b
  ON a.code < b.code AND a.area && b.area AND a.scope = b.scope
 AND a.case_type IS NOT DISTINCT FROM b.case_type AND a.area_kind = b.area_kind
 AND a.priority IS NOT DISTINCT FROM b.priority
 AND (a.unit <> b.unit OR a.unit_kind <> b.unit_kind)
 AND tstzrange(a.valid_from, a.valid_to) && tstzrange(b.valid_from, b.valid_to)
LEFT JOIN responsibility_plan_rules pa ON pa.plan_id = :p AND pa.code = a.code AND a.planned
LEFT JOIN responsibility_plan_rules pb ON pb.plan_id = :p AND pb.code = b.code AND b.planned
WHERE CASE a.area_kind
    WHEN 'grids' THEN a.grid_codes && b.grid_codes
    WHEN 'polygon' THEN ST_Area(ST_Intersection(a.area, b.area)::geography) > {POLYGON_OVERLAP_M2}
    ELSE ST_Length(ST_Intersection(
        a.geom, ST_Buffer(b.geom::geography, {ROAD_TOLERANCE_M})::geometry)::geography)
        > {ROAD_OVERLAP_M}
END
ORDER BY a.scope, a.code, b.code
"""

CLOSE = """
UPDATE responsibility_rules r SET ended_by = :p, ended_at = now()
FROM (SELECT DISTINCT unnest(old_codes) AS code FROM change_plan_changes
      WHERE plan_id = :p AND kind IN ('changed', 'removed')) x
WHERE r.district_code = :d AND r.code = x.code AND r.ended_by IS NULL
"""

INSERT_VERSIONS = f"""
INSERT INTO responsibility_rules (district_code, version, {_COLS}, change_id)
SELECT :d, coalesce(v.version, 0) + 1, {", ".join(f"pr.{c}" for c in RULE_COLUMNS)}, :p
FROM responsibility_plan_rules pr
JOIN (SELECT DISTINCT unnest(new_codes) AS code FROM change_plan_changes
      WHERE plan_id = :p AND kind IN ('added', 'changed')) x ON x.code = pr.code
LEFT JOIN (SELECT code, max(version) AS version FROM responsibility_rules
           WHERE district_code = :d GROUP BY code) v ON v.code = pr.code
WHERE pr.plan_id = :p
"""

DEFAULTS = """
DROP TABLE IF EXISTS dispatch_defaults;
CREATE TEMP TABLE dispatch_defaults (
    case_type text, sub_class text, department text, PRIMARY KEY (case_type, sub_class)
) ON COMMIT DROP
"""

# Open cases whose department a rule (or the catalogue fallback) chose, dispatched under the
# current rules and under the plan's; the ones whose unit differs.
REDISPATCH = f"""
DROP TABLE IF EXISTS redispatch_moves;
CREATE TEMP TABLE redispatch_moves ON COMMIT DROP AS
SELECT k.case_id, k.sub_class, k.department,
       cur.code AS from_rule, coalesce(cur.unit, dd.department) AS from_unit,
       new.code AS to_rule, coalesce(new.unit, dd.department) AS to_unit,
       coalesce(new.unit_kind, CASE WHEN dd.department IS NOT NULL THEN 'department' END)
           AS to_unit_kind
FROM (
    SELECT c.district_code, c.case_id, c.geom, c.case_type, c.sub_class, c.department,
           CAST(:at AS timestamptz) AS at
    FROM cases c
    WHERE c.district_code = :d AND c.closed_at IS NULL AND c.dispatch_rule IS NOT NULL
      AND c.geom IS NOT NULL
    ORDER BY {NEAR_FIRST.format(p="c")}
) k
LEFT JOIN LATERAL ({best_rule("responsibility_rules", "k", current=True)}) cur ON true
LEFT JOIN LATERAL ({best_rule("rule_result", "k", current=False)}) new ON true
LEFT JOIN dispatch_defaults dd ON dd.case_type = k.case_type AND dd.sub_class = k.sub_class
WHERE coalesce(cur.unit, dd.department) IS DISTINCT FROM coalesce(new.unit, dd.department)
"""

REDISPATCH_PAIRS = """
SELECT from_unit, to_unit, count(*) AS cases FROM redispatch_moves
GROUP BY from_unit, to_unit ORDER BY count(*) DESC, from_unit, to_unit
"""

REDISPATCH_LIST = """
SELECT case_id, sub_class, department, from_unit, from_rule, to_unit, to_rule, to_unit_kind
FROM redispatch_moves ORDER BY case_id LIMIT :n OFFSET :o
"""
