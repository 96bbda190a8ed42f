"""Cases over HTTP: register one, import a file, read the `cases` collection with filters."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.cases_data import case, lonlat, write_csv

A11, A12 = "530114001001001", "530114001001002"


def _upload(client: TestClient, path: Path, **params: str) -> object:
    with path.open("rb") as fh:
        return client.post(
            "/cases/import",
            files={"file": (path.name, fh, "text/csv")},
            data={k: v for k, v in params.items() if k != "async"},
            params={"async": params["async"]} if "async" in params else None,
        )


def test_post_one_case(client: TestClient) -> None:
    lon, lat = lonlat(A12)
    body = {
        "case_id": "P1",
        "source": "hotline",
        "sub_class": "06010",
        "lon": lon,
        "lat": lat,
        "registered_at": "2026-10-02T09:00:00",
        "satisfaction": "满意",
    }
    r = client.post("/cases", json=body)
    assert r.status_code == 201, r.text
    feature = r.json()
    assert feature["id"] == "P1"
    props = feature["properties"]
    assert props["current_grid_code"] == A12 and props["grid_code"] == A12
    assert props["status"] == "registered"
    assert props["due_at"] is not None  # from the catalogue: 1 working day for 暴露垃圾
    assert props["department"]  # the catalogue's default department
    r = client.post("/cases", json={**body, "closed_at": "2026-10-02T18:00:00"})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "closed"


def test_post_a_bad_case_names_the_field(client: TestClient) -> None:
    lon, lat = lonlat(A12)
    body = {
        "case_id": "P2",
        "source": "hotline",
        "sub_class": "99999",
        "lon": lon,
        "lat": lat,
        "registered_at": "2026-10-02T09:00:00",
    }
    r = client.post("/cases", json=body)
    assert r.status_code == 422
    err = r.json()
    assert err["details"][0]["where"] == "field sub_class"
    assert "99999" in err["message"]
    r = client.post("/cases", json={**body, "sub_class": "06010", "lon": 100.0})
    assert r.status_code == 422 and "outside every unit grid" in r.json()["message"]
    r = client.post("/cases", json={**body, "colour": "red"})
    assert r.status_code == 400 and "colour" in r.text
    assert client.get("/collections/cases/items").json()["numberMatched"] == 0


def test_import_file_then_filter_the_collection(client: TestClient, tmp_path: Path) -> None:
    rows = [
        case(
            "I1",
            A11,
            registered_at="2026-10-02 09:00",
            due_at="2026-10-03 09:00",
            closed_at="2026-10-02 12:00",
        ),
        case(
            "I2", A12, registered_at="2026-10-05 09:00", due_at="2026-10-06 09:00", source="hotline"
        ),
        case(
            "I3",
            A12,
            registered_at="2026-11-05 09:00",
            due_at="2026-11-06 09:00",
            sub_class="09006",
            major_class="09",
        ),
    ]
    r = _upload(client, write_csv(tmp_path / "cases.csv", rows))
    assert r.status_code == 200, r.text
    assert r.json() == {"file": "cases.csv", "rows": 3, "inserted": 3, "updated": 0}

    def ids(**params: str) -> list[str]:
        page = client.get("/collections/cases/items", params=params)
        assert page.status_code == 200, page.text
        return [f["id"] for f in page.json()["features"]]

    assert ids() == ["I3", "I2", "I1"]  # newest first
    assert ids(datetime="2026-10-01/2026-10-31") == ["I2", "I1"]
    assert ids(datetime="2026-10-05") == ["I2"]
    assert ids(datetime="../2026-10-04") == ["I1"]
    assert ids(source="hotline") == ["I2"]
    assert ids(sub_class="09006") == ["I3"]
    assert ids(status="closed") == ["I1"]
    assert ids(status="open") == ["I3", "I2"]
    assert ids(status="overdue") == ["I3", "I2"]  # both past due by now
    assert ids(grid=A11) == ["I1"]
    for bad in (
        {"datetime": "2026-13-01"},
        {"status": "lost"},
        {"sub_class": "6010x"},
        {"source": "pigeon"},
    ):
        r = client.get("/collections/cases/items", params=bad)
        assert r.status_code == 400, bad
        assert r.json()["message"]


def test_import_refusal_lists_rows_and_writes_nothing(client: TestClient, tmp_path: Path) -> None:
    rows = [
        case("OK", registered_at="2026-10-02 09:00"),
        case("BAD", registered_at="yesterday", rework_count="x"),
    ]
    r = _upload(client, write_csv(tmp_path / "bad.csv", rows))
    assert r.status_code == 422
    body = r.json()
    wheres = [d["where"] for d in body["details"]]
    assert wheres == ["row 3, column registered_at", "row 3, column rework_count"]
    assert "nothing was written" in body["message"]
    assert client.get("/collections/cases/items").json()["numberMatched"] == 0


def test_import_rejects_non_tables(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    r = _upload(client, path)
    assert r.status_code == 422 and "XLSX" in r.json()["message"]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _upload(client, empty).status_code == 422


def test_import_as_a_job(client: TestClient, tmp_path: Path) -> None:
    rows = [case(f"J{i}", registered_at="2026-10-02 09:00") for i in range(5)]
    r = _upload(client, write_csv(tmp_path / "cases.csv", rows), **{"async": "true"})
    assert r.status_code == 202, r.text
    url = r.json()["links"]["status"]
    for _ in range(100):
        job = client.get(url).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["result"]["inserted"] == 5
