"""Supervisors and track ingest over HTTP."""

from __future__ import annotations

import time

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.cases_data import lonlat

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"


def test_register_supervisor_then_post_tracks(client: TestClient) -> None:
    body = {
        "id": "S1",
        "name": "张三",
        "device_id": "D-1",
        "grids": [A11, A12],
        "valid_from": "2026-01-01",
    }
    r = client.post("/supervisors", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["grids"] == [A11, A12] and r.json()["shift_end"] == "18:00"
    assert [s["id"] for s in client.get("/supervisors").json()] == ["S1"]
    assert client.get("/supervisors/S9").status_code == 404

    lon, lat = lonlat(A11)
    fixes = [
        {
            "device_id": "D-1",
            "timestamp": f"2026-10-09T09:00:{s:02d}+08:00",
            "lon": lon,
            "lat": lat + s * 1e-6,
        }
        for s in range(0, 60, 10)
    ]
    r = client.post("/tracks", json={"fixes": fixes})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 6, "inserted": 6, "duplicates": 0, "flagged": 0}
    again = client.post("/tracks", json={"fixes": fixes}).json()
    assert (again["inserted"], again["duplicates"]) == (0, 6)


def test_bad_supervisor_and_bad_batch_are_refused(client: TestClient) -> None:
    r = client.post("/supervisors", json={"id": "S2", "name": "李四", "grids": ["530114009009009"]})
    assert r.status_code == 422 and "530114009009009" in r.json()["message"]
    assert client.get("/supervisors").json() == []
    r = client.post(
        "/supervisors",
        json={
            "id": "S2",
            "name": "李四",
            "grids": [A11],
            "shift_start": "18:00",
            "shift_end": "08:00",
        },
    )
    assert r.status_code == 422 and "shift_end" in r.json()["message"]
    client.post("/supervisors", json={"id": "S1", "name": "张三", "grids": [A11]})
    r = client.post(
        "/tracks",
        json={
            "fixes": [
                {"supervisor_id": "S1", "timestamp": "not a time", "lon": 102.85, "lat": 24.98},
                {
                    "supervisor_id": "S7",
                    "timestamp": "2026-10-09 09:00:00",
                    "lon": 102.85,
                    "lat": 24.98,
                },
            ]
        },
    )
    assert r.status_code == 422
    assert [d["where"] for d in r.json()["details"]] == [
        "row 2, column timestamp",
        "row 3, column supervisor_id",
    ]
    assert client.post("/tracks", json={"fixes": []}).status_code == 400
    assert client.post("/tracks", json={"crs": "bd09", "fixes": [{}]}).status_code == 400


def test_track_of_a_day_is_split_at_gaps(client: TestClient) -> None:
    client.post("/supervisors", json={"id": "S1", "name": "张三", "grids": [A11]})
    lon, lat = lonlat(A11)

    def fix(clock: str, dy: float = 0.0, **extra: object) -> dict[str, object]:
        return {
            "supervisor_id": "S1",
            "timestamp": f"2026-10-09 {clock}",
            "lon": lon,
            "lat": lat + dy,
            **extra,
        }

    fixes = [
        fix("09:00:00"),
        fix("09:00:10", 1e-5),
        fix("09:00:20", 2e-5),
        fix("09:10:20", 3e-5),
        fix("09:10:30", 4e-5),  # after a 10-minute gap
        fix("09:10:40", 5e-5, accuracy_m=200),  # flagged, apart
        fix("23:59:59"),
    ]
    assert client.post("/tracks", json={"fixes": fixes}).status_code == 200
    day = client.get("/supervisors/S1/tracks", params={"date": "2026-10-09"})
    assert day.status_code == 200, day.text
    features = day.json()["features"]
    segments = [f for f in features if f["properties"]["kind"] == "segment"]
    assert [s["properties"]["fixes"] for s in segments] == [3, 2, 1]
    assert [s["geometry"]["type"] for s in segments] == ["LineString", "LineString", "Point"]
    assert segments[0]["properties"]["seconds"] == 20
    flagged = [f for f in features if f["properties"]["kind"] == "flagged"]
    assert len(flagged) == 1 and flagged[0]["properties"]["flags"] == ["inaccurate"]
    other = client.get("/supervisors/S1/tracks", params={"date": "2026-10-10"}).json()
    assert other["features"] == []
    assert client.get("/supervisors/S9/tracks", params={"date": "2026-10-09"}).status_code == 404
    assert client.get("/supervisors/S1/tracks", params={"date": "9.10."}).status_code == 400


def test_coverage_grids(client: TestClient) -> None:
    client.post(
        "/supervisors",
        json={"id": "S1", "name": "张三", "grids": [A11, A12], "valid_from": "2026-01-01"},
    )
    fixes = []
    for i in range(5):
        lon, lat = lonlat(A11, 20 + 15 * i, 50)  # inside A1-1 for 40 s
        fixes.append(
            {
                "supervisor_id": "S1",
                "timestamp": f"2026-10-09 09:00:{10 * i:02d}",
                "lon": lon,
                "lat": lat,
            }
        )
    assert client.post("/tracks", json={"fixes": fixes}).status_code == 200
    r = client.get(
        "/coverage/grids", params={"from": "2026-10-09", "to": "2026-10-10", "supervisor": "S1"}
    )
    assert r.status_code == 200, r.text
    grids = {g["grid_code"]: g for g in r.json()["grids"]}
    assert grids[A11]["visits"] == 1 and grids[A11]["days_assigned"] == 2
    assert grids[A12]["never_patrolled"] is True
    assert (
        client.get("/coverage/grids", params={"from": "2026-10-10", "to": "2026-10-09"}).status_code
        == 400
    )
    assert (
        client.get(
            "/coverage/grids", params={"from": "2026-10-09", "to": "2026-10-09", "supervisor": "S9"}
        ).status_code
        == 404
    )


def _walk_b11(client: TestClient) -> None:
    """S1 guards B1-1 and walks east along its centre line at 1 m/s, a fix each 10 s."""
    r = client.post(
        "/supervisors",
        json={"id": "S1", "name": "张三", "grids": [B11, A11], "valid_from": "2026-01-01"},
    )
    assert r.status_code == 201, r.text
    fixes = []
    for i in range(21):
        lon, lat = lonlat(B11, 10.0 * i, 50.0)
        fixes.append(
            {
                "supervisor_id": "S1",
                "timestamp": f"2026-10-09T09:0{i * 10 // 60}:{i * 10 % 60:02d}+08:00",
                "lon": lon,
                "lat": lat,
            }
        )
    assert client.post("/tracks", json={"fixes": fixes}).status_code == 200


def test_coverage_in_every_format(client: TestClient) -> None:
    _walk_b11(client)
    r = client.get("/coverage", params={"from": "2026-10-09", "to": "2026-10-09"})
    assert r.status_code == 200, r.text
    [row] = r.json()["rows"]
    # 200 s along B1-1 (the walk starts at its west edge): patrolled; A1-1 is 50 m away
    assert (row["code"], row["assigned_grids"], row["patrolled_grids"]) == ("S1", 2, 1)
    assert row["coverage_rate"] == 50.0 and row["online_rate"] == 0.56  # 200 s of 10 h
    assert row["grids_never"] == [A11]
    street = client.get(
        "/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "level": "street"}
    ).json()
    assert [(r["code"], r["coverage_rate"]) for r in street["rows"]] == [
        ("530114001", 0.0),
        ("530114002", 100.0),
    ]
    # a wider buffer reaches A1-1 (50 m north of the walk)
    wide = client.get(
        "/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "buffer_m": 60}
    ).json()
    assert wide["rows"][0]["patrolled_grids"] == 2 and wide["rule"]["buffer_m"] == 60
    csv = client.get(
        "/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "format": "csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert "巡查覆盖率(%)" in lines[0] and lines[1].startswith("S1,张三")
    xlsx = client.get(
        "/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "format": "xlsx"}
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_coverage_as_a_job(client: TestClient) -> None:
    _walk_b11(client)
    r = client.get("/coverage", params={"from": "2026-10-09", "to": "2026-10-10", "async": "true"})
    assert r.status_code == 202, r.text
    for _ in range(100):
        job = client.get(f"/jobs/{r.json()['job']}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded", job
    assert job["result"]["rows"][0]["grid_days"] == 4


def test_coverage_parameters_are_checked(client: TestClient) -> None:
    _walk_b11(client)
    r = client.get("/coverage", params={"from": "2026-10-09", "to": "2026-10-01"})
    assert r.status_code == 400 and "before 'from'" in r.json()["message"]
    r = client.get("/coverage", params={"from": "2026-01-01", "to": "2026-12-31"})
    assert r.status_code == 400
    r = client.get("/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "level": "x"})
    assert r.status_code == 400 and "level" in r.text
    r = client.get(
        "/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "supervisor": "S9"}
    )
    assert r.status_code == 404 and "S9" in r.json()["message"]
    r = client.get("/coverage", params={"from": "2026-10-09", "to": "2026-10-09", "buffer_m": -1})
    assert r.status_code == 400 and "buffer_m" in r.text


def test_shifts_of_days(client: TestClient) -> None:
    _walk_b11(client)
    body = {"shifts": [{"date": "2026-10-09", "shift_start": "09:00", "shift_end": "09:10"}]}
    r = client.put("/supervisors/S1/shifts", json=body)
    assert r.status_code == 200 and r.json()["days"] == 1
    row = client.get("/coverage", params={"from": "2026-10-09", "to": "2026-10-09"}).json()
    assert row["rows"][0]["online_rate"] == 33.33  # 200 s of a 600 s shift
    bad = {"shifts": [{"date": "2026-10-09", "shift_start": "10:00", "shift_end": "09:00"}]}
    r = client.put("/supervisors/S1/shifts", json=bad)
    assert r.status_code == 422 and "2026-10-09" in r.json()["message"]
    assert client.put("/supervisors/S9/shifts", json=body).status_code == 404


def test_response_times_of_cases_and_of_tasks(client: TestClient) -> None:
    _walk_b11(client)
    # 40 m off the walk, inside B1-1: its 50 m circle is entered at x = 65 m, 09:01:05
    lon, lat = lonlat(B11, 95.0, 90.0)
    case = {
        "case_id": "H1",
        "source": "hotline",
        "sub_class": "06010",
        "lon": lon,
        "lat": lat,
        "reported_at": "2026-10-09T09:00:05",
        "registered_at": "2026-10-09T09:00:30",
    }
    assert client.post("/cases", json=case).status_code == 201, "case"
    r = client.get("/patrol/response-times", params={"from": "2026-10-09", "to": "2026-10-09"})
    assert r.status_code == 200, r.text
    [task] = r.json()["tasks"]
    assert (task["case_id"], task["kind"], task["response_s"]) == ("H1", "verify", 60)
    assert r.json()["totals"]["within_target_rate"] == 100.0
    body = {
        "tasks": [
            {
                "case_id": "X1",
                "supervisor_id": "S1",
                "lon": lon,
                "lat": lat,
                "dispatched_at": "2026-10-09T09:00:30",
            }
        ]
    }
    r = client.post("/patrol/response-times", json=body)
    assert r.status_code == 200 and r.json()["tasks"][0]["response_s"] == 35
    body["tasks"][0]["supervisor_id"] = "S9"
    r = client.post("/patrol/response-times", json=body)
    assert r.status_code == 400 and "S9" in r.json()["message"]
    xlsx = client.get(
        "/patrol/response-times",
        params={"from": "2026-10-09", "to": "2026-10-09", "format": "xlsx"},
    )
    assert xlsx.content[:2] == b"PK"


def test_a_write_is_committed_before_it_is_acknowledged(territory_engine: Engine) -> None:
    """A commit that fails (a deferred check) is an error answer, never a 201 for a lost row."""
    from api.app import create_app
    from tests.credentials import ADMIN, app_settings

    with territory_engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$BEGIN RAISE EXCEPTION 'refused at commit'; END$$; "
                "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON supervisors "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"
            )
        )
    app = create_app(app_settings(territory_engine))
    with TestClient(app, headers=ADMIN, raise_server_exceptions=False) as client:
        r = client.post("/supervisors", json={"id": "S7", "name": "王五", "grids": [A11]})
    assert r.status_code >= 500 and "Traceback" not in r.text
    with territory_engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM supervisors")).scalar_one()
    assert count == 0
