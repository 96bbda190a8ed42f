"""Companies, vehicles and crews, areas and segments stored in PostGIS; bad input refused whole.

Every refusal names the bad entry (company, tracker, feature) and writes nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from shapely.geometry import LineString, Point, box
from sqlalchemy.engine import Engine

from geogrid.errors import ValidationFailed
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from geogrid.sanitation import (
    CompanySpec,
    TrackerSpec,
    import_areas,
    import_segments,
    list_companies,
    list_trackers,
    register_companies,
    register_trackers,
    segments_from_roads,
    segments_geojson,
)
from tests.cases_data import add_road
from tests.sanitation.data import (
    ALLEY,
    AREA_N,
    AREA_S,
    COMPANIES,
    MAIN_ROAD,
    load_sanitation,
    lonlat,
    write_geojson,
)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def messages(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [p.message for p in exc.value.problems]


def test_companies_are_registered_and_listed(territory_engine: Engine) -> None:
    load_sanitation(territory_engine)
    with territory_engine.connect() as conn:
        rows = list_companies(conn)
    assert [(r["id"], r["name"], r["areas"], r["segments"]) for r in rows] == [
        ("HW1", "城洁环卫有限公司", 1, 1),
        ("HW2", "绿源环卫有限公司", 1, 1),
    ]
    assert rows[0]["road_km"] == pytest.approx(0.4, abs=0.001)
    assert rows[0]["contract_to"] == "2026-12-31" and rows[1]["contract_to"] is None


def test_bad_companies_are_refused_whole(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        register_companies(
            conn,
            [
                CompanySpec("ok", "甲公司", date(2026, 1, 1)),
                CompanySpec("bad id!", "乙公司", date(2026, 1, 1)),
                CompanySpec("C3", "丙公司", date(2026, 6, 1), date(2026, 5, 1)),
                CompanySpec("C4", "甲公司", date(2026, 1, 1)),
            ],
            shown="companies.csv",
        )
    said = messages(exc)
    assert any(m.startswith("Company bad id!: the id") for m in said)
    assert any(m.startswith("Company C3: the contract ends before it starts") for m in said)
    assert any("company name 甲公司" in m.lower() for m in said)
    assert count(territory_engine, "sanitation_companies") == 0


def test_vehicles_and_crews_share_the_supervisors_ids_and_devices(
    territory_engine: Engine,
) -> None:
    load_sanitation(territory_engine)
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [SupervisorSpec("S1", "张三", device_id="PHONE-1", valid_from=date(2026, 1, 1))],
            shown="test",
        )
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        register_trackers(
            conn,
            [
                TrackerSpec("S1", "HW1", "sweeper", "云A·D0001"),
                TrackerSpec("V2", "HW1", "sweeper", "云A·D0002", device_id="PHONE-1"),
                TrackerSpec("V3", "无名公司", "sweeper", "云A·D0003"),
                TrackerSpec("V4", "HW1", "bicycle", "云A·D0004"),
                TrackerSpec("V5", "HW2", "crew", " "),
            ],
            shown="trackers.csv",
        )
    said = messages(exc)
    assert "Tracker S1: is a supervisor's id." in said
    assert "Device PHONE-1: is supervisor S1's device." in said
    assert "Tracker V3: '无名公司' is not a registered company." in said
    assert any(m.startswith("Tracker V4: 'bicycle' is not one of sweeper") for m in said)
    assert "Tracker V5: the name (plate number) is empty." in said
    assert count(territory_engine, "sanitation_trackers") == 0
    with territory_engine.begin() as conn:
        register_trackers(
            conn, [TrackerSpec("V1", "绿源环卫有限公司", "扫路车", "云A·D0001", "GPS-1")], shown="t"
        )
        rows = list_trackers(conn, company="HW2")
    assert rows == [
        {
            "id": "V1",
            "kind": "sweeper",
            "name": "云A·D0001",
            "device_id": "GPS-1",
            "members": None,
            "company_id": "HW2",
            "company_name": "绿源环卫有限公司",
            "kind_name": "扫路车",
        }
    ]
    # the database itself keeps one name space: a supervisor cannot take a tracker's device
    with territory_engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.text(
                "INSERT INTO supervisors (district_code, id, name, device_id) "
                "VALUES ('530114', 'S2', '李四', 'GPS-1')"
            )
        )


def test_areas_of_a_file(territory_engine: Engine, tmp_path: Path) -> None:
    load_sanitation(territory_engine)
    path = write_geojson(
        tmp_path / "areas.geojson",
        [
            (
                lonlat(box(200, 0, 400, 100)),
                {"编号": "E", "名称": "东区", "公司": "HW2", "主干道": 3},
            ),
            (lonlat(AREA_N), {"id": "N", "name": "龙城保洁区", "company": "HW1"}),
        ],
    )
    with territory_engine.begin() as conn:
        assert import_areas(conn, path) == {"areas": 2, "added": 1, "replaced": 1}
    with territory_engine.connect() as conn:
        levels = conn.execute(
            sa.text(
                "SELECT sweeps_main, sweeps_secondary, round(area_m2) FROM sanitation_areas "
                "WHERE id = 'E'"
            )
        ).one()
    assert tuple(levels[:2]) == (3, 1) and levels[2] == pytest.approx(20000, rel=1e-3)


def test_a_bad_area_file_names_every_feature_and_writes_nothing(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_sanitation(territory_engine)
    path = write_geojson(
        tmp_path / "areas.geojson",
        [
            (lonlat(box(200, 0, 400, 100)), {"id": "E", "company": "HW2"}),
            (lonlat(LineString([(0, 0), (10, 10)])), {"id": "L", "company": "HW2"}),
            (lonlat(box(200, 0, 300, 100)), {"id": "F", "company": "HW2", "sweeps_alley": "two"}),
        ],
    )
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        import_areas(conn, path)
    said = messages(exc)
    assert "Feature 2: is a LineString, not a polygon." in said
    assert any(m.startswith("Feature 3, sweeps_alley: 'two' is not a whole number") for m in said)
    path = write_geojson(
        tmp_path / "overlap.geojson",
        [
            (lonlat(box(200, 0, 400, 100)), {"id": "E", "company": "nobody"}),
            (lonlat(box(150, 0, 300, 100)), {"id": "F", "company": "HW2"}),
        ],
    )
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        import_areas(conn, path)
    assert "Feature 1: 'nobody' is not a registered company." in messages(exc)
    path = write_geojson(
        tmp_path / "overlap.geojson",
        [(lonlat(box(150, 0, 300, 100)), {"id": "F", "company": "HW2"})],
    )
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        import_areas(conn, path)
    assert any(
        m.startswith("Feature 1: overlaps stored area S by 4,999 m²")
        or m.startswith("Feature 1: overlaps stored area S by 5,000 m²")
        for m in messages(exc)
    ), messages(exc)
    assert count(territory_engine, "sanitation_areas") == 2  # N and S only


def test_segments_of_a_line_file_are_cut_and_replace_their_areas(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_sanitation(territory_engine)
    path = write_geojson(
        tmp_path / "roads.geojson",
        [
            (lonlat(MAIN_ROAD), {"name": "彩云路", "road_class": "主干道"}),
            (lonlat(LineString([(200, 110), (200, 190)])), {"name": "春融街", "等级": "次干道"}),
            (
                lonlat(LineString([(300, 110), (300, 190)])),
                {"name": "一巷", "class": "alley", "sweeps": 3},
            ),
        ],
    )
    with territory_engine.begin() as conn:
        result = import_segments(conn, path)
    assert result == {"areas": 1, "segments": 6, "removed": 1}
    with territory_engine.connect() as conn:
        features = segments_geojson(conn, area="N")["features"]
    got = [
        (
            f["properties"]["id"],
            f["properties"]["road_name"],
            round(f["properties"]["length_m"]),
            f["properties"]["required"],
        )
        for f in features
    ]
    # the main road is cut where the secondary road crosses it, not where the alley does;
    # both are cut by the main road
    assert got == [
        ("N-0001", "彩云路", 200, 2),
        ("N-0002", "彩云路", 200, 2),
        ("N-0003", "春融街", 40, 1),
        ("N-0004", "春融街", 40, 1),
        ("N-0005", "一巷", 40, 3),
        ("N-0006", "一巷", 40, 3),
    ]
    assert count(territory_engine, "sanitation_segments") == 7  # S-0001 kept


def test_a_bad_line_file_names_every_feature_and_writes_nothing(
    territory_engine: Engine, tmp_path: Path
) -> None:
    load_sanitation(territory_engine)
    path = write_geojson(
        tmp_path / "roads.geojson",
        [
            (lonlat(MAIN_ROAD), {"name": "彩云路", "road_class": "highway"}),
            (lonlat(Point(10, 10)), {"name": "点", "road_class": "alley"}),
            (lonlat(ALLEY), {"name": "云桥一巷", "road_class": "alley", "area": "X"}),
            (lonlat(LineString([(0, 50), (200, 50)])), {"road_class": "alley", "sweeps": -1}),
        ],
    )
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        import_segments(conn, path)
    said = messages(exc)
    assert any(m.startswith("Feature 1, road_class: 'highway' is not one of main") for m in said)
    assert "Feature 2: is a Point, not a road line." in said
    assert "Feature 3, area: 'X' is not a cleaning area." in said
    assert any(m.startswith("Feature 4, sweeps: '-1' is not a whole number") for m in said)
    path = write_geojson(
        tmp_path / "outside.geojson",
        [(lonlat(LineString([(250, 50), (390, 50)])), {"name": "外路", "road_class": "alley"})],
    )
    with territory_engine.begin() as conn, pytest.raises(ValidationFailed) as exc:
        import_segments(conn, path)
    assert messages(exc)[0].startswith("Feature 1: lies (partly) in no cleaning area")
    assert count(territory_engine, "sanitation_segments") == 2


def test_segments_from_the_road_network(territory_engine: Engine) -> None:
    load_sanitation(territory_engine)
    add_road(territory_engine, "main", [(0, 150), (400, 150)])
    add_road(territory_engine, "secondary", [(100, 100), (100, 200)])
    add_road(territory_engine, "alley", [(0, 50), (200, 50)])
    add_road(territory_engine, "alley", [(250, 50), (390, 50)])  # in no area
    with territory_engine.begin() as conn:
        result = segments_from_roads(conn)
    assert result == {"areas": 2, "segments": 5, "removed": 2, "outside": 1}
    with territory_engine.connect() as conn:
        ids = [f["properties"]["id"] for f in segments_geojson(conn)["features"]]
    assert ids == ["N-0001", "N-0002", "N-0003", "N-0004", "S-0001"]
    assert COMPANIES[0].id == "HW1"
    assert AREA_S.area == 20000
