"""Versions and changes: a new text becomes a version, and a change from the one before
it with its diff, kind and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from atlas_crawl.diff.patch import make_diff
from atlas_crawl.evidence.dates import stated_date
from atlas_crawl.evidence.ledger_entries import change_entry, version_entry
from atlas_crawl.storage.captures import load_capture
from atlas_crawl.storage.change_rules import change_kind, date_flags, new_extractor
from atlas_crawl.storage.check_rows import set_version
from atlas_crawl.storage.ledger import Entry
from atlas_crawl.storage.outbox import queue_notifications
from atlas_crawl.storage.provisions import track_change, track_first
from atlas_crawl.storage.queries import query
from atlas_crawl.storage.records import CheckRecord, Reextract


@dataclass(frozen=True)
class Latest:
    """The document's latest version, without its text (most checks never need it)."""

    version_id: int
    version_number: int
    text_sha256: str


def latest_version(conn: psycopg.Connection, document_id: int) -> Latest | None:
    row = conn.execute(query("latest_version"), {"document": document_id}).fetchone()
    return Latest(int(row[0]), int(row[1]), row[2]) if row else None


def version_row(conn: psycopg.Connection, version_id: int) -> tuple[Any, ...]:
    """(version_id, version_number, text_sha256, text, declaration, stated_date,
    extractor_version)."""
    row = conn.execute(query("version_row"), {"version": version_id}).fetchone()
    assert row is not None
    return tuple(row)


def insert_version(
    conn: psycopg.Connection,
    document_id: int,
    number: int,
    rec: CheckRecord,
    check_id: int,
    first_seen_at: datetime,
    raw_sha256: str | None,
    ledger: list[Entry],
) -> int:
    """Version ``number`` of the document, made by ``check_id`` (which then points at
    it); its ledger entry joins ``ledger``."""
    assert rec.text is not None
    row = conn.execute(
        query("insert_version"),
        {
            "document": document_id,
            "number": number,
            "text": rec.text,
            "text_sha256": rec.text_sha256,
            "first_seen": first_seen_at,
            "last_seen": max(first_seen_at, rec.captured_at),
            "check": check_id,
            "raw": raw_sha256,
            "extractor": rec.extractor_version,
            "declaration": Jsonb(rec.declaration),
            "stated": stated_date(rec.text),
        },
    ).fetchone()
    assert row is not None
    version_id = int(row[0])
    set_version(conn, check_id, version_id)
    assert rec.text_sha256 is not None
    ledger.append(
        ("version", version_id, version_entry(version_id, document_id, number,
                                              rec.text_sha256, check_id))
    )  # fmt: skip
    return version_id


def first_version(
    conn: psycopg.Connection,
    document_id: int,
    rec: CheckRecord,
    check_id: int,
    raw_sha256: str | None,
    ledger: list[Entry],
) -> int:
    """Version 1 of the document, with its provisions (each one new)."""
    version_id = insert_version(
        conn, document_id, 1, rec, check_id, rec.captured_at, raw_sha256, ledger
    )
    assert rec.text is not None
    track_first(conn, document_id, version_id, rec.text)
    return version_id


def version_pages(conn: psycopg.Connection, version_id: int) -> list[tuple[bytes, str]]:
    """The stored pages a version was extracted from, as ``(body, content_type)``."""
    rows = conn.execute(query("version_captures"), {"version": version_id}).fetchall()
    return [(load_capture(conn, digest), ctype) for digest, ctype in rows]


def record_change(
    conn: psycopg.Connection,
    document_id: int,
    latest: Latest,
    rec: CheckRecord,
    detecting_check: int,
    detected_at: datetime,
    raw_sha256: str | None,
    reextract: Reextract | None,
    verified_by: int | None,
    ledger: list[Entry],
    kind: tuple[str, str | None] | None = None,
) -> tuple[int, int, str]:
    """The new version and its change; returns (version_id, change_id, kind).
    ``kind``: the change's kind and reason when the caller knows them."""
    old_id, old_number, _, old_text, old_declaration, old_date, old_extractor = version_row(
        conn, latest.version_id
    )
    assert rec.text is not None
    version_id = insert_version(
        conn, document_id, old_number + 1, rec, detecting_check, detected_at, raw_sha256, ledger
    )
    diff = make_diff(old_text, rec.text)
    if kind is None:
        read_otherwise = old_declaration != rec.declaration or new_extractor(
            old_extractor, rec.extractor_version
        )
        old_pages = version_pages(conn, old_id) if reextract is not None and read_otherwise else []
        kind = change_kind(old_pages, old_declaration, old_extractor, rec, reextract)
    made, reason = kind
    silent, date_only = date_flags(old_text, old_date, rec.text)
    row = conn.execute(
        query("insert_change"),
        {
            "document": document_id,
            "from_version": old_id,
            "to_version": version_id,
            "check": detecting_check,
            "detected": detected_at,
            "added": diff.chars_added,
            "removed": diff.chars_removed,
            "diff": diff.patch,
            "kind": made,
            "reason": reason,
            "verified": verified_by is not None,
            "verified_at": rec.captured_at if verified_by is not None else None,
            "verified_check": verified_by,
            "silent": silent,
            "date_only": date_only,
        },
    ).fetchone()
    assert row is not None
    change_id = int(row[0])
    # The clauses of the new version, and what this change did to each.
    track_change(conn, document_id, old_id, version_id, rec.text, change_id, made == "technical")
    if not rec.imported:
        queue_notifications(conn, change_id)  # the outbox: in this same transaction
    ledger.append(
        ("change", change_id, change_entry(change_id, old_id, version_id, diff.patch,
                                           diff.chars_added, diff.chars_removed))
    )  # fmt: skip
    return version_id, change_id, made


def seen_again(conn: psycopg.Connection, version_id: int, captured_at: datetime) -> None:
    """A check saw the current version again: it extends the version's life."""
    conn.execute(query("version_seen_again"), {"version": version_id, "seen": captured_at})
