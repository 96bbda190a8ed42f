"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation is called with generated valid and invalid input (schemathesis' coverage phase:
boundary values of every parameter; then its fuzzing phase), as an admin so that access control
lets the input reach the route. The contract: no 5xx, and every 4xx has the one JSON error shape
of ``api/errors.py`` with neither a stack trace nor SQL in it.

The run is bounded and reproducible: a fixed seed, derandomized generation, ``MAX_EXAMPLES``
generated cases per operation, no example database. The requests go to a real uvicorn process
over a database of its own (cloned from the template, with the hand-made territory), so the
fuzzer's writes reach no other test. Each operation is one test: ``-k "POST /cases"`` runs one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from sqlalchemy.engine import make_url

from api.app import create_app
from geogrid.db.engine import make_engine
from geogrid.settings import Settings
from tests.api.conftest import serve
from tests.conftest import TEMPLATE, clone_database, drop_database
from tests.credentials import ADMIN, SECRET_KEY
from tests.territory import load_territory

MAX_EXAMPLES = 25
"""Generated cases per operation in the fuzzing phase (the coverage phase adds its own)."""

LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "SELECT ", "INSERT INTO", "UPDATE ")
"""Text that would show a stack trace or SQL in a response."""

PAGES = {("POST", "/login")}
"""Forms of the map pages: a refused login is answered with the login page again, for a browser."""

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240601,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        # Single operations only: no chains of calls following links between responses.
        "phases": {"stateful": {"enabled": False}},
    }
)

# The schema of the app as built (no database is needed for it); the cases go to `base_url`.
_app = create_app(Settings(database_url="postgresql:///unused", secret_key=SECRET_KEY))
schema = schemathesis.openapi.from_dict(_app.openapi(), config=CONFIG)


@pytest.fixture(scope="module")
def base_url(pg_server: str, template_url: str) -> Iterator[str]:
    """The app on a real port over a database of its own holding the hand-made territory."""
    url = clone_database(pg_server, make_url(template_url).database or TEMPLATE)
    engine = make_engine(url)
    try:
        load_territory(engine)
        with serve(engine) as served:
            yield served
    finally:
        engine.dispose()
        drop_database(pg_server, url)


def one_error_shape(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A 4xx/5xx body is ``{"code", "message", "details"}`` and shows no trace or SQL."""
    if response.status_code < 400:
        return
    text = response.text
    leaked = [t for t in LEAKS if t in text]
    assert not leaked, f"{response.status_code} body shows {leaked}: {text[:500]}"
    content_type = response.headers.get("content-type", [""])[0]
    if (case.method.upper(), case.path) in PAGES and content_type.startswith("text/html"):
        return
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered with {content_type!r}: {text[:200]}"
    )
    body = response.json()
    assert isinstance(body, dict), text[:200]
    assert set(body) == {"code", "message", "details"}, f"error body keys {sorted(body)}"
    assert isinstance(body["code"], str) and isinstance(body["message"], str)
    assert isinstance(body["details"], list)


@schema.parametrize()
def test_api_fuzz(case: schemathesis.Case, base_url: str) -> None:
    """No generated request makes the server fail or answer an error of another shape."""
    response = case.call(base_url=base_url, headers=ADMIN, timeout=60)
    case.validate_response(response, checks=[not_a_server_error, one_error_shape])
