"""Atom feeds of the changes, served by the web view (the same entries as the feeds
``atlas-crawl feeds`` writes): every content change, a platform's, a document's, a
provision's and a clause type's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import Response

from atlas_crawl.alerts.atom import Summaries, feed_xml
from atlas_crawl.history.provision_report import provision_record
from atlas_crawl.web import reads
from atlas_crawl.web.ids import number_of

ENTRIES = 20


def _feed(conn: psycopg.Connection, feed_id: str, title: str, **where: Any) -> Response:
    rows = reads.changes(conn, limit=ENTRIES, content_only=True, **where)
    body = feed_xml(feed_id, title, Summaries(conn).many([r["change_id"] for r in rows]))
    return Response(body, media_type="application/atom+xml")


def all_changes(request: Request, conn: psycopg.Connection) -> Response:
    return _feed(conn, "changes", "Policy changes")


def platform(request: Request, conn: psycopg.Connection) -> Response:
    found = reads.platform(conn, request.path_params["slug"].removesuffix(".xml"))
    return _feed(conn, f"platform:{found['name']}", found["name"], platform=found["name"])


def document(request: Request, conn: psycopg.Connection) -> Response:
    record = request.path_params["record"].removesuffix(".xml")
    found = reads.document(conn, number_of(record, "document"))
    title = f"{found['platform']} / {found['document_type']}"
    return _feed(conn, f"document:{title}", title, document=found["document_id"])


def provision(request: Request, conn: psycopg.Connection) -> Response:
    record = request.path_params["record"].removesuffix(".xml")
    found = provision_record(conn, number_of(record, "provision"))
    title = f"{found['record_id']} ({found['platform']} / {found['document_type']})"
    return _feed(conn, f"provision:{found['record_id']}", title,
                 provision=found["provision_id"])  # fmt: skip


def clause_type(request: Request, conn: psycopg.Connection) -> Response:
    found = reads.clause_type_of(request.path_params["type"].removesuffix(".xml"))
    return _feed(conn, f"type:{found.id}", found.title, type=found.id)


ROUTES: list[tuple[str, Callable[..., Response], str]] = [
    ("/feeds/changes.xml", all_changes, "feed-changes"),
    ("/feeds/platforms/{slug}", platform, "feed-platform"),
    ("/feeds/documents/{record}", document, "feed-document"),
    ("/feeds/provisions/{record}", provision, "feed-provision"),
    ("/feeds/types/{type}", clause_type, "feed-type"),
]
