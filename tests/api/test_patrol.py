"""Supervisors and track ingest over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cases_data import lonlat

A11, A12 = "530114001001001", "530114001001002"


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
