"""The JSON API under ``/api/v1/``: the web view's resources by the same record IDs,
lists paginated by cursor, open to any origin for GET, described at
``/api/v1/openapi.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import Response

from atlas_crawl import __version__
from atlas_crawl.web import reads
from atlas_crawl.web.ids import BadRequest, number_of, offset_of


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def _json(data: Any) -> Response:
    body = json.dumps(data, default=_plain, ensure_ascii=False, sort_keys=True)
    return Response(body, media_type="application/json", headers={
        "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET",
    })  # fmt: skip


def _items(shown: list[dict[str, Any]], next_offset: int | None) -> dict[str, Any]:
    """A page as every list of the API gives it: its items and the next page's cursor
    (null at the end)."""
    return {"items": shown, "next_cursor": None if next_offset is None else str(next_offset)}


def _page(request: Request, rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """One page of a list read whole."""
    offset = offset_of(request.query_params.get("cursor"))
    more = offset + limit < len(rows)
    return _items(rows[offset : offset + limit], offset + limit if more else None)


def _limit(request: Request) -> int:
    value = request.query_params.get("limit", "50")
    if not value.isdigit() or not 1 <= int(value) <= 200:
        raise BadRequest(f"limit {value!r}: expected a whole number from 1 to 200")
    return int(value)


def platforms(request: Request, conn: psycopg.Connection) -> Response:
    """Platforms by name, a page read from the database (a service tracks thousands)."""
    limit = _limit(request)
    found = reads.platform_page(conn, limit, offset_of(request.query_params.get("cursor")))
    return _json(_items(found["platforms"], found["more"]))


def platform(request: Request, conn: psycopg.Connection) -> Response:
    return _json(reads.platform(conn, request.path_params["slug"]))


def changes(request: Request, conn: psycopg.Connection) -> Response:
    """The newest changes first; the cursor is the last change of the page before."""
    cursor = request.query_params.get("cursor")
    after = number_of(cursor, "change") if cursor else None
    limit = _limit(request)
    rows = reads.changes(conn, limit=limit + 1, after=after)
    shown = rows[:limit]
    more = len(rows) > limit
    return _json({"items": shown, "next_cursor": shown[-1]["record_id"] if more else None})


def document(request: Request, conn: psycopg.Connection) -> Response:
    return _json(reads.document(conn, number_of(request.path_params["record"], "document")))


def version(request: Request, conn: psycopg.Connection) -> Response:
    return _json(reads.version(conn, number_of(request.path_params["record"], "version")))


def change(request: Request, conn: psycopg.Connection) -> Response:
    found = reads.change(conn, number_of(request.path_params["record"], "change"))
    s = found["summary"]
    c = {k: v for k, v in found["change"].items() if k not in ("old_text", "new_text")}
    return _json({"change": c, "severity": s.severity, "title": s.title,
                  "summary": s.text(), "provisions": s.provisions, "marks": s.marks,
                  "added": s.added, "removed": s.removed, "citation": found["citation"],
                  "versions": found["versions"]})  # fmt: skip


def provision(request: Request, conn: psycopg.Connection) -> Response:
    return _json(reads.provision(conn, number_of(request.path_params["record"], "provision")))


def clause_type(request: Request, conn: psycopg.Connection) -> Response:
    offset = offset_of(request.query_params.get("cursor"))
    found = reads.clause_type(conn, request.path_params["type"], offset, _limit(request))
    more = found.pop("more")
    items = found.pop("rows")
    return _json({**found, "items": items, "next_cursor": str(more) if more is not None else None})


def search(request: Request, conn: psycopg.Connection) -> Response:
    q = (request.query_params.get("q") or "").strip()
    if not q or len(q) > 200:
        raise BadRequest("q: the words to search for, 1 to 200 characters")
    offset = offset_of(request.query_params.get("cursor"))
    rows = reads.search(conn, q, offset)
    more = len(rows) == reads.LISTED
    return _json({"items": rows, "next_cursor": str(offset + len(rows)) if more else None})


def openapi(request: Request, conn: psycopg.Connection) -> Response:
    def get(summary: str, *params: str) -> dict[str, Any]:
        return {"get": {
            "summary": summary,
            "parameters": [{"name": p.strip("{}"), "in": "path" if p.startswith("{") else "query",
                            "required": p.startswith("{"), "schema": {"type": "string"}}
                           for p in params],
            "responses": {code: {"description": text} for code, text in (
                ("200", "JSON"), ("304", "not modified"), ("400", "bad request"),
                ("404", "not found"))},
        }}  # fmt: skip

    paths = {
        "/api/v1/platforms": get("Platforms tracked", "cursor", "limit"),
        "/api/v1/platforms/{slug}": get("A platform's documents and changes", "{slug}"),
        "/api/v1/changes": get(
            "Changes, newest first (cursor: the last change ID of a page)", "cursor", "limit"
        ),
        "/api/v1/documents/{record}": get("A document (AC-D-...)", "{record}"),
        "/api/v1/versions/{record}": get("A version (AC-V-...)", "{record}"),
        "/api/v1/changes/{record}": get("A change (AC-C-...) with its summary", "{record}"),
        "/api/v1/provisions/{record}": get("A provision (AC-P-...)", "{record}"),
        "/api/v1/types/{type}": get(
            "Every platform's provisions of a clause type", "{type}", "cursor", "limit"
        ),
        "/api/v1/search": get("Full-text search over today's provisions", "q", "cursor"),
    }
    return _json({"openapi": "3.1.0", "paths": paths,
                  "info": {"title": "atlas-crawl", "version": __version__}})  # fmt: skip


ROUTES: list[tuple[str, Callable[..., Response], str]] = [
    ("/api/v1/openapi.json", openapi, "api-openapi"),
    ("/api/v1/platforms", platforms, "api-platforms"),
    ("/api/v1/platforms/{slug}", platform, "api-platform"),
    ("/api/v1/changes", changes, "api-changes"),
    ("/api/v1/documents/{record}", document, "api-document"),
    ("/api/v1/versions/{record}", version, "api-version"),
    ("/api/v1/changes/{record}", change, "api-change"),
    ("/api/v1/provisions/{record}", provision, "api-provision"),
    ("/api/v1/types/{type}", clause_type, "api-type"),
    ("/api/v1/search", search, "api-search"),
]
