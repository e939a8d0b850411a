"""Record one check of one document: evidence, capture, and a version or change if any.

Everything a check writes happens in one transaction, under a row lock on the
document, so two crawlers checking the same document at once are serialized and never
make two versions of the same text; a failure part-way leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import zstandard
from psycopg.types.json import Jsonb

from atlas_crawl.diffing import make_diff

# A new text shorter than this share of the current version is taken as a broken
# extraction (a half-rendered page, a placeholder, a selector now matching a fragment),
# not a change, until the next check finds the very same text again: a policy that
# really was cut down is then recorded, one check late, and never lost.
DEFAULT_MIN_LENGTH_RATIO = 0.25

_compressor = zstandard.ZstdCompressor(level=9)

# Re-extracts stored pages ``(body, content_type)`` with a stored declaration; used to
# tell a technical change (new rules, same page) from a content change.
Reextract = Callable[[Sequence[tuple[bytes, str]], dict[str, Any]], str]


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@dataclass
class Page:
    """One fetched page of a check, as the evidence keeps it."""

    requested_url: str
    final_url: str | None = None
    http_status: int | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = ""

    @property
    def raw_sha256(self) -> str | None:
        return sha256_hex(self.body) if self.body is not None else None


@dataclass
class CheckRecord:
    platform: str
    document_type: str
    url: str
    declaration: dict[str, Any]
    checked_at: datetime
    captured_at: datetime
    fetcher: str
    user_agent: str | None
    pages: list[Page]
    text: str | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None
    crawl_id: str | None = None
    extractor_version: str = ""

    @property
    def raw_sha256(self) -> str | None:
        """The body's hash; for a combined document, the hash of its pages' hashes."""
        hashes = [p.raw_sha256 for p in self.pages]
        if not hashes or any(h is None for h in hashes):
            return hashes[0] if len(hashes) == 1 else None
        if len(hashes) == 1:
            return hashes[0]
        return sha256_hex("\n".join(h for h in hashes if h))

    @property
    def text_sha256(self) -> str | None:
        return sha256_hex(self.text) if self.text is not None else None


@dataclass(frozen=True)
class CheckResult:
    check_id: int
    outcome: str
    version_id: int | None = None
    version_number: int | None = None
    change_id: int | None = None
    failure_reason: str | None = None
    change_kind: str | None = None


def _document_id(conn: psycopg.Connection, rec: CheckRecord) -> int:
    conn.execute(
        "INSERT INTO platforms (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (rec.platform,)
    )
    row = conn.execute(
        """INSERT INTO documents (platform_id, document_type, url, declaration)
           SELECT platform_id, %s, %s, %s FROM platforms WHERE name = %s
           ON CONFLICT (platform_id, document_type)
           DO UPDATE SET url = EXCLUDED.url, declaration = EXCLUDED.declaration
           RETURNING document_id""",
        (rec.document_type, rec.url, Jsonb(rec.declaration), rec.platform),
    ).fetchone()
    assert row is not None
    # Serializes concurrent checks of this document until the transaction ends.
    conn.execute("SELECT 1 FROM documents WHERE document_id = %s FOR UPDATE", (row[0],))
    return int(row[0])


def _store_captures(conn: psycopg.Connection, pages: list[Page]) -> None:
    for page in pages:
        if page.body is None:
            continue
        digest = page.raw_sha256
        known = conn.execute("SELECT 1 FROM captures WHERE raw_sha256 = %s", (digest,)).fetchone()
        if known:
            continue
        conn.execute(
            """INSERT INTO captures (raw_sha256, size, compression, body, content_type)
               VALUES (%s, %s, 'zstd', %s, %s) ON CONFLICT (raw_sha256) DO NOTHING""",
            (digest, len(page.body), _compressor.compress(page.body), page.content_type),
        )


def _insert_check(
    conn: psycopg.Connection,
    document_id: int,
    rec: CheckRecord,
    outcome: str,
    reason: str | None,
    detail: str | None,
) -> int:
    first = rec.pages[0] if rec.pages else Page(rec.url)
    row = conn.execute(
        """INSERT INTO checks (document_id, checked_at, captured_at, outcome, failure_reason,
               failure_detail, requested_url, final_url, http_status, response_headers,
               fetcher, user_agent, raw_sha256, text_sha256, crawl_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING check_id""",
        (
            document_id,
            rec.checked_at,
            rec.captured_at,
            outcome,
            reason,
            detail,
            first.requested_url,
            first.final_url,
            first.http_status,
            Jsonb(first.headers) if first.headers else None,
            rec.fetcher,
            rec.user_agent,
            rec.raw_sha256,
            rec.text_sha256 if outcome != "failed" or reason == "too short" else None,
            rec.crawl_id,
        ),
    ).fetchone()
    assert row is not None
    check_id = int(row[0])
    for position, page in enumerate(rec.pages):
        conn.execute(
            """INSERT INTO check_pages (check_id, position, requested_url, final_url,
                   http_status, response_headers, raw_sha256)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (
                check_id,
                position,
                page.requested_url,
                page.final_url,
                page.http_status,
                Jsonb(page.headers) if page.headers else None,
                page.raw_sha256,
            ),
        )
    return check_id


def _new_version(
    conn: psycopg.Connection, document_id: int, number: int, rec: CheckRecord, check_id: int
) -> int:
    assert rec.text is not None
    primary = next(p.raw_sha256 for p in rec.pages if p.body is not None)
    row = conn.execute(
        """INSERT INTO versions (document_id, version_number, text, text_sha256, first_seen_at,
               last_seen_at, check_id, raw_sha256, extractor_version, declaration)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING version_id""",
        (
            document_id,
            number,
            rec.text,
            rec.text_sha256,
            rec.captured_at,
            rec.captured_at,
            check_id,
            primary,
            rec.extractor_version,
            Jsonb(rec.declaration),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _seen_short_before(conn: psycopg.Connection, document_id: int, text_sha256: str | None) -> bool:
    """Whether the previous check found this same too-short text (so it is real)."""
    row = conn.execute(
        """SELECT failure_reason, text_sha256 FROM checks WHERE document_id = %s
           ORDER BY check_id DESC LIMIT 1""",
        (document_id,),
    ).fetchone()
    return row is not None and row[0] == "too short" and row[1] == text_sha256


def _version_pages(conn: psycopg.Connection, version_id: int) -> list[tuple[bytes, str]]:
    rows = conn.execute(
        """SELECT c.body, c.compression, c.content_type
           FROM versions v JOIN check_pages p ON p.check_id = v.check_id
           JOIN captures c ON c.raw_sha256 = p.raw_sha256
           WHERE v.version_id = %s ORDER BY p.position""",
        (version_id,),
    ).fetchall()
    return [
        (decompress(body, compression), content_type) for body, compression, content_type in rows
    ]


def decompress(body: bytes, compression: str) -> bytes:
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompress(body)
    return bytes(body)


def _change_kind(
    conn: psycopg.Connection,
    old_version_id: int,
    old_declaration: dict[str, Any],
    rec: CheckRecord,
    reextract: Reextract | None,
) -> str:
    """'technical' when the old capture, read with the new rules, gives the new text."""
    if reextract is None or old_declaration == rec.declaration:
        return "content"
    pages = _version_pages(conn, old_version_id)
    if not pages:
        return "content"
    try:
        again = reextract(pages, rec.declaration)
    except Exception:  # the old page may not fit the new rules at all: a content change
        return "content"
    return "technical" if again == rec.text else "content"


def record_check(
    conn: psycopg.Connection,
    rec: CheckRecord,
    min_length_ratio: float = DEFAULT_MIN_LENGTH_RATIO,
    reextract: Reextract | None = None,
) -> CheckResult:
    """Write one check and what follows from it, in one transaction.

    ``reextract``, when given, classifies a change that comes with new declaration
    rules: if the previous capture read with the new rules gives the new text, only
    the extraction changed and the change is recorded as ``technical``.
    """
    if rec.text is None and rec.failure_reason is None:
        raise ValueError("a check needs either a text or a failure reason")
    if rec.text is not None and not rec.text.strip():
        raise ValueError("an empty text is a failure, not a version")
    with conn.transaction():
        document_id = _document_id(conn, rec)
        _store_captures(conn, rec.pages)
        if rec.failure_reason is not None:
            check_id = _insert_check(
                conn, document_id, rec, "failed", rec.failure_reason, rec.failure_detail
            )
            return CheckResult(check_id, "failed", failure_reason=rec.failure_reason)

        latest = conn.execute(
            """SELECT version_id, version_number, text_sha256, text, declaration FROM versions
               WHERE document_id = %s ORDER BY version_number DESC LIMIT 1""",
            (document_id,),
        ).fetchone()
        if latest is None:
            check_id = _insert_check(conn, document_id, rec, "first", None, None)
            version_id = _new_version(conn, document_id, 1, rec, check_id)
            conn.execute(
                "UPDATE checks SET version_id = %s WHERE check_id = %s", (version_id, check_id)
            )
            return CheckResult(check_id, "first", version_id, 1)

        old_id, old_number, old_hash, old_text, old_declaration = latest
        if old_hash == rec.text_sha256:
            check_id = _insert_check(conn, document_id, rec, "unchanged", None, None)
            conn.execute(
                """UPDATE versions SET last_seen_at = greatest(last_seen_at, %s)
                   WHERE version_id = %s""",
                (rec.captured_at, old_id),
            )
            conn.execute(
                "UPDATE checks SET version_id = %s WHERE check_id = %s", (old_id, check_id)
            )
            return CheckResult(check_id, "unchanged", old_id, old_number)

        assert rec.text is not None
        if len(rec.text) < min_length_ratio * len(old_text) and not _seen_short_before(
            conn, document_id, rec.text_sha256
        ):
            detail = (
                f"extracted {len(rec.text)} characters, the current version has "
                f"{len(old_text)} (under {min_length_ratio:.0%})"
            )
            check_id = _insert_check(conn, document_id, rec, "failed", "too short", detail)
            return CheckResult(check_id, "failed", failure_reason="too short")

        check_id = _insert_check(conn, document_id, rec, "changed", None, None)
        version_id = _new_version(conn, document_id, old_number + 1, rec, check_id)
        conn.execute(
            "UPDATE checks SET version_id = %s WHERE check_id = %s", (version_id, check_id)
        )
        diff = make_diff(old_text, rec.text)
        kind = _change_kind(conn, old_id, old_declaration, rec, reextract)
        row = conn.execute(
            """INSERT INTO changes (document_id, from_version_id, to_version_id, check_id,
                   detected_at, chars_added, chars_removed, diff, kind)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING change_id""",
            (
                document_id,
                old_id,
                version_id,
                check_id,
                rec.captured_at,
                diff.chars_added,
                diff.chars_removed,
                diff.patch,
                kind,
            ),
        ).fetchone()
        assert row is not None
        return CheckResult(
            check_id, "changed", version_id, old_number + 1, int(row[0]), change_kind=kind
        )
