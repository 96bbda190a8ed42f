"""Access control over HTTP: tokens, API keys, the role matrix, public reads, scope, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from geogrid.auth import Role, create_api_key, create_user, issue_token, revoke_api_key
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from tests.api.conftest import RoleClient
from tests.cases_data import case, write_csv
from tests.credentials import ADMIN, SECRET_KEY, app_settings

A11, A12, B11 = "530114001001001", "530114001001002", "530114002001001"
STREET_A = "530114001"
WHEN = {"registered_at": "2026-10-02T09:00:00"}


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["message"].endswith(".") and body["details"] == []
    return body


def _audit(engine: Engine, **where: object) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id")).mappings().all()
    return [dict(r) for r in rows if all(r[k] == v for k, v in where.items())]


@pytest.fixture
def with_user(territory_engine: Engine) -> Engine:
    """The territory with supervisor S1 and users op (street 001), s1 (S1) and root (admin)."""
    with territory_engine.begin() as conn:
        register_supervisors(conn, [SupervisorSpec("S1", "张三", grids=(A11,))], shown="s")
        create_user(
            conn,
            username="op",
            role=Role.street_operator,
            password="op-password",
            streets=[STREET_A],
        )
        create_user(
            conn, username="s1", role=Role.supervisor, password="s1-password", supervisor_id="S1"
        )
        create_user(conn, username="root", role=Role.admin, password="root-password")
    return territory_engine


# --- tokens -------------------------------------------------------------------------------


def test_token_login_and_use(with_user: Engine, anon_client: TestClient) -> None:
    r = anon_client.post("/auth/token", data={"username": "op", "password": "op-password"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert anon_client.get("/collections", headers=bearer).status_code == 200
    login = _audit(with_user, action="login", outcome="ok")
    assert login[0]["actor"] == "op" and login[0]["role"] == "street_operator"
    assert login[0]["client"] == "testclient"


def test_a_wrong_password_is_a_401_and_audited(with_user: Engine, anon_client: TestClient) -> None:
    r = anon_client.post("/auth/token", data={"username": "op", "password": "guess-word"})
    _error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    r = anon_client.post("/auth/token", data={"username": "ghost", "password": "guess-word"})
    _error(r, 401, "unauthorized")
    failed = _audit(with_user, action="login", outcome="failed")
    assert [(f["actor"], f["status"], f["path"]) for f in failed] == [
        ("op", 401, "/auth/token"),
        ("ghost", 401, "/auth/token"),
    ]


def test_expired_forged_and_malformed_tokens_are_401(
    with_user: Engine, anon_client: TestClient
) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    with with_user.connect() as conn:
        uid = conn.execute(sa.text("SELECT id FROM users WHERE username = 'op'")).scalar_one()
    expired = issue_token(
        user_id=uid, username="op", version=1, secret=SECRET_KEY, minutes=30, now=past
    )
    r = anon_client.get("/collections", headers={"Authorization": f"Bearer {expired}"})
    assert "expired" in _error(r, 401, "unauthorized")["message"]
    forged = issue_token(user_id=uid, username="op", version=1, secret="x" * 32, minutes=30)
    r = anon_client.get("/collections", headers={"Authorization": f"Bearer {forged}"})
    _error(r, 401, "unauthorized")
    r = anon_client.get("/collections", headers={"Authorization": "Basic b3A6b3AtcGFzc3dvcmQ="})
    _error(r, 401, "unauthorized")
    refused = _audit(with_user, action="read", outcome="refused")
    assert len(refused) == 3 and {r["summary"]["credential"] for r in refused} == {"token"}


# --- API keys -----------------------------------------------------------------------------


def test_api_key_create_use_revoke(territory_engine: Engine, anon_client: TestClient) -> None:
    with territory_engine.begin() as conn:
        _, key = create_api_key(conn, name="gis", role=Role.viewer, created_by="tests")
    headers = {"X-API-Key": key}
    assert anon_client.get("/collections/grids/items", headers=headers).status_code == 200
    with territory_engine.begin() as conn:
        revoke_api_key(conn, "gis")
    r = anon_client.get("/collections/grids/items", headers=headers)
    assert "revoked" in _error(r, 401, "unauthorized")["message"]
    _error(anon_client.get("/collections", headers={"X-API-Key": "gg_nope"}), 401, "unauthorized")


# --- the role matrix ----------------------------------------------------------------------

ROLES = ["admin", "street_operator", "supervisor", "viewer", "tracker", None]


def _case_csv(tmp: Path) -> bytes:
    return write_csv(tmp / "cases.csv", [case("CSV1", A12, **WHEN)]).read_bytes()


def _fix() -> dict[str, Any]:
    return {"supervisor_id": "S1", "timestamp": "2026-10-09 09:00:00", "lon": 102.85, "lat": 24.98}


REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "read items": ("GET", "/collections/grids/items", {}),
    "read supervisors": ("GET", "/supervisors", {}),
    "read map page": ("GET", "/maps/grids", {}),
    "read computed by POST": ("POST", "/patrol/response-times", {"json": {"tasks": []}}),
    "read audit": ("GET", "/audit", {}),
    "post case": ("POST", "/cases", {"json": case("M1", A12, **WHEN)}),
    "import cases": ("POST", "/cases/import", {}),
    "post tracks": ("POST", "/tracks", {"json": {"fixes": [_fix()]}}),
    "register supervisor": ("POST", "/supervisors", {"json": {"id": "S9", "name": "王五"}}),
    "set shifts": ("PUT", "/supervisors/S1/shifts", {"json": {"shifts": []}}),
    "reject plan": ("POST", "/grid-updates/1/reject", {}),
    "patch handling": ("POST", "/patches/1/handling", {}),
    "score assessment": ("POST", "/assessments", {"json": {}}),
}
ALLOWED = {
    "admin": set(REQUESTS),
    "street_operator": {k for k in REQUESTS if k.startswith("read ")} - {"read audit"}
    | {"post case", "import cases", "patch handling"},
    "supervisor": {k for k in REQUESTS if k.startswith("read ")} - {"read audit"}
    | {"post case", "post tracks"},
    "viewer": {k for k in REQUESTS if k.startswith("read ")} - {"read audit"},
    "tracker": {"post tracks"},
    None: set(),
}


@pytest.fixture
def clients(with_user: Engine, role_client: RoleClient) -> Iterator[dict[str | None, TestClient]]:
    made: dict[str | None, TestClient] = {
        "admin": role_client("admin"),
        "street_operator": role_client("street_operator", streets=[STREET_A]),
        "supervisor": role_client("supervisor", supervisor_id="S1"),
        "viewer": role_client("viewer"),
        "tracker": role_client("tracker", supervisor_id="S1"),
    }
    with TestClient(create_app(app_settings(with_user))) as anonymous:
        made[None] = anonymous
        yield made


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(
    role: str | None, clients: dict[str | None, TestClient], tmp_path: Path
) -> None:
    client = clients[role]
    for name, (method, path, kwargs) in REQUESTS.items():
        if name == "import cases":
            kwargs = {"files": {"file": ("cases.csv", _case_csv(tmp_path), "text/csv")}}
        r = client.request(method, path, **kwargs)
        if name in ALLOWED[role]:
            assert r.status_code not in (401, 403), (role, name, r.text)
            assert r.status_code < 500, (role, name, r.text)
        else:
            assert r.status_code == (401 if role is None else 403), (role, name, r.text)
            _error(r, r.status_code, "unauthorized" if role is None else "forbidden")


def _concrete(path: str) -> str:
    fill = {"{tms}": "WebMercatorQuad", "{z}": "0", "{x}": "0", "{y}": "0"}
    for placeholder, value in fill.items():
        path = path.replace(placeholder, value)
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "1" + path[end + 1 :]
    return path


def test_every_endpoint_against_every_role(clients: dict[str | None, TestClient]) -> None:
    """Every route of the OpenAPI document × every role: anonymous 401 (public ones aside);
    a role the table does not allow 403 before the input is even read; a role it allows gets
    past access control (its dummy input may be refused, never with a 5xx)."""
    from geogrid.auth import Access, access_of, permits

    spec = clients["admin"].get("/openapi.json").json()
    refused = allowed = 0
    for path, operations in spec["paths"].items():
        url = _concrete(path)
        for method in operations:
            access = access_of(method.upper(), url)
            if access is Access.public or path == "/logout":
                continue
            r = clients[None].request(method.upper(), url)
            assert r.status_code == 401, (method, path, r.status_code)
            for role in ("admin", "street_operator", "supervisor", "viewer", "tracker"):
                r = clients[role].request(method.upper(), url)
                if permits(Role(role), method.upper(), url):
                    assert r.status_code not in (401, 403), (role, method, path, r.text)
                    assert r.status_code < 500, (role, method, path, r.text)
                    allowed += 1
                else:
                    assert r.status_code == 403, (role, method, path, r.status_code)
                    assert r.json()["code"] == "forbidden"
                    refused += 1
    assert refused > 100 and allowed > 100


# --- public reads -------------------------------------------------------------------------


def test_public_read(territory_engine: Engine) -> None:
    app = create_app(app_settings(territory_engine, public_read=True))
    with TestClient(app) as anonymous:
        assert anonymous.get("/collections/grids/items").status_code == 200
        assert anonymous.get("/maps/grids").status_code == 200
        _error(anonymous.post("/cases", json=case("X", A12, **WHEN)), 401, "unauthorized")
        _error(anonymous.get("/audit"), 401, "unauthorized")
        bad = {"X-API-Key": "gg_wrong"}
        _error(anonymous.get("/collections", headers=bad), 401, "unauthorized")
        assert anonymous.get("/collections", headers=ADMIN).status_code == 200


def test_public_paths_need_no_login(anon_client: TestClient) -> None:
    for path in (
        "/health",
        "/login",
        "/openapi.json",
        "/docs",
        "/static/vendor/leaflet/leaflet.js",
    ):
        assert anon_client.get(path).status_code == 200, path
    spec = anon_client.get("/openapi.json").json()
    assert {"APIKeyHeader", "OAuth2PasswordBearer"} <= set(spec["components"]["securitySchemes"])


# --- scope --------------------------------------------------------------------------------


def test_a_street_operator_is_refused_another_streets_case(
    with_user: Engine, clients: dict[str | None, TestClient], tmp_path: Path
) -> None:
    op, admin = clients["street_operator"], clients["admin"]
    assert op.post("/cases", json=case("OWN", A12, **WHEN)).status_code == 201
    r = op.post("/cases", json=case("OTHER", B11, **WHEN))
    body = _error_with_details(r, 403, "forbidden")
    assert "530114002" in body["message"] and body["details"][0]["rule"] == "out_of_scope"
    assert admin.post("/cases", json=case("B-CASE", B11, **WHEN)).status_code == 201
    r = op.post("/cases", json={**case("B-CASE", A12, **WHEN), "closed_at": "2026-10-03"})
    assert _error_with_details(r, 403, "forbidden")["details"][0]["where"] == "row 2"
    path = write_csv(tmp_path / "mixed.csv", [case("F1", A12, **WHEN), case("F2", B11, **WHEN)])
    r = op.post("/cases/import", files={"file": ("mixed.csv", path.read_bytes(), "text/csv")})
    assert "Row 3: case F2" in _error_with_details(r, 403, "forbidden")["message"]
    with with_user.connect() as conn:
        stored = conn.execute(sa.text("SELECT case_id, closed_at FROM cases ORDER BY 1")).all()
    assert [tuple(s) for s in stored] == [("B-CASE", None), ("OWN", None)]
    refused = _audit(with_user, action="write", outcome="refused", path="/cases")
    assert [(r["entity"], r["entity_id"], r["status"]) for r in refused] == [
        ("cases", "OTHER", 403),
        ("cases", "B-CASE", 403),
    ]


def test_a_supervisor_posts_as_itself(
    with_user: Engine, clients: dict[str | None, TestClient]
) -> None:
    sup = clients["supervisor"]
    with with_user.begin() as conn:
        register_supervisors(conn, [SupervisorSpec("S2", "李四", grids=(A11,))], shown="s")
    assert sup.post("/tracks", json={"fixes": [_fix()]}).status_code == 200
    other = {**_fix(), "supervisor_id": "S2"}
    _error_with_details(sup.post("/tracks", json={"fixes": [other]}), 403, "forbidden")
    assert sup.post("/cases", json=case("SUP", A12, **WHEN)).status_code == 201
    hotline = case("HOT", A12, source="hotline", **WHEN)
    _error_with_details(sup.post("/cases", json=hotline), 403, "forbidden")


def _error_with_details(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["details"]
    return body


# --- audit --------------------------------------------------------------------------------


def test_writes_and_refusals_are_in_the_audit(
    with_user: Engine, clients: dict[str | None, TestClient]
) -> None:
    admin, viewer = clients["admin"], clients["viewer"]
    assert admin.post("/cases", json=case("AUD", A12, **WHEN)).status_code == 201
    assert admin.post("/grid-updates/42/reject").status_code == 404
    _error(viewer.post("/cases", json=case("NO", A12, **WHEN)), 403, "forbidden")
    _error(clients[None].get("/collections"), 401, "unauthorized")

    trail = admin.get("/audit", params={"limit": 10}).json()["items"]
    anonymous, refused, failed, written = trail[:4]
    assert written["actor"].startswith("key:tests-admin") and written["role"] == "admin"
    assert (written["action"], written["outcome"], written["status"]) == ("write", "ok", 201)
    assert (written["method"], written["path"]) == ("POST", "/cases")
    assert (written["entity"], written["entity_id"]) == ("cases", "AUD")
    assert written["summary"] == {"inserted": 1, "updated": 0}
    assert written["client"] == "testclient" and written["at"]
    assert (failed["entity"], failed["plan_id"], failed["outcome"]) == (
        "grid-updates",
        "42",
        "failed",
    )
    assert (refused["role"], refused["outcome"], refused["status"]) == ("viewer", "refused", 403)
    assert "may not POST /cases" in refused["message"]
    assert (anonymous["actor"], anonymous["action"], anonymous["status"]) == (None, "read", 401)

    only = admin.get("/audit", params={"outcome": "refused", "action": "write"}).json()
    assert [i["id"] for i in only["items"]] == [refused["id"]]
    page = admin.get("/audit", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and "offset=1" in page["links"]["next"]
    assert admin.get("/audit", params={"entity": "cases", "entity_id": "AUD"}).json()["items"]
    assert admin.get("/audit", params={"outcome": "maybe"}).status_code == 400
    _error(viewer.get("/audit"), 403, "forbidden")


# --- the login page and its cookie --------------------------------------------------------


def test_login_page_sets_the_cookie_then_the_map_loads(
    with_user: Engine, anon_client: TestClient
) -> None:
    page = anon_client.get("/maps/grids", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/maps/grids"
    form = anon_client.get(page.headers["location"])
    assert form.status_code == 200 and form.headers["x-frame-options"] == "DENY"
    assert "用户名" in form.text and "密码" in form.text and 'value="/maps/grids"' in form.text

    wrong = anon_client.post(
        "/login", data={"username": "root", "password": "nope-nope", "next": "/maps/grids"}
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert "geogrid_session" not in anon_client.cookies

    ok = anon_client.post(
        "/login",
        data={"username": "root", "password": "root-password", "next": "/maps/grids"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/maps/grids"
    cookie = ok.headers["set-cookie"]
    assert "geogrid_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Max-Age=28800" in cookie and "Path=/" in cookie
    assert anon_client.get("/maps/grids").status_code == 200
    assert anon_client.get("/collections/grids/items").status_code == 200

    # a write with the cookie must come from this site's pages (CSRF)
    r = anon_client.post("/cases", json=case("C1", A12, **WHEN))
    assert "this site" in _error(r, 403, "forbidden")["message"]
    same = {"Origin": "http://testserver"}
    assert anon_client.post("/cases", json=case("C1", A12, **WHEN), headers=same).status_code == 201

    out = anon_client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert anon_client.get("/collections").status_code == 401
    logins = _audit(with_user, action="login")
    assert [(r["actor"], r["outcome"], r["path"]) for r in logins] == [
        ("root", "failed", "/login"),
        ("root", "ok", "/login"),
    ]
    assert _audit(with_user, action="logout")[0]["actor"] == "root"


def test_login_never_redirects_to_another_site(with_user: Engine, anon_client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = anon_client.post(
            "/login",
            data={"username": "root", "password": "root-password", "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/maps/grids", target


def test_an_expired_cookie_sends_the_browser_to_login(
    with_user: Engine, anon_client: TestClient
) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    with with_user.connect() as conn:
        uid = conn.execute(sa.text("SELECT id FROM users WHERE username = 'root'")).scalar_one()
    old = issue_token(
        user_id=uid, username="root", version=1, secret=SECRET_KEY, minutes=5, now=past
    )
    anon_client.cookies.set("geogrid_session", old)
    r = anon_client.get("/maps/grids?x=1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/maps/grids%3Fx%3D1"
    assert 'geogrid_session=""' in r.headers["set-cookie"]


def test_a_websocket_needs_a_login_too(anon_client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, anon_client.websocket_connect("/ws"):
        pass
    assert refused.value.code == 1008
