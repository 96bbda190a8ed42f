"""One JSON error shape for every 4xx/5xx, installed once on the app.

``{"code": ..., "message": "<a sentence>", "details": [{"where", "rule", "message"}, ...]}``.
No stack trace or SQL ever reaches a response.
"""

from __future__ import annotations

import logging
from typing import Any

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
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request"
        details.append(
            {
                "where": name,
                "rule": str(err.get("type", "invalid")),
                "message": f"Parameter '{name}': {err.get('msg', 'invalid value')}.",
            }
        )
    names = ", ".join(f"'{d['where']}'" for d in details)
    message = f"Invalid parameter {names}: {details[0]['message']}" if details else "Bad request."
    return JSONResponse(error_body("invalid_parameter", message, details), status_code=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request refused."
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is nothing at {request.url.path}."
    return JSONResponse(
        error_body(code, message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _db_error(request: Request, exc: Exception) -> JSONResponse:
    orig = getattr(exc, "orig", None)
    if orig is not None and getattr(orig, "pgcode", None) == "57014":
        message = "The query took too long and was stopped; narrow the request (bbox, filters)."
    else:
        message = "The database is not available right now; try again in a few seconds."
        log.warning("database error on %s: %s", request.url.path, exc)
    return JSONResponse(error_body("database_unavailable", message), status_code=503)


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
    app.add_exception_handler(sa.exc.OperationalError, _db_error)
    app.add_exception_handler(Exception, _unexpected)
