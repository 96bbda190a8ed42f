"""Request-level protections: a body size limit, security headers, and CORS when configured.

All three are plain ASGI middlewares, so they cover every path, present and future:

* :class:`BodyLimit` refuses a request body larger than the installation allows with a 413
  in the one error shape, from its ``Content-Length`` before reading anything, or as soon as
  a chunked body passes the limit;
* :class:`SecurityHeaders` adds ``X-Content-Type-Options``, ``Referrer-Policy`` and, on HTML
  pages, a ``Content-Security-Policy`` that keeps the map pages to their own origin (scripts,
  tiles, data) and the basemap's host, and forbids framing by other sites;
* CORS is off by default; ``GEOGRID_CORS_ORIGINS`` lists the origins allowed to call the API
  from a browser (Starlette's ``CORSMiddleware``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from geogrid.settings import Settings

BODY_SLACK = 1 << 20
"""Bytes a multipart body may carry beyond the largest upload (boundaries, other fields)."""

UNFRAMED = ("/docs", "/redoc")
"""HTML pages without the policy: the API documentation, which loads its own assets."""


def _too_large(limit_mb: int) -> JSONResponse:
    message = (
        f"The request body is larger than the limit of {limit_mb} MB "
        "(GEOGRID_MAX_UPLOAD_MB); split the file or ask the administrator to raise it."
    )
    return JSONResponse(error_body("too_large", message), status_code=413)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (see module)."""

    def __init__(self, app: ASGIApp, *, limit_mb: int) -> None:
        self.app = app
        self.shown = limit_mb
        self.limit = (limit_mb << 20) + BODY_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    response = JSONResponse(
                        error_body("bad_request", "The Content-Length header is not a number."),
                        status_code=400,
                    )
                    await response(scope, receive, send)
                    return
                if declared > self.limit:
                    await _too_large(self.shown)(scope, receive, send)
                    return
        received = 0
        started = answered = False

        async def counted() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit and not started:
                    # A chunked body: answer 413 now; the app then sees the client gone.
                    answered = True
                    await _too_large(self.shown)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_answered(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, unless_answered)
        except Exception:
            if not answered:
                raise


def content_security_policy(basemap_url: str | None) -> str:
    """The policy of the HTML pages: everything from this origin (inline scripts and styles
    of the folium pages included), images also from the basemap's host, no framing."""
    images = "'self' data: blob:"
    if basemap_url:
        parts = urlsplit(basemap_url.replace("{s}", "a"))
        if parts.scheme and parts.netloc:
            host = parts.netloc.split(".", 1)[-1] if "{s}" in basemap_url else parts.netloc
            prefix = "*." if "{s}" in basemap_url else ""
            images += f" {parts.scheme}://{prefix}{host}"
    return (
        "default-src 'self'; "
        "script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; "
        "connect-src 'self'; "
        "font-src 'self' data:; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'self'"
    )


class SecurityHeaders:
    """Add security headers to every response, and the content policy to HTML pages."""

    def __init__(self, app: ASGIApp, *, policy: str) -> None:
        self.app = app
        self.common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        self.page = [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"SAMEORIGIN"),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        documented = scope["path"].startswith(UNFRAMED)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = list(self.common)
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") and not documented:
                    extra += self.page
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the body limit, the security headers and (when configured) CORS to ``app``.

    Call it after the other middlewares: these then run first, outermost."""
    app.add_middleware(BodyLimit, limit_mb=settings.max_upload_mb)
    app.add_middleware(SecurityHeaders, policy=content_security_policy(settings.basemap_url))
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
