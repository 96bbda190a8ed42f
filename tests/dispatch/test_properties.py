"""Properties of dispatch over random rule sets on the hand-made territory (real PostGIS).

Rules are written straight into ``responsibility_rules`` inside a transaction that is rolled
back after each example. Areas and points are drawn so that every point lies at least 3 m from
every area's border, where metres in EPSG:4543 and PostGIS's geography agree to centimetres.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Connection, Engine

from geogrid.catalogue import load_catalogue
from geogrid.dispatch import dispatch
from geogrid.dispatch.rules import AREA_KINDS, scope_level, specificity
from tests.dispatch.rules_data import ll
from tests.territory import GRIDS, X0, Y0

CATALOGUE = load_catalogue()
UNITS = ("甲", "乙", "丙", "丁")
SCOPES = ("06010", "06", "*")


@dataclass(frozen=True)
class R:
    code: str
    scope: str
    area_kind: str
    area: BaseGeometry  # territory metres
    priority: int | None
    unit: str
    grids: tuple[str, ...] = ()
    line: LineString | None = None
    buffer_m: float | None = None


def _grid_box(code: str) -> BaseGeometry:
    col, row, _ = GRIDS[code]
    return box(col * 100, row * 100, col * 100 + 100, row * 100 + 100)


@st.composite
def rules(draw: st.DrawFn, code: str, scopes: tuple[str, ...] = SCOPES) -> R:
    scope = draw(st.sampled_from(scopes))
    kind = draw(st.sampled_from(AREA_KINDS))
    priority = draw(st.one_of(st.none(), st.integers(1, 3)))
    unit = draw(st.sampled_from(UNITS))
    if kind == "grids":
        grids = tuple(sorted(draw(st.sets(st.sampled_from(sorted(GRIDS)), min_size=1))))
        area = _grid_box(grids[0]).union(_grid_box(grids[-1]))
        for g in grids:
            area = area.union(_grid_box(g))
        return R(code, scope, kind, area, priority, unit, grids=grids)
    if kind == "polygon":
        x0, x1 = sorted(draw(st.lists(st.integers(0, 40), min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(st.integers(0, 20), min_size=2, max_size=2, unique=True)))
        return R(code, scope, kind, box(x0 * 10, y0 * 10, x1 * 10, y1 * 10), priority, unit)
    y = draw(st.integers(1, 19)) * 10
    a, b = sorted(draw(st.lists(st.integers(0, 40), min_size=2, max_size=2, unique=True)))
    line = LineString([(a * 10, y), (b * 10, y)])
    buffer_m = float(draw(st.sampled_from((5, 10, 20))))
    return R(code, scope, kind, line.buffer(buffer_m), priority, unit, line=line, buffer_m=buffer_m)


points = (
    st.tuples(st.integers(0, 39), st.integers(0, 19))
    .map(lambda p: (p[0] * 10 + 3, p[1] * 10 + 3))
    .filter(lambda p: p[1] > 100 or p[0] < 200)
)  # inside the territory's grids


def _insert(conn: Connection, rule: R) -> None:
    metres = "ST_Transform(ST_SetSRID(ST_Translate(ST_GeomFromText(:wkt), :x0, :y0), 4543), 4326)"
    area = {
        "grids": "(SELECT ST_Multi(ST_Union(geom)) FROM grids WHERE code = ANY(:grids))",
        "polygon": f"ST_Multi({metres})",
        "road": f"ST_Multi(ST_Buffer({metres}::geography, :buffer)::geometry)",
    }[rule.area_kind]
    geom = {"grids": "NULL", "polygon": metres, "road": metres}[rule.area_kind]
    shape = rule.line if rule.line is not None else rule.area
    conn.execute(
        sa.text(
            "INSERT INTO responsibility_rules (district_code, code, case_type, scope, unit, "
            "unit_kind, area_kind, grid_codes, geom, buffer_m, area, area_m2, priority, "
            f"change_id) SELECT '530114', :code, :type, :scope, :unit, 'department', :kind, "
            f":grid_codes, {geom}, :buffer, a, ST_Area(a::geography), :priority, 1 "
            f"FROM (SELECT {area} AS a) x"
        ),
        {
            "code": rule.code,
            "type": None if rule.scope == "*" else "event",
            "scope": rule.scope,
            "unit": rule.unit,
            "kind": rule.area_kind,
            "grids": list(rule.grids),
            "grid_codes": list(rule.grids) if rule.area_kind == "grids" else None,
            "wkt": shape.wkt,
            "x0": X0,
            "y0": Y0,
            "buffer": rule.buffer_m,
            "priority": rule.priority,
        },
    )


def _dispatch(conn: Connection, point: tuple[float, float]) -> str | None:
    return dispatch(conn, *ll(*point), "06010", catalogue=CATALOGUE).rule_id


def _key(rule: R, point: tuple[float, float]) -> tuple[float, ...]:
    """The documented order (geogrid.dispatch.rules), most specific first."""
    distance = rule.line.distance(Point(point)) if rule.line is not None else math.inf
    case_type = None if rule.scope == "*" else "event"
    steps = specificity(rule.scope, case_type, rule.area_kind, rule.priority)
    return (*steps, distance, rule.area.area)


@pytest.fixture
def conn(territory_engine: Engine) -> Iterator[Connection]:
    with territory_engine.connect() as c:
        yield c


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), point=points)
def test_sql_dispatch_follows_the_documented_order(
    conn: Connection, data: st.DataObject, point: tuple[float, float]
) -> None:
    drawn = [data.draw(rules(f"R{i}")) for i in range(data.draw(st.integers(1, 6)))]
    matching = sorted(
        (r for r in drawn if r.area.contains(Point(point))), key=lambda r: (_key(r, point), r.code)
    )
    if len(matching) > 1:
        a, b = _key(matching[0], point), _key(matching[1], point)
        close = a[:4] == b[:4] and abs(a[4] - b[4]) < 0.5 if a[4] != math.inf else a[:5] == b[:5]
        assume(not (close and abs(a[5] - b[5]) < max(1.0, 1e-3 * a[5])))  # a geodesic near-tie
    with conn.begin() as tx:
        for rule in drawn:
            _insert(conn, rule)
        assert _dispatch(conn, point) == (matching[0].code if matching else None)
        tx.rollback()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), point=points)
def test_a_less_specific_rule_never_changes_a_more_specific_decision(
    conn: Connection, data: st.DataObject, point: tuple[float, float]
) -> None:
    drawn = [data.draw(rules(f"R{i}")) for i in range(data.draw(st.integers(1, 5)))]
    with conn.begin() as tx:
        for rule in drawn:
            _insert(conn, rule)
        before = _dispatch(conn, point)
        winner = next((r for r in drawn if r.code == before), None)
        assume(winner is not None and winner.scope != "*")
        assert winner is not None
        wider = tuple(s for s in SCOPES if scope_level(s) < scope_level(winner.scope))
        extra = data.draw(rules("X", wider))
        _insert(conn, extra)
        assert _dispatch(conn, point) == before
        tx.rollback()
