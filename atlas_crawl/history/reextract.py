"""Re-derive the current version of documents from their stored captures.

After a declaration or the extractor changes, the latest version's capture is read
again with today's rules. A different text becomes a new version through a
``technical`` change (the page did not change; how it is read did), so the history
stays continuous and the next crawl compares like with like. Content changes are never
made here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from atlas_crawl.declarations import TrackedDocument, rules_to_json
from atlas_crawl.extraction import EXTRACTOR_VERSION, ExtractionError, extract_at
from atlas_crawl.model import Page
from atlas_crawl.storage.captures import load_capture
from atlas_crawl.storage.recorder import CheckRecord, record_check


@dataclass(frozen=True)
class Reextracted:
    platform: str
    document_type: str
    outcome: str  # 'technical change', 'same text', 'failed: ...', 'not tracked yet'


def _latest(conn: psycopg.Connection, doc: TrackedDocument) -> tuple | None:
    return conn.execute(
        """SELECT v.version_id, v.text, v.first_seen_at, v.check_id
           FROM versions v JOIN documents d USING (document_id)
           JOIN platforms p USING (platform_id)
           WHERE p.name = %s AND d.document_type = %s
           ORDER BY v.version_number DESC LIMIT 1""",
        (doc.platform, doc.document_type),
    ).fetchone()


def reextract(
    conn: psycopg.Connection,
    documents: list[TrackedDocument],
    platform: str | None = None,
    document_type: str | None = None,
) -> list[Reextracted]:
    chosen = [
        d
        for d in documents
        if (platform is None or d.platform.lower() == platform.lower())
        and (document_type is None or d.document_type.lower() == document_type.lower())
    ]
    results = []
    for doc in chosen:
        latest = _latest(conn, doc)
        if latest is None:
            results.append(Reextracted(doc.platform, doc.document_type, "not tracked yet"))
            continue
        version_id, old_text, first_seen_at, check_id = latest
        rows = conn.execute(
            """SELECT p.requested_url, p.final_url, p.http_status, p.response_headers,
                      p.raw_sha256, c.content_type
               FROM all_check_pages p JOIN captures c ON c.raw_sha256 = p.raw_sha256
               WHERE p.check_id = %s ORDER BY p.position""",
            (check_id,),
        ).fetchall()
        pages = [Page(r[0], r[1], r[2], r[3] or {}, load_capture(conn, r[4]), r[5]) for r in rows]
        try:
            rules, text = extract_at(
                doc, [(p.body or b"", p.content_type) for p in pages], first_seen_at
            )
        except ExtractionError as exc:
            results.append(Reextracted(doc.platform, doc.document_type, f"failed: {exc}"))
            continue
        if text == old_text:
            results.append(Reextracted(doc.platform, doc.document_type, "same text"))
            continue
        now = datetime.now(UTC)
        record = CheckRecord(
            platform=doc.platform,
            document_type=doc.document_type,
            url=doc.url,
            declaration=rules_to_json(rules),
            checked_at=now,
            captured_at=now,
            fetcher=f"reextract (extractor {EXTRACTOR_VERSION}) of version {version_id}",
            user_agent=None,
            pages=pages,
            text=text,
            extractor_version=EXTRACTOR_VERSION,
        )
        # The page is the one already stored: the difference can only be technical.
        record_check(
            conn, record, min_length_ratio=0.0, verify=False, kind=("technical", "reextract")
        )
        results.append(Reextracted(doc.platform, doc.document_type, "technical change"))
    return results
