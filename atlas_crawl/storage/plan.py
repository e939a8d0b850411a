"""What a crawl needs to know before fetching: when each document was last checked, and
the validators (ETag, Last-Modified) of its last capture, for conditional requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class DocumentState:
    last_success_at: datetime | None
    etag: str | None
    last_modified: str | None


def _header(headers: dict | None, name: str) -> str | None:
    for key, values in (headers or {}).items():
        if key.lower() == name and values:
            return str(values[0])
    return None


def document_states(conn: psycopg.Connection) -> dict[tuple[str, str], DocumentState]:
    """Per (platform, document type): the last successful check, if it settled the text.

    Validators come only from a check whose text is the current version's (not from a
    pending candidate), so a 304 answer can only mean "still the current version".
    """
    rows = conn.execute(
        """SELECT DISTINCT ON (k.document_id) p.name, d.document_type, k.checked_at,
                  k.outcome, pg.response_headers
           FROM checks k JOIN documents d USING (document_id) JOIN platforms p USING (platform_id)
           LEFT JOIN check_pages pg ON pg.check_id = k.check_id AND pg.position = 0
           WHERE k.outcome <> 'failed'
           ORDER BY k.document_id, k.check_id DESC"""
    ).fetchall()
    states = {}
    for platform, document_type, checked_at, outcome, headers in rows:
        settled = outcome in ("first", "unchanged", "changed")
        states[(platform, document_type)] = DocumentState(
            checked_at,
            _header(headers, "etag") if settled else None,
            _header(headers, "last-modified") if settled else None,
        )
    return states
