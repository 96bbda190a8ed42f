"""One JSON error shape for every 4xx/5xx, installed once on the app.

``{"code": ..., "message": "<a sentence>", "details": [{"where", "rule", "message"}, ...]}``.
No stack trace or SQL ever reaches a response.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg2
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geogrid import errors

log = logging.getLogger("geogrid.api")

STATUS: dict[type[errors.GeogridError], tuple[int, str]] = {
    errors.NotFound: (404, "not_found"),
    errors.InvalidParameter: (400, "invalid_parameter"),
    errors.ValidationFailed: (422, "validation_failed"),
    errors.CRSMismatch: (422, "crs_mismatch"),
    errors.StalePlan: (409, "stale_plan"),
    errors.Conflict: (409, "conflict"),
    errors.TooLarge: (413, "too_large"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.Forbidden: (403, "forbidden"),
    errors.DatabaseUnavailable: (503, "database_unavailable"),
    errors.ClusterError: (503, "database_unavailable"),
}


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"code": code, "message": message, "details": details or []}


def _status_of(exc: errors.GeogridError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400, "bad_request"


async def _geogrid_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GeogridError)
    status, code = _status_of(exc)
    details = [p.as_dict() for p in exc.problems]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, exc.message, details), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = []
    for err in exc.errors():
        raw = tuple(err.get("loc", ()))
        rule = str(err.get("type", "invalid"))
        if rule == "json_invalid":
            at = next((p for p in raw if isinstance(p, int)), None)
            where = f" at character {at}" if at is not None else ""
            reason = str((err.get("ctx") or {}).get("error", "")).rstrip(".")
            message = f"The request body is not valid JSON{where}" + (
                f" ({reason})." if reason else "."
            )
            details.append({"where": "body", "rule": rule, "message": message})
            continue
        if raw == ("body",) and rule == "missing":
            details.append(
                {"where": "body", "rule": rule, "message": "The request body is missing."}
            )
            continue
        loc = [str(p) for p in raw if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request"
        details.append(
            {
                "where": name,
                "rule": rule,
                "message": f"Parameter '{name}': {err.get('msg', 'invalid value')}.",
            }
        )
    names = ", ".join(f"'{d['where']}'" for d in details)
    if details and details[0]["where"] == "body":
        message = details[0]["message"]
    elif details:
        message = f"Invalid parameter {names}: {details[0]['message']}"
    else:
        message = "Bad request."
    return JSONResponse(error_body("invalid_parameter", message, details), status_code=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request refused."
    details: list[dict[str, Any]] = []
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is nothing at {request.url.path}."
    elif exc.status_code == 400 and message == "There was an error parsing the body":
        code = "unreadable_body"
        message = (
            "The request body could not be read: send JSON or a form in UTF-8 with the "
            "matching Content-Type."
        )
        details = [{"where": "body", "rule": "unreadable", "message": message}]
    return JSONResponse(
        error_body(code, message, details),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


_CONFLICTS = {
    "23505": "is already stored",
    "23503": "refers to a record that does not exist, or is still referred to",
    "23P01": "overlaps a record already stored",
}
"""Integrity violations a request can cause, by SQLSTATE, and how they read."""


def _conflict_sentence(orig: Any, pgcode: str) -> str:
    """What the violated rule is about, from the driver's diagnostics (never the SQL)."""
    diag = getattr(orig, "diag", None)
    table = getattr(diag, "table_name", None)
    detail = getattr(diag, "message_detail", None) or ""
    if detail.startswith("Key ("):
        # "Key (supervisor_id)=(S01) already exists." names the field and the value.
        key = detail.split(" already exists")[0].split(" is not present")[0]
        where = f" of {table}" if table else ""
        return f"The request conflicts with stored data: {key}{where} {_CONFLICTS[pgcode]}."
    primary = (getattr(diag, "message_primary", None) or "").strip().rstrip(".")
    if primary and not primary.startswith(("duplicate key", "insert or update", "update or")):
        return f"The request conflicts with stored data: {primary}."  # a trigger's sentence
    what = f"a record of {table}" if table else "a record"
    return f"The request conflicts with stored data: {what} {_CONFLICTS[pgcode]}."


def db_error_response(exc: Exception, path: str) -> JSONResponse | None:
    """The answer to a database error: a statement timeout or a lost connection is a 503; an
    integrity violation a 409; a value PostgreSQL cannot take (out of range, bad syntax) a
    400. None for any other error (a 500)."""
    orig = getattr(exc, "orig", None)
    pgcode = getattr(orig, "pgcode", None) or ""
    if pgcode == "57014":
        message = "The query took too long and was stopped; narrow the request (bbox, filters)."
        return JSONResponse(error_body("query_timeout", message), status_code=503)
    if isinstance(exc, sa.exc.IntegrityError) and pgcode in _CONFLICTS:
        message = _conflict_sentence(orig, pgcode)
        return JSONResponse(error_body("conflict", message), status_code=409)
    if isinstance(exc, sa.exc.DataError) or pgcode.startswith("22"):
        message = (
            "A value of the request is out of range or not of the expected type for the "
            "database; check the numbers, dates and identifiers sent."
        )
        log.info("data error on %s: %s", path, exc)
        return JSONResponse(error_body("invalid_value", message), status_code=400)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or getattr(
        exc, "connection_invalidated", False
    ):
        log.warning("database error on %s: %s", path, exc)
        message = "The database is not available right now; try again in a few seconds."
        return JSONResponse(error_body("database_unavailable", message), status_code=503)
    return None


async def _db_error(request: Request, exc: Exception) -> JSONResponse:
    return db_error_response(exc, request.url.path) or await _unexpected(request, exc)


async def _driver_error(request: Request, exc: Exception) -> JSONResponse:
    """A driver error SQLAlchemy did not wrap (a connection lost while being returned)."""
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        log.warning("database error on %s: %s", request.url.path, exc)
        message = "The database is not available right now; try again in a few seconds."
        return JSONResponse(error_body("database_unavailable", message), status_code=503)
    return await _unexpected(request, exc)


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    log.warning("no database connection free for %s: %s", request.url.path, exc)
    message = "The service is busy: no database connection was free in time; try again shortly."
    return JSONResponse(error_body("busy", message), status_code=503)


NUL_TEXT = "cannot contain NUL (0x00) characters"
"""psycopg2's refusal of a NUL character in a text parameter, raised before any query."""


async def _value_error(request: Request, exc: Exception) -> JSONResponse:
    if NUL_TEXT in str(exc):
        message = (
            "A text value of the request contains a NUL character (\\u0000), which no field "
            "may hold."
        )
        details = [{"where": "request", "rule": "nul_character", "message": message}]
        return JSONResponse(error_body("invalid_value", message, details), status_code=400)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return JSONResponse(
        error_body("internal_error", "Something went wrong on the server; it has been logged."),
        status_code=500,
    )


def install(app: FastAPI) -> None:
    """Map every error type to its status code and the one JSON body shape."""
    app.add_exception_handler(errors.GeogridError, _geogrid_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa.exc.DBAPIError, _db_error)
    app.add_exception_handler(sa.exc.TimeoutError, _pool_exhausted)
    app.add_exception_handler(psycopg2.Error, _driver_error)
    app.add_exception_handler(ValueError, _value_error)
    app.add_exception_handler(Exception, _unexpected)
