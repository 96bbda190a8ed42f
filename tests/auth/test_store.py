"""Users, API keys, the audit trail and write scope, against a real PostGIS."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geogrid.auth import (
    Principal,
    Role,
    audit,
    authenticate,
    check_login,
    create_api_key,
    create_user,
    ensure_admin,
    list_audit,
    login_token,
    reset_password,
    revoke_api_key,
    set_disabled,
)
from geogrid.cases import register_case
from geogrid.catalogue import load_catalogue
from geogrid.errors import Forbidden, Unauthorized, ValidationFailed
from geogrid.patrol.fixes import parse_fixes, store_fixes
from geogrid.patrol.supervisors import SupervisorSpec, register_supervisors
from geogrid.worktime import WorkCalendar
from tests.cases_data import case

SECRET = "k" * 32
A11, B11 = "530114001001001", "530114002001001"
STREET_A, STREET_B = "530114001", "530114002"


def test_login_disable_and_reset(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        user = create_user(
            conn, username="op", role=Role.street_operator, password="pass-word", streets=[STREET_A]
        )
        assert user.principal.streets == {STREET_A}
        assert check_login(conn, "op", "pass-word") == user
        assert check_login(conn, "op", "wrong-word") is None
        assert check_login(conn, "nobody", "pass-word") is None
        token = login_token(user, secret=SECRET, minutes=5)
        assert authenticate(conn, token=token, secret=SECRET) == user.principal
        reset_password(conn, "op", "new-pass-word")
        with pytest.raises(Unauthorized, match="no longer valid"):
            authenticate(conn, token=token, secret=SECRET)
        assert check_login(conn, "op", "pass-word") is None
        renewed = check_login(conn, "op", "new-pass-word")
        assert renewed is not None
        token = login_token(renewed, secret=SECRET, minutes=5)
        set_disabled(conn, "op")
        assert check_login(conn, "op", "new-pass-word") is None
        with pytest.raises(Unauthorized):
            authenticate(conn, token=token, secret=SECRET)


def test_roles_need_their_scope(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        with pytest.raises(ValidationFailed, match="at least one street"):
            create_user(conn, username="a", role=Role.street_operator, password="pass-word")
        with pytest.raises(ValidationFailed, match="530114009"):
            create_user(
                conn,
                username="a",
                role=Role.street_operator,
                password="pass-word",
                streets=["530114009"],
            )
        with pytest.raises(ValidationFailed, match="no supervisor 'S1'"):
            create_user(
                conn, username="a", role=Role.supervisor, password="pass-word", supervisor_id="S1"
            )
        with pytest.raises(ValidationFailed, match="Only a street operator"):
            create_user(
                conn, username="a", role=Role.viewer, password="pass-word", streets=[STREET_A]
            )
        with pytest.raises(ValidationFailed, match="letters, digits"):
            create_user(conn, username="a b", role=Role.viewer, password="pass-word")
        create_user(conn, username="a", role=Role.viewer, password="pass-word")
        with pytest.raises(ValidationFailed, match="already taken"):
            create_user(conn, username="a", role=Role.viewer, password="pass-word")


def test_api_keys_are_stored_hashed_and_revocable(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        stored, key = create_api_key(conn, name="gis", role=Role.viewer, created_by="tests")
        assert key.startswith("gg_") and len(key) > 40
        assert stored.prefix == key[:8]
        assert authenticate(conn, api_key=key) == Principal("api_key", "gis", Role.viewer)
        hashes = conn.execute(sa.text("SELECT key_hash FROM api_keys WHERE name = 'gis'")).all()
        assert key not in str(hashes)
        revoke_api_key(conn, "gis")
        with pytest.raises(Unauthorized, match="revoked"):
            authenticate(conn, api_key=key)
        with pytest.raises(Unauthorized):
            authenticate(conn, api_key="gg_guessed")
        assert authenticate(conn) is None


def test_the_audit_trail_is_append_only(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        row = audit(conn, action="write", outcome="ok", actor="x", method="POST", path="/cases")
        assert list_audit(conn, filters={"actor": "x"})[0]["id"] == row
    for statement in (
        "UPDATE audit_log SET actor = 'y'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            territory_engine.begin() as conn,
        ):
            conn.execute(sa.text(statement))
    with territory_engine.connect() as conn:
        assert list_audit(conn)[0]["actor"] == "x"
        with pytest.raises(ValueError):
            list_audit(conn, filters={"actor; DROP TABLE users": "x"})


def test_the_first_admin_is_created_once(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        first = ensure_admin(conn)
        assert first is not None and first.generated_password
        assert check_login(conn, "admin", first.generated_password) is not None
        assert ensure_admin(conn, password="another-one") is None
        assert list_audit(conn, filters={"action": "user", "entity_id": "admin"})


def test_the_given_admin_password_is_used(engine: Engine) -> None:
    with engine.begin() as conn:
        first = ensure_admin(conn, password="from-the-env")
        assert first is not None and first.generated_password is None
        assert check_login(conn, "admin", "from-the-env") is not None


def _register(conn: sa.Connection, row: dict[str, object], principal: Principal) -> None:
    register_case(
        conn,
        row,
        catalogue=load_catalogue(None),
        calendar=WorkCalendar.load(None),
        scope=principal.scope,
    )


def test_a_street_operator_writes_only_cases_of_its_streets(territory_engine: Engine) -> None:
    admin = Principal("user", "root", Role.admin)
    op = Principal("user", "op", Role.street_operator, frozenset({STREET_A}))
    when = {"registered_at": "2026-10-02T09:00:00"}
    with territory_engine.begin() as conn:
        _register(conn, case("IN-A", A11, **when), op)
        _register(conn, case("IN-B", B11, **when), admin)
    outside = pytest.raises(Forbidden, match="lies in street 530114002")
    with outside, territory_engine.begin() as conn:
        _register(conn, case("OUT", B11, **when), op)
    # moving another street's case into one's own street is writing that case: refused
    stored_outside = pytest.raises(Forbidden, match="stored in street 530114002")
    with stored_outside, territory_engine.begin() as conn:
        _register(conn, case("IN-B", A11, **when), op)
    with territory_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT case_id, street_code FROM cases ORDER BY 1")).all()
    assert [tuple(r) for r in rows] == [("IN-A", STREET_A), ("IN-B", STREET_B)]


def test_a_supervisor_reports_only_new_cases_as_a_supervisor(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        register_supervisors(conn, [SupervisorSpec("S1", "张三", grids=(A11,))], shown="s")
    sup = Principal("user", "s1", Role.supervisor, supervisor_id="S1")
    when = {"registered_at": "2026-10-02T09:00:00"}
    with territory_engine.begin() as conn:
        _register(conn, case("NEW", A11, **when), sup)
    with pytest.raises(Forbidden, match="already exists"), territory_engine.begin() as conn:
        _register(conn, case("NEW", A11, **when, closed_at="2026-10-02T18:00:00"), sup)
    with pytest.raises(Forbidden, match="source hotline"), territory_engine.begin() as conn:
        _register(conn, case("HOT", A11, source="hotline", **when), sup)


def test_a_supervisor_posts_only_its_own_fixes(territory_engine: Engine) -> None:
    with territory_engine.begin() as conn:
        register_supervisors(
            conn,
            [
                SupervisorSpec("S1", "张三", grids=(A11,)),
                SupervisorSpec("S2", "李四", grids=(A11,)),
            ],
            shown="s",
        )
    frame = pd.DataFrame(
        {
            "supervisor_id": ["S1", "S2"],
            "timestamp": ["2026-10-09 09:00:00", "2026-10-09 09:00:10"],
            "lon": ["102.85", "102.85"],
            "lat": ["24.98", "24.98"],
        }
    )
    fixes = parse_fixes(frame, supervisors={"S1", "S2"}, devices={})
    sup = Principal("api_key", "phone", Role.supervisor, supervisor_id="S1")
    other = pytest.raises(Forbidden, match="Line 3: the fix is of supervisor S2")
    with other, territory_engine.begin() as conn:
        store_fixes(conn, fixes, district_code="530114", scope=sup.scope)
    with territory_engine.begin() as conn:
        own = fixes[fixes["supervisor_id"] == "S1"]
        assert store_fixes(conn, own, district_code="530114", scope=sup.scope).inserted == 1
