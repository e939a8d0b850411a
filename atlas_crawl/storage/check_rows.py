"""The rows one check writes: its document (locked), its captures, the check itself
with its place in the document's hash chain, and its pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from atlas_crawl.evidence.ledger import evidence_hash
from atlas_crawl.evidence.ledger_entries import check_entry
from atlas_crawl.evidence.warc import WarcRef
from atlas_crawl.model import Page, sha256_hex
from atlas_crawl.storage.captures import store_capture
from atlas_crawl.storage.ledger import Entry
from atlas_crawl.storage.queries import query
from atlas_crawl.storage.records import CheckRecord, CheckResult

# Routine unchanged checks keep only the headers the next conditional request needs.
VALIDATORS = ("etag", "last-modified")


def lock_document(conn: psycopg.Connection, rec: CheckRecord) -> int:
    """The document's id, its row locked until the transaction ends (so concurrent
    checks of one document are serialized); created or updated to ``rec``'s URL and
    declaration."""
    names = {"platform": rec.platform, "document_type": rec.document_type}
    known = conn.execute(query("lock_document"), names).fetchone()
    if known is not None and known[1] == rec.url and known[2] == rec.declaration:
        return int(known[0])
    conn.execute(query("add_platform"), names)
    row = conn.execute(
        query("upsert_document"), {**names, "url": rec.url, "declaration": Jsonb(rec.declaration)}
    ).fetchone()
    assert row is not None
    conn.execute(query("lock_document_by_id"), {"document": row[0]})
    return int(row[0])


def recorded_source(conn: psycopg.Connection, source_ref: str) -> tuple[int, str] | None:
    """The check already recorded from ``source_ref`` (an import, a round's check), and
    its outcome as it stands now."""
    row = conn.execute(query("check_by_source_ref"), {"source": source_ref}).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def already_recorded(conn: psycopg.Connection, rec: CheckRecord) -> CheckResult | None:
    """The result of ``rec`` if it was recorded already (a commit that landed just
    before its connection was lost): a retry must not record it twice."""
    row = conn.execute(
        query("check_made_at"),
        {
            "platform": rec.platform,
            "document_type": rec.document_type,
            "checked": rec.checked_at,
            "crawl": rec.crawl_id,
        },
    ).fetchone()
    return CheckResult(int(row[0]), str(row[1]), row[2]) if row else None


def store_captures(conn: psycopg.Connection, document_id: int, pages: list[Page]) -> None:
    for position, page in enumerate(pages):
        if page.body is None:
            continue

        def previous(position: int = position) -> str | None:
            """The same page's previous capture: the base of the delta."""
            row = conn.execute(
                query("previous_page_capture"), {"document": document_id, "position": position}
            ).fetchone()
            return row[0] if row else None

        store_capture(conn, page.body, page.content_type, previous, digest=page.raw_sha256)


@dataclass(frozen=True)
class Previous:
    """The document's last check (for the chain) and its pending candidate, if any."""

    evidence_hash: str | None
    last_outcome: str | None
    last_reason: str | None
    last_text_sha256: str | None
    candidate_id: int | None
    candidate_text_sha256: str | None
    candidate_captured_at: datetime | None
    candidate_raw_sha256: str | None
    # The capture time of the last check that was not a failure.
    settled_captured_at: datetime | None = None


def previous_checks(conn: psycopg.Connection, document_id: int) -> Previous:
    row = conn.execute(query("previous_checks"), {"document": document_id}).fetchone()
    assert row is not None
    pending = row[5] == "candidate"
    return Previous(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4] if pending else None,
        row[6] if pending else None,
        row[7] if pending else None,
        row[8] if pending else None,
        row[7],
    )


def _validators(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in headers.items() if k.lower() in VALIDATORS}


def _warc_digest(refs: list[WarcRef]) -> str | None:
    if not refs:
        return None
    if len(refs) == 1:
        return refs[0].payload_digest
    return sha256_hex("\n".join(r.payload_digest for r in refs))


def insert_check(
    conn: psycopg.Connection,
    document_id: int,
    rec: CheckRecord,
    outcome: str,
    previous: Previous,
    reason: str | None = None,
    detail: str | None = None,
    warc: list[WarcRef] | None = None,
    verifies: int | None = None,
    version_id: int | None = None,
    ledger: list[Entry] | None = None,
    review: tuple[str, str] | None = None,
) -> int:
    """The check's row (and its pages'); its ledger entry joins ``ledger``. ``review``:
    why a new text is held for a second look, and the evidence."""
    first = rec.pages[0] if rec.pages else Page(rec.url)
    text_sha256 = rec.text_sha256 if outcome != "failed" else None
    warc = warc or []
    # Stored (and hashed) only when the fetch ended elsewhere (migration 008).
    final_url = None if first.final_url == first.requested_url else first.final_url
    fields = {
        "document_id": document_id,
        "checked_at": rec.checked_at,
        "captured_at": rec.captured_at,
        "requested_url": first.requested_url,
        "final_url": final_url,
        "http_status": first.http_status,
        "fetcher": rec.fetcher,
        "raw_sha256": rec.raw_sha256,
        "text_sha256": text_sha256,
        "warc_digest": _warc_digest(warc),
    }
    row = conn.execute(
        query("insert_check"),
        {
            "document": document_id,
            "checked": rec.checked_at,
            "captured": rec.captured_at,
            "outcome": outcome,
            "reason": reason,
            "detail": detail,
            "requested": first.requested_url,
            "final": final_url,
            "status": first.http_status,
            "fetcher": rec.fetcher,
            "agent": rec.user_agent,
            "raw": rec.raw_sha256,
            "text": text_sha256,
            "crawl": rec.crawl_id,
            "evidence": (chained := evidence_hash(fields, previous.evidence_hash)),
            "warc": fields["warc_digest"],
            "verifies": verifies,
            "source": rec.source_ref,
            "version": version_id,
            "review": review[0] if review else None,
            "review_detail": review[1] if review else None,
        },
    ).fetchone()
    assert row is not None
    check_id = int(row[0])
    if ledger is not None:
        ledger.append(("check", check_id, check_entry(check_id, chained)))
    # Routine checks keep only the validators the next conditional request needs; the
    # others keep every header (also in their WARC records, when they have some).
    keep_all = outcome != "unchanged" or bool(warc)
    headers = [p.headers if keep_all else _validators(p.headers) for p in rec.pages]
    if len(rec.pages) == 1 and not warc and not headers[0]:
        return check_id  # the check row says all there is of its one page
    refs = iter(warc)
    for position, page in enumerate(rec.pages):
        ref = next(refs, None) if page.body is not None else None
        conn.execute(
            query("insert_check_page"),
            {
                "check": check_id,
                "position": position,
                "requested": page.requested_url,
                "final": page.final_url,
                "status": page.http_status,
                "headers": Jsonb(headers[position]) if headers[position] else None,
                "raw": page.raw_sha256,
                "warc_file": ref.file if ref else None,
                "warc_offset": ref.offset if ref else None,
                "warc_digest": ref.payload_digest if ref else None,
            },
        )
    return check_id


def set_outcome(conn: psycopg.Connection, check_id: int, outcome: str) -> None:
    conn.execute(query("set_check_outcome"), {"check": check_id, "outcome": outcome})


def set_version(conn: psycopg.Connection, check_id: int, version_id: int) -> None:
    conn.execute(query("set_check_version"), {"check": check_id, "version": version_id})
