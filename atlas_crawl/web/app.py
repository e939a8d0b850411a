"""The web view and JSON API of a history: a read-only Starlette application.

Every request reads in a read-only transaction from a pool of connections
(psycopg_pool). Pages are Jinja2 templates with autoescaping: a policy's text, headings
and addresses reach the page as text, never as markup. Every response carries a
Content-Security-Policy that allows scripts, styles and images from this origin only
(the page's own static files: nothing is loaded from another host, so it works
offline) and no inline script; a stored capture is never served as a page of this
origin, only downloaded as an attachment under ``Content-Security-Policy: sandbox``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from atlas_crawl.not_found import NotFound
from atlas_crawl.web import api, feeds, pages
from atlas_crawl.web.ids import BadRequest

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class Reader:
    """Read-only connections for requests."""

    def __init__(self, url: str, size: int = 8) -> None:
        def configure(conn: psycopg.Connection) -> None:
            conn.read_only = True  # every transaction of this connection is READ ONLY
            conn.autocommit = False

        self.pool = ConnectionPool(url, min_size=1, max_size=size, configure=configure,
                                   open=False, kwargs={"connect_timeout": 10})  # fmt: skip

    @contextmanager
    def connection(self) -> Any:
        with self.pool.connection() as conn:
            try:
                yield conn
            finally:
                conn.rollback()  # nothing is ever written: end the read-only transaction


def with_etag(request: Request, response: Response) -> Response:
    """An ETag from the body; 304 when the client has it already."""
    body = bytes(response.body)
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if tag in (request.headers.get("if-none-match") or ""):
        response = Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return response


def last_modified(conn: psycopg.Connection) -> str:
    """The time of the latest recorded check, as an HTTP date: when what every page
    shows last changed (a check, a version, a change)."""
    row = conn.execute("SELECT checked_at FROM checks ORDER BY check_id DESC LIMIT 1").fetchone()
    when = row[0] if row else datetime(2000, 1, 1, tzinfo=UTC)
    return format_datetime(when.astimezone(UTC), usegmt=True)


def error_response(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse({"error": message, "status": status}, status)
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response = pages.error_page(request, status, message)
    return response


def create_app(database_url: str, pool_size: int = 8) -> Starlette:
    reader = Reader(database_url, pool_size)

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(request, 404, str(exc) or "not found")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        return error_response(request, status, getattr(exc, "detail", "") or "error")

    async def bad_request(request: Request, exc: Exception) -> Response:
        return error_response(request, 400, str(exc))

    async def failure(request: Request, exc: Exception) -> Response:
        # Never a traceback nor SQL: the server's log has them.
        return error_response(request, 500, "the server could not answer this request")

    def route(path: str, endpoint: Callable[..., Response], name: str) -> Route:
        def handler(request: Request) -> Response:
            with reader.connection() as conn:
                response = endpoint(request, conn)
                if response.status_code == 200 and request.method == "GET":
                    response.headers["Last-Modified"] = last_modified(conn)
                    response = with_etag(request, response)
            return response

        return Route(path, handler, name=name)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        reader.pool.open(wait=True, timeout=15)
        try:
            yield
        finally:
            reader.pool.close()

    static = StaticFiles(directory=str(resources.files("atlas_crawl.web") / "static"))
    routes = [
        route(path, endpoint, name)
        for path, endpoint, name in pages.ROUTES + api.ROUTES + feeds.ROUTES
    ]
    app = Starlette(
        routes=[*routes, Mount("/static", static, name="static")],
        exception_handlers={
            NotFound: not_found,
            HTTPException: http_error,
            BadRequest: bad_request,
            Exception: failure,
        },
        middleware=[Middleware(SecurityHeaders)],
        lifespan=lifespan,
    )
    app.state.reader = reader
    return app


class SecurityHeaders:
    """Every response's security headers, static files and errors included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                         if k.lower().encode() not in present]  # fmt: skip
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, sending)
