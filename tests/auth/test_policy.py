"""The role table (geogrid.auth.policy): pure, every role against reads, writes and public paths."""

from __future__ import annotations

import pytest

from geogrid.auth import Access, Principal, Role, access_of, authorize, permits
from geogrid.auth.policy import matches
from geogrid.errors import Forbidden, Unauthorized


@pytest.mark.parametrize(
    ("method", "path", "access"),
    [
        ("GET", "/health", Access.public),
        ("GET", "/login", Access.public),
        ("POST", "/login", Access.public),
        ("POST", "/auth/token", Access.public),
        ("GET", "/openapi.json", Access.public),
        ("GET", "/docs", Access.public),
        ("GET", "/static/vendor/leaflet/leaflet.js", Access.public),
        ("GET", "/collections/grids/items", Access.read),
        ("HEAD", "/maps/grids", Access.read),
        ("GET", "/audit", Access.read),
        ("POST", "/patrol/response-times", Access.read),
        ("POST", "/cases", Access.write),
        ("PUT", "/supervisors/S1/shifts", Access.write),
        ("DELETE", "/cases/P1", Access.write),
        ("PATCH", "/anything/new", Access.write),
        ("POST", "/health", Access.public),
        ("GET", "/staticky", Access.read),
        ("POST", "/static/x", Access.public),
    ],
)
def test_access_of(method: str, path: str, access: Access) -> None:
    assert access_of(method, path) is access


WRITES = [
    ("POST", "/cases"),
    ("POST", "/cases/import"),
    ("POST", "/tracks"),
    ("POST", "/supervisors"),
    ("PUT", "/supervisors/S1/shifts"),
    ("POST", "/grid-updates"),
    ("POST", "/grid-updates/1/apply"),
    ("POST", "/patches/1/handling"),
    ("POST", "/assessments"),
    ("DELETE", "/cases/P1"),
    ("POST", "/cases/"),  # not the routed path: no role but admin gets it
]
ALLOWED = {
    Role.admin: set(WRITES),
    Role.street_operator: {
        ("POST", "/cases"),
        ("POST", "/cases/import"),
        ("POST", "/patches/1/handling"),
    },
    Role.supervisor: {("POST", "/cases"), ("POST", "/tracks")},
    Role.viewer: set(),
    Role.tracker: {("POST", "/tracks")},
}


@pytest.mark.parametrize("role", list(Role))
def test_write_matrix(role: Role) -> None:
    allowed = {w for w in WRITES if permits(role, *w)}
    assert allowed == ALLOWED[role]


@pytest.mark.parametrize(
    ("template", "path", "matched"),
    [
        ("/patches/{patch_id}/handling", "/patches/17/handling", True),
        ("/patches/{patch_id}/handling", "/patches//handling", False),
        ("/patches/{patch_id}/handling", "/patches/17/handling/x", False),
        ("/patches/{patch_id}/handling", "/patches/17/verify", False),
        ("/cases", "/cases/", False),
    ],
)
def test_route_templates_match_one_segment(template: str, path: str, matched: bool) -> None:
    assert matches(template, path) is matched


def test_a_tracker_posts_its_fixes_and_reads_nothing() -> None:
    assert permits(Role.tracker, "POST", "/tracks")
    assert not permits(Role.tracker, "GET", "/collections/cases/items")
    assert not permits(Role.tracker, "POST", "/cases")
    terminal = Principal("api_key", "truck-01", Role.tracker, supervisor_id="T01")
    assert terminal.scope.supervisor_id == "T01"


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.tracker])
def test_every_role_reads_and_only_admin_reads_the_audit(role: Role) -> None:
    assert permits(role, "GET", "/collections/cases/items")
    assert permits(role, "POST", "/patrol/response-times")
    assert permits(role, "GET", "/audit") is (role is Role.admin)
    assert permits(role, "GET", "/audit/anything") is (role is Role.admin)


def test_authorize_anonymous() -> None:
    assert authorize(None, "GET", "/health", public_read=False) is Access.public
    with pytest.raises(Unauthorized, match="Log in first"):
        authorize(None, "GET", "/collections", public_read=False)
    assert authorize(None, "GET", "/collections", public_read=True) is Access.read
    with pytest.raises(Unauthorized):
        authorize(None, "POST", "/cases", public_read=True)
    with pytest.raises(Unauthorized):
        authorize(None, "GET", "/audit", public_read=True)


def test_authorize_names_role_and_actor_when_refusing() -> None:
    viewer = Principal("api_key", "dashboard", Role.viewer)
    assert authorize(viewer, "GET", "/collections", public_read=False) is Access.read
    with pytest.raises(Forbidden, match=r"role 'viewer' of key:dashboard may not POST /cases"):
        authorize(viewer, "POST", "/cases", public_read=False)


def test_scope_follows_the_role() -> None:
    op = Principal("user", "op", Role.street_operator, frozenset({"530114001"}))
    assert op.scope.streets == {"530114001"} and op.scope.supervisor_id is None
    sup = Principal("user", "s1", Role.supervisor, supervisor_id="S1")
    assert sup.scope.supervisor_id == "S1" and sup.scope.streets is None
    assert Principal("user", "root", Role.admin).scope.unlimited
