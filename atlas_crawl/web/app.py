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
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from scrapy.settings import BaseSettings
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from atlas_crawl.alerts.subscriptions import from_settings
from atlas_crawl.config import project_settings
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.database import SESSION_OPTIONS
from atlas_crawl.web import api, feeds, pages
from atlas_crawl.web.cache import Kept, ResponseCache, generation
from atlas_crawl.web.ids import BadRequest
from atlas_crawl.web.subscribe import Subscriptions

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# How ``serve --workers N`` hands its database to each worker process.
SERVED_URL = "ATLAS_SERVED_DATABASE_URL"
SERVED_CONNECTIONS = "ATLAS_SERVED_CONNECTIONS"
# Raw captures and evidence bundles are large and read once; a bundle also changes
# with a new checkpoint, which is no new check: never kept in memory.
UNCACHED = {"capture", "change-bundle"}
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
                                   open=False, kwargs={"connect_timeout": 10,
                                                       "options": SESSION_OPTIONS})  # fmt: skip

    @contextmanager
    def connection(self) -> Any:
        with self.pool.connection() as conn:
            try:
                yield conn
            finally:
                conn.rollback()  # nothing is ever written: end the read-only transaction


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def answer(request: Request, kept: Kept) -> Response:
    """A kept answer, or 304 when the client holds it already."""
    headers = dict(kept.headers)
    if _unchanged(request, headers):
        return Response(status_code=304, headers={
            "ETag": headers["etag"], "Last-Modified": headers["last-modified"]})  # fmt: skip
    return Response(kept.body, status_code=kept.status, headers=headers)


def _unchanged(request: Request, headers: dict[str, str]) -> bool:
    """If-None-Match first (RFC 9110 13.2.2); If-Modified-Since only without it."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        return headers["etag"] in tags or tags.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(since) >= parsedate_to_datetime(headers["last-modified"])
    except (TypeError, ValueError):
        return False  # an unreadable date is no condition


def http_date(when: Any) -> str:
    """A time as an HTTP date (the epoch's 2000 for an empty history)."""
    when = when or datetime(2000, 1, 1, tzinfo=UTC)
    return format_datetime(when.astimezone(UTC), usegmt=True)


def error_response(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse({"error": message, "status": status}, status)
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response = pages.error_page(request, status, message)
    return response


def create_app(database_url: str, pool_size: int = 8,
               settings: BaseSettings | None = None) -> Starlette:  # fmt: skip
    """The application, with the project's settings (its cache; e-mail subscriptions
    when they are set up)."""
    settings = settings or project_settings()
    subscribing = from_settings(settings)
    reader = Reader(database_url, pool_size)
    # Subscriptions write: their own small pool, never the pages' read-only one.
    writer_pool = ConnectionPool(database_url, min_size=0, max_size=2, open=False,
                                 kwargs={"connect_timeout": 10})  # fmt: skip

    @contextmanager
    def writer() -> Any:
        with writer_pool.connection() as conn:
            yield conn

    watching = Subscriptions(subscribing, writer, pages.render)
    pages.offer_subscriptions(subscribing is not None)
    cache = ResponseCache(settings.getfloat("ATLAS_WEB_CACHE_MB"),
                          settings.getfloat("ATLAS_WEB_CACHE_SECONDS"))  # fmt: skip
    # Pages are made by Python code holding the interpreter lock: two at a time use the
    # lock as well as twenty would, and leave it free more often for kept answers.
    making = threading.BoundedSemaphore(2)
    sys.setswitchinterval(0.001)  # a kept answer waits 1 ms for the lock, not 5

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
        kept_here = name not in UNCACHED

        def handler(request: Request) -> Response:
            key = request.url.path + "?" + request.url.query
            with reader.connection() as conn:
                now, latest_check = generation(conn)
                kept = cache.get(key, now) if kept_here else None
                if kept is None:
                    with making:
                        response = endpoint(request, conn)
                    if response.status_code != 200:
                        return response
                    body = bytes(response.body)
                    response.headers["Last-Modified"] = http_date(latest_check)
                    response.headers["ETag"] = etag_of(body)
                    kept = Kept(now, time.monotonic(), 200,
                                tuple(response.headers.items()), body)  # fmt: skip
                    if kept_here:
                        cache.put(key, kept)
            return answer(request, kept)

        return Route(path, handler, name=name)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        reader.pool.open(wait=True, timeout=15)
        writer_pool.open()
        try:
            yield
        finally:
            writer_pool.close()
            reader.pool.close()

    static = StaticFiles(directory=str(resources.files("atlas_crawl.web") / "static"))
    routes = [
        route(path, endpoint, name)
        for path, endpoint, name in pages.ROUTES + api.ROUTES + feeds.ROUTES
    ]
    routes += [Route(path, endpoint, methods=methods)
               for path, endpoint, methods in watching.routes()]  # fmt: skip
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


def from_environment() -> Starlette:
    """The application of one worker process of ``serve --workers N``."""
    return create_app(os.environ[SERVED_URL], int(os.environ[SERVED_CONNECTIONS]))


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
