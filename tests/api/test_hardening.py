"""Protections of every request: body limit, security headers, CORS, login throttling, the
audit row committed with its write, database errors as sentences, scope of patch handling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from geogrid.auth import Role, create_api_key, create_user
from geogrid.errors import ValidationFailed
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from tests.api.conftest import RoleClient
from tests.api.test_satellite import handle, post_batch
from tests.cases_data import case, write_csv
from tests.credentials import ADMIN, app_settings
from tests.satellite.scenario import patch_file

A12 = "530114001001002"
WHEN = {"registered_at": "2026-10-02T09:00:00"}


def _shape(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    assert body["message"].endswith(".") and "Traceback" not in r.text
    return body


# --- request size ---------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_before_it_is_read(role_client: RoleClient) -> None:
    client = role_client("admin", max_upload_mb=1)
    big = b"x" * (3 << 20)
    r = client.post("/grid-updates", files={"file": ("grids.geojson", big, "application/json")})
    body = _shape(r, 413, "too_large")
    assert "1 MB" in body["message"] and "GEOGRID_MAX_UPLOAD_MB" in body["message"]


def test_a_chunked_body_over_the_limit_is_a_413(role_client: RoleClient) -> None:
    client = role_client("admin", max_upload_mb=1)

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"{" + b" " * (1 << 20)

    r = client.post("/cases", content=chunks(), headers={"Content-Type": "application/json"})
    _shape(r, 413, "too_large")


def test_a_body_within_the_limit_passes(role_client: RoleClient) -> None:
    client = role_client("admin", max_upload_mb=1)
    assert client.post("/cases", json=case("SMALL1", A12, **WHEN)).status_code == 201


# --- headers and CORS -----------------------------------------------------------------------


def test_pages_carry_security_headers(client: TestClient) -> None:
    page = client.get("/maps/grids")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers["x-content-type-options"] == "nosniff"
    data = client.get("/collections/grids/items")
    assert data.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in data.headers
    # The login page keeps its own, stricter policy.
    login = client.get("/login")
    assert login.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_basemap_host_is_allowed_for_images(territory_engine: Engine) -> None:
    url = "https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}&l={z}"
    app = create_app(app_settings(territory_engine, basemap_url=url))
    with TestClient(app, headers=ADMIN) as c:
        policy = c.get("/maps/grids").headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn;" in policy


def test_cors_is_off_by_default_and_configurable(
    client: TestClient, territory_engine: Engine
) -> None:
    origin = {"Origin": "https://gis.example.gov.cn"}
    r = client.get("/collections", headers=origin)
    assert "access-control-allow-origin" not in r.headers
    app = create_app(app_settings(territory_engine, cors_origins="https://gis.example.gov.cn"))
    with TestClient(app, headers=ADMIN) as c:
        r = c.get("/collections", headers=origin)
        assert r.headers["access-control-allow-origin"] == "https://gis.example.gov.cn"
        pre = c.options(
            "/cases",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "X-API-Key",
            },
        )
        assert pre.status_code == 200
        other = c.get("/collections", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


# --- login throttling -----------------------------------------------------------------------


def test_logins_are_throttled_after_repeated_failures(
    territory_engine: Engine, anon_client: TestClient
) -> None:
    with territory_engine.begin() as conn:
        create_user(conn, username="root", role=Role.admin, password="root-password")
    form = {"username": "root", "password": "wrong-one"}
    for _ in range(5):
        _shape(anon_client.post("/auth/token", data=form), 401, "unauthorized")
    # The right password no longer helps within the window: the password is not even checked.
    good = {"username": "root", "password": "root-password"}
    r = anon_client.post("/auth/token", data=good)
    body = _shape(r, 429, "too_many_attempts")
    assert "wait 5 minute" in body["message"] and r.headers["retry-after"] == "300"
    page = anon_client.post("/login", data=good)
    assert page.status_code == 429 and "登录失败次数过多" in page.text
    # Another account from another address is not affected.
    with territory_engine.begin() as conn:
        create_user(conn, username="op2", role=Role.viewer, password="op2-password")
    r = anon_client.post("/auth/token", data={"username": "op2", "password": "op2-password"})
    assert r.status_code == 200
    with territory_engine.connect() as conn:
        refused = conn.execute(
            sa.text(
                "SELECT count(*) FROM audit_log WHERE action = 'login' AND outcome = 'refused' "
                "AND actor = 'root' AND status = 429"
            )
        ).scalar_one()
    assert refused == 2


# --- the audit row is committed with its write ----------------------------------------------


def test_a_write_and_its_audit_row_share_one_transaction(
    client: TestClient, territory_engine: Engine
) -> None:
    assert client.post("/cases", json=case("TX1", A12, **WHEN)).status_code == 201
    with territory_engine.connect() as conn:
        case_xmin = conn.execute(
            sa.text("SELECT xmin::text FROM cases WHERE case_id = 'TX1'")
        ).scalar_one()
        rows = conn.execute(
            sa.text(
                "SELECT xmin::text AS xmin, outcome, status, entity_id FROM audit_log "
                "WHERE action = 'write' AND path = '/cases'"
            )
        ).all()
    assert len(rows) == 1, rows  # written once, not again after the response
    assert rows[0].xmin == case_xmin
    assert (rows[0].outcome, rows[0].status, rows[0].entity_id) == ("ok", 201, "TX1")


def test_a_failed_write_is_audited_after_its_rollback(
    client: TestClient, territory_engine: Engine
) -> None:
    r = client.post("/cases", json={**case("TX2", A12, **WHEN), "event_code": "99999"})
    assert 400 <= r.status_code < 500
    with territory_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT outcome, status FROM audit_log WHERE path = '/cases'")
        ).all()
        stored = conn.execute(sa.text("SELECT count(*) FROM cases WHERE case_id = 'TX2'"))
        assert stored.scalar_one() == 0
    assert [(r.outcome, r.status) for r in rows] == [("failed", r.status_code)]


def test_records_name_the_login_as_their_author(
    client: TestClient, territory_engine: Engine, tmp_path: Path
) -> None:
    r = client.post("/grid-updates/999/reject")
    assert r.status_code == 404
    with territory_engine.connect() as conn:
        who = conn.execute(
            sa.text("SELECT actor FROM audit_log WHERE path = '/grid-updates/999/reject'")
        ).scalar_one()
    assert who == "key:tests-admin"


# --- database errors are sentences ------------------------------------------------------------


def test_a_supervisor_id_taken_by_a_sanitation_tracker_is_a_409(
    client: TestClient, territory_engine: Engine
) -> None:
    r = client.post(
        "/sanitation/companies",
        json=[{"id": "C1", "name": "环卫一公司", "contract_from": "2026-01-01"}],
    )
    assert r.status_code == 201, r.text
    tracker = {"id": "T1", "company": "C1", "kind": "sweeper", "name": "云A12345"}
    assert client.post("/sanitation/trackers", json=[tracker]).status_code == 201
    r = client.post("/supervisors", json={"id": "T1", "name": "王五"})
    body = _shape(r, 409, "conflict")
    assert body["message"] == (
        "The request conflicts with stored data: tracker id T1 or device <NULL> is already taken."
    )
    with territory_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM supervisors")).scalar() == 0


def test_an_integer_out_of_the_database_range_is_a_400(client: TestClient) -> None:
    r = client.get("/patches/99999999999999999999")
    assert 400 <= r.status_code < 500, r.text
    assert "Traceback" not in r.text and "psycopg" not in r.text


# --- tracker keys -------------------------------------------------------------------------


def test_tracker_keys_post_only_their_own_fixes(
    territory_engine: Engine, role_client: RoleClient
) -> None:
    with territory_engine.begin() as conn:
        register_supervisors(
            conn, [SupervisorSpec("S1", "张三"), SupervisorSpec("S2", "李四")], shown="s"
        )
        with pytest.raises(ValidationFailed, match="no tracker 'T9'"):
            create_api_key(conn, name="t9", role=Role.tracker, created_by="t", supervisor_id="T9")
        with pytest.raises(ValidationFailed, match="not a person"):
            create_user(conn, username="t1", role=Role.tracker, password="t1-password")
    terminal = role_client("tracker", supervisor_id="S1")
    fix = {"timestamp": "2026-10-09 09:00:00", "lon": 102.85, "lat": 24.98}
    ok = terminal.post("/tracks", json={"fixes": [{"supervisor_id": "S1", **fix}]})
    assert ok.status_code == 200 and ok.json()["inserted"] == 1, ok.text
    with territory_engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT actor, role, entity, entity_id, summary FROM audit_log "
                "WHERE path = '/tracks'"
            )
        ).one()
    assert (row.role, row.entity, row.entity_id) == ("tracker", "tracks", "S1")
    assert row.summary == {"received": 1, "inserted": 1, "duplicates": 0, "flagged": 0}
    other = terminal.post("/tracks", json={"fixes": [{"supervisor_id": "S2", **fix}]})
    _shape(other, 403, "forbidden")
    _shape(terminal.get("/collections/grids/items"), 403, "forbidden")
    _shape(terminal.post("/cases", json=case("T1", A12, **WHEN)), 403, "forbidden")


# --- street operators handle the patches of their streets -----------------------------------


@pytest.fixture
def patches(territory_engine: Engine, tmp_path: Path) -> dict[str, dict[str, Any]]:
    with TestClient(create_app(app_settings(territory_engine)), headers=ADMIN) as admin:
        assert post_batch(admin, patch_file(tmp_path)).status_code == 201
        listed = admin.get("/patches").json()["patches"]
    return {p["patch_code"]: p for p in listed}


def test_street_operators_handle_only_their_streets_patches(
    patches: dict[str, dict[str, Any]], role_client: RoleClient, territory_engine: Engine
) -> None:
    streets = sorted({p["street_code"] for p in patches.values()})
    mine = streets[0]
    operator = role_client("street_operator", streets=[mine])
    inside = next(p for p in patches.values() if p["street_code"] == mine)
    r = handle(operator, inside["id"], "documents")
    assert r.status_code == 201, r.text
    outside = [p for p in patches.values() if p["street_code"] != mine]
    if outside:
        with territory_engine.connect() as conn:
            before = conn.execute(sa.text("SELECT count(*) FROM patch_handling")).scalar_one()
        r = handle(operator, outside[0]["id"], "documents")
        body = _shape(r, 403, "forbidden")
        assert outside[0]["street_code"] in body["message"]
        with territory_engine.connect() as conn:
            after = conn.execute(sa.text("SELECT count(*) FROM patch_handling")).scalar_one()
        assert after == before
    viewer = role_client("viewer")
    _shape(handle(viewer, inside["id"], "documents"), 403, "forbidden")
    supervisor_scope = role_client(Role.admin)
    assert supervisor_scope.get(f"/patches/{inside['id']}").status_code == 200


def test_a_query_over_the_statement_timeout_is_a_503_sentence(territory_engine: Engine) -> None:
    app = create_app(app_settings(territory_engine, statement_timeout_ms=1))
    with TestClient(app, headers=ADMIN) as c:
        answers = [c.get("/collections/grids/items", params={"limit": 1000}) for _ in range(5)]
    timed_out = [r for r in answers if r.status_code == 503]
    assert timed_out, [r.status_code for r in answers]
    body = _shape(timed_out[0], 503, "query_timeout")
    assert "took too long" in body["message"]


def test_a_nul_character_is_a_400_sentence(anon_client: TestClient, client: TestClient) -> None:
    r = anon_client.post("/auth/token", data={"username": "ro\x00ot", "password": "x"})
    body = _shape(r, 400, "invalid_value")
    assert "NUL character" in body["message"]
    _shape(client.get("/audit", params={"actor": "a\x00b"}), 400, "invalid_value")


def test_a_job_started_by_a_write_is_audited_as_a_202(
    client: TestClient, territory_engine: Engine, tmp_path: Path
) -> None:
    rows = write_csv(tmp_path / "cases.csv", [case("JOB1", A12, **WHEN)])
    with rows.open("rb") as fh:
        r = client.post(
            "/cases/import", params={"async": "true"}, files={"file": ("cases.csv", fh, "text/csv")}
        )
    assert r.status_code == 202, r.text
    with territory_engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, summary FROM audit_log WHERE path = '/cases/import'")
        ).one()
    assert row.status == 202 and row.summary["job"] == r.json()["job"]
