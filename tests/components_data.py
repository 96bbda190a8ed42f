"""Hand-made components (and component cases) on the hand-made territory (tests/territory.py).

Geometries are drawn in metres inside a grid of the territory (EPSG:4543) and stored in
EPSG:4326 with plain SQL, so every component lies where the test says it does::

    A1-1 530114001001001   lamp 01037 #1, lamp 01037 #2, bin 03005 #1 (points)
    A1-2 530114001001002   rail 02017 #1 (line, damaged); an old version of lamp 01037 #2
    A2-1 530114001002001   green 04013 #1 (polygon, owner 区园林绿化局)
    B1-1 530114002001001   lamp 01037 #3 (point, damaged, owner 云南电网), bin 03005 #2 (missing)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.components.rules import make_component_code
from tests.territory import DISTRICT, GRIDS, X0, Y0

A11, A12, A21 = "530114001001001", "530114001001002", "530114001002001"
B11 = "530114002001001"
LAMP, BIN, RAIL, GREEN = "01037", "03005", "02017", "04013"


def code(sub_class: str, sequence: int) -> str:
    """The 17-digit identifier of the ``sequence``-th component of ``sub_class`` in 530114."""
    return make_component_code(DISTRICT, sub_class, sequence)


@dataclass(frozen=True)
class Component:
    """One hand-made component: class, sequence, grid and shape ``point``/``line``/``polygon``.

    ``at`` is metres from the grid's south-west corner (the point, the line's start, the
    polygon's south-west corner); lines run 60 m east, polygons are 40 m squares.
    """

    sub_class: str
    sequence: int
    grid: str
    shape: str = "point"
    at: tuple[float, float] = (50.0, 50.0)
    name: str = "部件"
    status: str = "intact"
    owner: str | None = None
    fields: Mapping[str, object] = field(default_factory=dict)
    valid_to: datetime | None = None

    @property
    def code(self) -> str:
        return code(self.sub_class, self.sequence)

    def wkt(self) -> str:
        """The geometry in EPSG:4543 metres."""
        col, row, _ = GRIDS[self.grid]
        x, y = X0 + col * 100 + self.at[0], Y0 + row * 100 + self.at[1]
        if self.shape == "point":
            return f"POINT({x} {y})"
        if self.shape == "line":
            return f"LINESTRING({x} {y},{x + 60} {y})"
        ring = f"{x} {y},{x + 40} {y},{x + 40} {y + 40},{x} {y + 40},{x} {y}"
        return f"POLYGON(({ring}))"


SAMPLE: tuple[Component, ...] = (
    Component(LAMP, 1, A11, at=(20, 20), name="路灯", owner="区城市管理局"),
    Component(LAMP, 2, A11, at=(40, 60), name="路灯", owner="区城市管理局"),
    Component(BIN, 1, A11, at=(70, 30), name="垃圾箱"),
    Component(RAIL, 1, A12, "line", at=(20, 50), name="交通护栏", status="damaged"),
    Component(GREEN, 1, A21, "polygon", at=(30, 30), name="街头绿地", owner="区园林绿化局"),
    Component(LAMP, 3, B11, at=(50, 50), name="路灯", status="damaged", owner="云南电网"),
    Component(BIN, 2, B11, at=(20, 80), name="垃圾箱", status="missing"),
    # A replaced version: history, never counted or drawn.
    Component(LAMP, 2, A12, name="路灯", valid_to=datetime.fromisoformat("2026-01-01T00:00+08:00")),
)
"""Seven current components (five points, a line, a polygon) and one closed version."""

_INSERT = """
INSERT INTO components (district_code, code, version, major_class, sub_class, name, department,
    owner, maintainer, status, install_date, grid_code, community_code, street_code, geom,
    valid_from, valid_to)
VALUES (:d, :code, :version, :major, :sub, :name, :department, :owner, :maintainer, :status,
    :installed, :grid, :community, :street, ST_Transform(ST_GeomFromText(:wkt, 4543), 4326),
    :valid_from, :valid_to)
"""


def insert_components(engine: Engine, components: Sequence[Component] = SAMPLE) -> None:
    """Insert ``components`` (a closed version gets version 1, the current one version 2)."""
    closed = {c.code for c in components if c.valid_to is not None}
    rows = []
    for c in components:
        values: dict[str, object] = {
            "d": DISTRICT,
            "code": c.code,
            "version": 1 if c.valid_to is not None or c.code not in closed else 2,
            "major": c.sub_class[:2],
            "sub": c.sub_class,
            "name": c.name,
            "department": "区城市管理局",
            "owner": c.owner,
            "maintainer": "区市政养护所",
            "status": c.status,
            "installed": date(2020, 5, c.sequence),
            "grid": c.grid,
            "community": c.grid[:12],
            "street": c.grid[:9],
            "wkt": c.wkt(),
            "valid_from": datetime.fromisoformat("2025-01-01T00:00+08:00"),
            "valid_to": c.valid_to,
        }
        values.update(c.fields)
        rows.append(values)
    with engine.begin() as conn:
        conn.execute(sa.text(_INSERT), rows)


def insert_component_case(
    engine: Engine,
    case_id: str,
    component_code: str | None,
    *,
    closed: bool = False,
    registered_at: str = "2026-03-01T09:00+08:00",
) -> None:
    """A component case (路灯异常 01037 unless the code says otherwise), open unless ``closed``."""
    sub_class = component_code[6:11] if component_code else "06010"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO cases (district_code, case_id, source, case_type, major_class, "
                "sub_class, geom, registered_at, component_code, closed_at) VALUES (:d, :id, "
                "'district_supervisor', :type, :major, :sub, "
                "ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4543), 4326), :reg, :comp, "
                "CASE WHEN :closed THEN CAST(:reg AS timestamptz) + interval '2 days' END)"
            ),
            {
                "d": DISTRICT,
                "id": case_id,
                "type": "component" if component_code else "event",
                "major": sub_class[:2],
                "sub": sub_class,
                "x": X0 + 50,
                "y": Y0 + 150,
                "reg": datetime.fromisoformat(registered_at),
                "comp": component_code,
                "closed": closed,
            },
        )
