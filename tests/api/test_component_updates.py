"""Component updates over HTTP: upload, review (JSON, XLSX), apply, history, restore."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.components.test_update import A11, A12, BIN, LAMP, code, point

FIRST = [
    point(A11, 10, 10, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局"),
    point(A12, 50, 50, code=code(BIN, 1), sub_class=BIN, owner="环卫公司"),
]


def upload(client: TestClient, tmp_path: Path, features: list[dict[str, Any]], **form: str) -> Any:
    path = tmp_path / "components.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with path.open("rb") as fh:
        return client.post(
            "/component-updates",
            files={"file": (path.name, fh, "application/geo+json")},
            data=form,
        )


def test_plan_review_apply_history_restore(client: TestClient, tmp_path: Path) -> None:
    r = upload(client, tmp_path, FIRST)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "pending" and first["summary"]["changes"]["added"] == 2
    assert {c["kind"] for c in first["changes"]} == {"added"}
    r = client.post(f"/component-updates/{first['id']}/apply")
    assert r.status_code == 200 and r.json()["status"] == "applied"

    moved = [
        point(A11, 10, 20, code=code(LAMP, 1), sub_class=LAMP, owner="区城管局"),
        point(A12, 50, 50, code=code(BIN, 1), sub_class=BIN, owner="物业公司", status="破损"),
    ]
    second = upload(client, tmp_path, moved).json()
    kinds = {c["new_code"]: c for c in second["changes"]}
    assert kinds[code(LAMP, 1)]["kind"] == "moved"
    assert kinds[code(BIN, 1)]["kind"] == "owner_changed"
    assert kinds[code(BIN, 1)]["details"]["changes"] == ["owner_changed", "status_changed"]
    xlsx = client.get(f"/component-updates/{second['id']}/changes.xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    rows = list(book["变更明细"].iter_rows(values_only=True))
    assert rows[0][:4] == ("序号", "变更类型", "原编码", "新编码")
    assert {r[1] for r in rows[1:]} == {"位移", "权属变更"}
    assert client.post(f"/component-updates/{second['id']}/apply").status_code == 200

    history = client.get(f"/components/{code(BIN, 1)}/history").json()["versions"]
    assert [v["owner"] for v in history] == ["环卫公司", "物业公司"]
    assert client.get("/component-versions").json()["versions"] == [first["id"], second["id"]]
    restored = client.post(f"/component-versions/{first['id']}/restore")
    assert restored.status_code == 200 and restored.json()["restores_version"] == first["id"]
    history = client.get(f"/components/{code(BIN, 1)}/history").json()["versions"]
    assert history[-1]["owner"] == "环卫公司" and history[-1]["status"] == "intact"
    assert client.get("/components/53011401037999999/history").status_code == 404


def test_bad_file_lists_features_and_changes_nothing(client: TestClient, tmp_path: Path) -> None:
    bad = [
        point(A11, code=code(LAMP, 1), sub_class="99999"),
        point(A11, code=code(BIN, 2), sub_class=LAMP),
    ]
    r = upload(client, tmp_path, bad)
    assert r.status_code == 422
    wheres = [(d["where"], d["rule"]) for d in r.json()["details"]]
    assert wheres == [("feature 1", "unknown_sub_class"), ("feature 2", "code_class_mismatch")]
    assert client.get("/component-updates").json() == []
    assert client.post("/component-updates/99/apply").status_code == 404


def test_stale_plan_is_a_conflict(client: TestClient, tmp_path: Path) -> None:
    a = upload(client, tmp_path, FIRST).json()
    b = upload(client, tmp_path, FIRST, partial="true").json()
    assert client.post(f"/component-updates/{a['id']}/apply").status_code == 200
    r = client.post(f"/component-updates/{b['id']}/apply")
    assert r.status_code == 409 and "changed since" in r.json()["message"]


def test_malformed_and_wrong_crs_uploads_are_refused(client: TestClient, tmp_path: Path) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')
    with broken.open("rb") as fh:
        r = client.post("/component-updates", files={"file": (broken.name, fh, "text/plain")})
    assert r.status_code == 422 and r.json()["message"]
    # Gauss–Krüger metres declared as nothing: a CSV needs its CRS
    plain = tmp_path / "lamps.csv"
    plain.write_text("sub_class,x,y\n01037,585050,2763150\n", encoding="utf-8")
    with plain.open("rb") as fh:
        r = client.post("/component-updates", files={"file": (plain.name, fh, "text/csv")})
    assert r.status_code in (400, 422) and "crs" in r.text.lower()
    # the same file with its CRS declared is read and located in grid A1-1
    with plain.open("rb") as fh:
        r = client.post(
            "/component-updates",
            files={"file": (plain.name, fh, "text/csv")},
            data={"crs": "EPSG:4543", "partial": "true"},
        )
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["changes"]["added"] == 1
    assert client.get("/collections/components/items").json()["numberMatched"] == 0
