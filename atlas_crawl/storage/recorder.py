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
from psycopg.types.json import Jsonb

from atlas_crawl.diffing import make_diff
from atlas_crawl.evidence.dates import ANNOUNCEMENT, stated_date
from atlas_crawl.evidence.ledger import evidence_hash
from atlas_crawl.evidence.warc import WarcRef
from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.storage.captures import load_capture, store_capture

# A new text shorter than this share of the current version is taken as a broken
# extraction (a half-rendered page, a placeholder, a selector now matching a fragment),
# not a change, until the next check finds the very same text again: a policy that
# really was cut down is then recorded, one check late, and never lost.
DEFAULT_MIN_LENGTH_RATIO = 0.25


# Re-extracts stored pages ``(body, content_type)`` with a stored declaration; used to
# tell a technical change (new rules, same page) from a content change.
Reextract = Callable[[Sequence[tuple[bytes, str]], dict[str, Any]], str]


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def combined_sha256(hashes: Sequence[str | None]) -> str | None:
    """A check's raw hash: its page's, or for a combined document the hash of its pages'."""
    if not hashes or any(h is None for h in hashes):
        return hashes[0] if len(hashes) == 1 else None
    if len(hashes) == 1:
        return hashes[0]
    return sha256_hex("\n".join(h for h in hashes if h))


class StalePlan(Exception):
    """A check skipped extraction because its pages were the last settled capture's, but
    the database has moved on since the crawl read its plan: extract and record again."""


@dataclass
class Page:
    """One fetched page of a check, as the evidence keeps it."""

    requested_url: str
    final_url: str | None = None
    http_status: int | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = ""
    # Kept for the WARC capture only (not in the database).
    request_headers: dict[str, list[str]] | None = None
    rendered: bool = False  # body is the browser's rendered DOM
    network_body: bytes | None = None  # for a rendered page, the document as served
    screenshot: bytes | None = None
    # The body last hashed and its hash: a 600 KB body is hashed once, not per use.
    _hashed: tuple[bytes, str] | None = field(default=None, repr=False, compare=False)

    @property
    def raw_sha256(self) -> str | None:
        if self.body is None:
            return None
        if self._hashed is None or self._hashed[0] is not self.body:
            self._hashed = (self.body, sha256_hex(self.body))
        return self._hashed[1]

    def release(self) -> None:
        """Drop the bytes (once stored): the check's record keeps only its hashes."""
        self.body = self.network_body = self.screenshot = None
        self._hashed = None


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
    source_ref: str | None = None  # where an imported capture came from
    not_modified: bool = False  # a 304 answer to a conditional request: no new capture
    # The pages are byte for byte the last settled capture's, read with the same rules
    # and extractor: the text is not extracted again, this hash of it stands instead.
    same_capture_text_sha256: str | None = None

    @property
    def raw_sha256(self) -> str | None:
        """The body's hash; for a combined document, the hash of its pages' hashes."""
        return combined_sha256([p.raw_sha256 for p in self.pages])

    @property
    def primary_raw_sha256(self) -> str | None:
        """The first page's capture: what a version of a combined document points at."""
        return next((p.raw_sha256 for p in self.pages if p.body is not None), None)

    text_sha256_override: str | None = None  # a 304 check stands for the current text

    @property
    def text_sha256(self) -> str | None:
        if self.text is None:
            return self.text_sha256_override
        return sha256_hex(self.text)


@dataclass(frozen=True)
class CheckResult:
    check_id: int
    outcome: str
    version_id: int | None = None
    version_number: int | None = None
    change_id: int | None = None
    failure_reason: str | None = None
    change_kind: str | None = None
    verified: bool = False  # this check confirmed a candidate: the change is recorded
    unconfirmed_check_id: int | None = None  # a candidate this check did not confirm


# Writes the WARC records of a check's pages (those with a body), in order.
WarcWriter = Callable[["CheckRecord"], list[WarcRef]]


def _document_id(conn: psycopg.Connection, rec: CheckRecord) -> int:
    # Serializes concurrent checks of this document until the transaction ends.
    known = conn.execute(
        """SELECT d.document_id, d.url, d.declaration FROM documents d
           JOIN platforms p USING (platform_id)
           WHERE p.name = %s AND d.document_type = %s FOR UPDATE OF d""",
        (rec.platform, rec.document_type),
    ).fetchone()
    if known is not None and known[1] == rec.url and known[2] == rec.declaration:
        return int(known[0])
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


def _store_captures(conn: psycopg.Connection, document_id: int, pages: list[Page]) -> None:
    for position, page in enumerate(pages):
        if page.body is None:
            continue

        def previous(position: int = position) -> str | None:
            """The same page's previous capture: the base of the delta."""
            # A check without page rows is of one page: the check row's.
            row = conn.execute(
                """SELECT coalesce(p.raw_sha256, k.raw_sha256) FROM checks k
                   LEFT JOIN check_pages p ON p.check_id = k.check_id AND p.position = %(p)s
                   WHERE k.document_id = %(d)s
                     AND coalesce(p.raw_sha256, CASE WHEN %(p)s = 0 THEN k.raw_sha256 END)
                         IS NOT NULL
                   ORDER BY k.check_id DESC LIMIT 1""",
                {"d": document_id, "p": position},
            ).fetchone()
            return row[0] if row else None

        store_capture(conn, page.body, page.content_type, previous, digest=page.raw_sha256)


@dataclass(frozen=True)
class _Previous:
    """The document's last check (for the chain) and its pending candidate, if any."""

    evidence_hash: str | None
    last_outcome: str | None
    last_reason: str | None
    last_text_sha256: str | None
    candidate_id: int | None
    candidate_text_sha256: str | None
    candidate_captured_at: datetime | None
    candidate_raw_sha256: str | None


def _previous(conn: psycopg.Connection, document_id: int) -> _Previous:
    # The last check, and the last that was not a failure: a candidate stays pending
    # across failed checks, until a text answers it.
    row = conn.execute(
        """SELECT l.evidence_hash, l.outcome, l.failure_reason, l.text_sha256,
                  c.check_id, c.outcome, c.text_sha256, c.captured_at,
                  coalesce(p.raw_sha256, c.raw_sha256)
           FROM (SELECT 1) AS one
           LEFT JOIN LATERAL (
               SELECT evidence_hash, outcome, failure_reason, text_sha256 FROM checks
               WHERE document_id = %(d)s ORDER BY check_id DESC LIMIT 1) l ON true
           LEFT JOIN LATERAL (
               SELECT check_id, outcome, text_sha256, captured_at, raw_sha256 FROM checks
               WHERE document_id = %(d)s AND outcome <> 'failed'
               ORDER BY check_id DESC LIMIT 1) c ON true
           LEFT JOIN check_pages p ON p.check_id = c.check_id AND p.position = 0""",
        {"d": document_id},
    ).fetchone()
    assert row is not None
    pending = row[5] == "candidate"
    return _Previous(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4] if pending else None,
        row[6] if pending else None,
        row[7] if pending else None,
        row[8] if pending else None,
    )


VALIDATORS = ("etag", "last-modified")


def _validators(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in headers.items() if k.lower() in VALIDATORS}


def _warc_digest(refs: list[WarcRef]) -> str | None:
    if not refs:
        return None
    if len(refs) == 1:
        return refs[0].payload_digest
    return sha256_hex("\n".join(r.payload_digest for r in refs))


def _insert_check(
    conn: psycopg.Connection,
    document_id: int,
    rec: CheckRecord,
    outcome: str,
    previous: _Previous,
    reason: str | None = None,
    detail: str | None = None,
    warc: list[WarcRef] | None = None,
    verifies: int | None = None,
    version_id: int | None = None,
) -> int:
    first = rec.pages[0] if rec.pages else Page(rec.url)
    text_sha256 = rec.text_sha256 if outcome != "failed" or reason == "too short" else None
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
    chained = evidence_hash(fields, previous.evidence_hash)
    # The crawl is registered by its first check, with that check's user agent; its
    # other checks store theirs only when it differs (a rendered page's browser).
    row = conn.execute(
        """WITH crawl AS (
               INSERT INTO crawls (crawl_id, user_agent)
               SELECT %(crawl)s::text, %(agent)s::text WHERE %(crawl)s::text IS NOT NULL
               ON CONFLICT (crawl_id) DO NOTHING
               RETURNING user_agent),
           crawl_agent AS (
               SELECT user_agent FROM crawl
               UNION ALL
               SELECT user_agent FROM crawls WHERE crawl_id = %(crawl)s::text
               LIMIT 1)
           INSERT INTO checks (document_id, checked_at, captured_at, outcome, failure_reason,
               failure_detail, requested_url, final_url, http_status, fetcher, user_agent,
               raw_sha256, text_sha256, crawl_id, evidence_hash, warc_digest,
               verifies_check_id, source_ref, version_id)
           VALUES (%(document)s, %(checked)s, %(captured)s, %(outcome)s, %(reason)s,
               %(detail)s, %(requested)s, %(final)s, %(status)s, %(fetcher)s,
               CASE WHEN %(agent)s::text = (SELECT user_agent FROM crawl_agent) THEN NULL
                    ELSE %(agent)s::text END,
               %(raw)s, %(text)s, %(crawl)s::text, %(evidence)s, %(warc)s, %(verifies)s,
               %(source)s, %(version)s)
           RETURNING check_id""",
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
            "evidence": chained,
            "warc": fields["warc_digest"],
            "verifies": verifies,
            "source": rec.source_ref,
            "version": version_id,
        },
    ).fetchone()
    assert row is not None
    check_id = int(row[0])
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
            """INSERT INTO check_pages (check_id, position, requested_url, final_url,
                   http_status, response_headers, raw_sha256, warc_file, warc_offset,
                   warc_payload_digest)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                check_id,
                position,
                page.requested_url,
                page.final_url,
                page.http_status,
                Jsonb(headers[position]) if headers[position] else None,
                page.raw_sha256,
                ref.file if ref else None,
                ref.offset if ref else None,
                ref.payload_digest if ref else None,
            ),
        )
    return check_id


def _failed(
    conn: psycopg.Connection,
    document_id: int,
    rec: CheckRecord,
    previous: _Previous,
    reason: str,
    detail: str | None,
) -> CheckResult:
    check_id = _insert_check(conn, document_id, rec, "failed", previous, reason, detail)
    return CheckResult(check_id, "failed", failure_reason=reason)


def _new_version(
    conn: psycopg.Connection,
    document_id: int,
    number: int,
    rec: CheckRecord,
    check_id: int,
    first_seen_at: datetime,
    raw_sha256: str | None,
) -> int:
    assert rec.text is not None
    row = conn.execute(
        """INSERT INTO versions (document_id, version_number, text, text_sha256, first_seen_at,
               last_seen_at, check_id, raw_sha256, extractor_version, declaration, stated_date)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING version_id""",
        (
            document_id,
            number,
            rec.text,
            rec.text_sha256,
            first_seen_at,
            max(first_seen_at, rec.captured_at),
            check_id,
            raw_sha256,
            rec.extractor_version,
            Jsonb(rec.declaration),
            stated_date(rec.text),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _version_pages(conn: psycopg.Connection, version_id: int) -> list[tuple[bytes, str]]:
    rows = conn.execute(
        """SELECT p.raw_sha256, c.content_type
           FROM versions v JOIN all_check_pages p ON p.check_id = v.check_id
           JOIN captures c ON c.raw_sha256 = p.raw_sha256
           WHERE v.version_id = %s ORDER BY p.position""",
        (version_id,),
    ).fetchall()
    return [(load_capture(conn, digest), ctype) for digest, ctype in rows]


def _change_kind(
    conn: psycopg.Connection,
    old_version_id: int,
    old_declaration: dict[str, Any],
    rec: CheckRecord,
    reextract: Reextract | None,
) -> tuple[str, str | None]:
    """The change's kind and, for a technical one, its reason (see migration 006).

    Under the same rules a new text is a content change. Under new rules the previous
    capture is read with them: the new text again means only the reading changed. When
    the new rules cannot read the previous capture and the old rules cannot read the
    new one, the page was redesigned with its rules and no like-for-like comparison
    exists; as in Open Terms Archive's technical upgrades the change is technical, with
    its reason, so it is not announced as a policy change on a layout's word.
    """
    if reextract is None or old_declaration == rec.declaration:
        return "content", None
    old_pages = _version_pages(conn, old_version_id)
    if not old_pages:
        return "content", None
    try:
        again = reextract(old_pages, rec.declaration)
    except ExtractionError:
        again = None
    if again is not None:
        return ("technical", "reread") if again == rec.text else ("content", None)
    new_pages = [(p.body, p.content_type) for p in rec.pages if p.body is not None]
    try:
        reextract(new_pages, old_declaration)
    except ExtractionError:
        return "technical", "redesign"
    return "content", None


def _without_dates(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not ANNOUNCEMENT.search(line))


def _version(conn: psycopg.Connection, version_id: int) -> tuple[Any, ...]:
    row = conn.execute(
        """SELECT version_id, version_number, text_sha256, text, declaration, stated_date
           FROM versions WHERE version_id = %s""",
        (version_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def _record_change(
    conn: psycopg.Connection,
    document_id: int,
    latest: tuple[Any, ...],
    rec: CheckRecord,
    detecting_check: int,
    detected_at: datetime,
    raw_sha256: str | None,
    reextract: Reextract | None,
    verified_by: int | None,
    kind: tuple[str, str | None] | None = None,
) -> tuple[int, int, str]:
    """The new version and its change; returns (version_id, change_id, kind).
    ``kind``: the change's kind and reason when the caller knows them."""
    old_id, old_number, _, old_text, old_declaration, old_date = _version(conn, latest[0])
    assert rec.text is not None
    version_id = _new_version(
        conn, document_id, old_number + 1, rec, detecting_check, detected_at, raw_sha256
    )
    conn.execute(
        "UPDATE checks SET version_id = %s WHERE check_id = %s", (version_id, detecting_check)
    )
    diff = make_diff(old_text, rec.text)
    made, reason = kind or _change_kind(conn, old_id, old_declaration, rec, reextract)
    new_date = stated_date(rec.text)
    date_only = new_date != old_date and _without_dates(old_text) == _without_dates(rec.text)
    silent = None if new_date is None or old_date is None else new_date == old_date
    row = conn.execute(
        """INSERT INTO changes (document_id, from_version_id, to_version_id, check_id,
               detected_at, chars_added, chars_removed, diff, kind, kind_reason, verified,
               verified_at, verified_check_id, silent, date_only)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING change_id""",
        (
            document_id,
            old_id,
            version_id,
            detecting_check,
            detected_at,
            diff.chars_added,
            diff.chars_removed,
            diff.patch,
            made,
            reason,
            verified_by is not None,
            rec.captured_at if verified_by is not None else None,
            verified_by,
            silent,
            date_only,
        ),
    ).fetchone()
    assert row is not None
    return version_id, int(row[0]), made


def _seen_again(conn: psycopg.Connection, version_id: int, captured_at: datetime) -> None:
    """A check saw the current version again: it extends the version's life."""
    conn.execute(
        "UPDATE versions SET last_seen_at = %s WHERE version_id = %s AND last_seen_at < %s",
        (captured_at, version_id, captured_at),
    )


def _routine_commit(conn: psycopg.Connection) -> None:
    """A check that only saw the current version again (no version, change or WARC
    record): its commit does not wait for the disk. A crash of the database server may
    lose the last few such checks, never part of one: what survives is a consistent
    prefix of the history, and the next check repeats the observation."""
    conn.execute("SET LOCAL synchronous_commit = off")


def _seen_short_before(previous: _Previous, text_sha256: str | None) -> bool:
    """Whether the previous check found this same too-short text (so it is real)."""
    return previous.last_reason == "too short" and previous.last_text_sha256 == text_sha256


def record_check(
    conn: psycopg.Connection,
    rec: CheckRecord,
    min_length_ratio: float = DEFAULT_MIN_LENGTH_RATIO,
    reextract: Reextract | None = None,
    verify: bool = False,
    write_warc: WarcWriter | None = None,
    kind: tuple[str, str | None] | None = None,
) -> CheckResult:
    """Write one check and what follows from it, in one transaction.

    ``verify``: a new text is a ``candidate`` until another check finds it again (the
    change is then recorded as verified) or finds the old text (the candidate becomes
    ``unconfirmed``). ``reextract`` classifies a change that comes with new declaration
    rules (``_change_kind``); ``kind`` gives the kind and reason outright (re-extraction
    of a stored capture is ``("technical", "reextract")``). ``write_warc`` writes the WARC
    records of the checks that make, propose or confirm a version.
    """
    if (
        rec.text is None
        and rec.failure_reason is None
        and not rec.not_modified
        and rec.same_capture_text_sha256 is None
    ):
        raise ValueError("a check needs either a text or a failure reason")
    if rec.text is not None and not rec.text.strip():
        raise ValueError("an empty text is a failure, not a version")

    def warc() -> list[WarcRef]:
        return write_warc(rec) if write_warc is not None else []

    with conn.transaction():
        document_id = _document_id(conn, rec)
        if rec.source_ref is not None:
            # Under the document's lock: a capture already recorded is not recorded twice
            # (a resumed import, a round's document checked by two processes).
            done = conn.execute(
                "SELECT check_id FROM checks WHERE source_ref = %s", (rec.source_ref,)
            ).fetchone()
            if done is not None:
                return CheckResult(int(done[0]), "duplicate")
        _store_captures(conn, document_id, rec.pages)
        previous = _previous(conn, document_id)
        if rec.same_capture_text_sha256 is not None and (
            previous.candidate_id is not None
            or previous.last_text_sha256 != rec.same_capture_text_sha256
        ):
            raise StalePlan(f"{rec.platform} / {rec.document_type}")
        if rec.failure_reason is not None:
            return _failed(conn, document_id, rec, previous, rec.failure_reason, rec.failure_detail)

        # Without the text: most checks see the current version again and never need it.
        latest = conn.execute(
            """SELECT version_id, version_number, text_sha256
               FROM versions WHERE document_id = %s ORDER BY version_number DESC LIMIT 1""",
            (document_id,),
        ).fetchone()
        if latest is None and rec.not_modified:
            return _failed(
                conn,
                document_id,
                rec,
                previous,
                "not modified",
                "a 304 answer, but no version is stored to stand for",
            )
        if latest is None:
            check_id = _insert_check(conn, document_id, rec, "first", previous, warc=warc())
            version_id = _new_version(
                conn, document_id, 1, rec, check_id, rec.captured_at, rec.primary_raw_sha256
            )
            conn.execute(
                "UPDATE checks SET version_id = %s WHERE check_id = %s", (version_id, check_id)
            )
            return CheckResult(check_id, "first", version_id, 1)

        old_id, old_number, old_hash = latest
        candidate = previous.candidate_id
        if rec.same_capture_text_sha256 is not None and rec.same_capture_text_sha256 != old_hash:
            raise StalePlan(f"{rec.platform} / {rec.document_type}")
        if rec.not_modified or rec.same_capture_text_sha256 is not None:
            # The server vouches that the page is the one of the last settled capture,
            # or the very same bytes came back.
            rec.text_sha256_override = old_hash
            check_id = _insert_check(
                conn, document_id, rec, "unchanged", previous, version_id=old_id
            )
            _seen_again(conn, old_id, rec.captured_at)
            _routine_commit(conn)
            return CheckResult(check_id, "unchanged", old_id, old_number)
        if old_hash == rec.text_sha256:
            if candidate is not None:
                # The old text is back: the candidate was not the policy's new text.
                conn.execute(
                    "UPDATE checks SET outcome = 'unconfirmed' WHERE check_id = %s", (candidate,)
                )
            check_id = _insert_check(
                conn,
                document_id,
                rec,
                "unchanged",
                previous,
                warc=warc() if candidate is not None else None,
                verifies=candidate,
                version_id=old_id,
            )
            _seen_again(conn, old_id, rec.captured_at)
            if candidate is None:
                _routine_commit(conn)
            return CheckResult(
                check_id, "unchanged", old_id, old_number, unconfirmed_check_id=candidate
            )

        if candidate is not None and previous.candidate_text_sha256 == rec.text_sha256:
            # Found again: the candidate is confirmed; the change dates from it.
            assert previous.candidate_captured_at is not None
            check_id = _insert_check(
                conn, document_id, rec, "unchanged", previous, warc=warc(), verifies=candidate
            )
            version_id, change_id, made_kind = _record_change(
                conn,
                document_id,
                latest,
                rec,
                candidate,
                previous.candidate_captured_at,
                previous.candidate_raw_sha256,
                reextract,
                verified_by=check_id,
            )
            conn.execute("UPDATE checks SET outcome = 'changed' WHERE check_id = %s", (candidate,))
            conn.execute(
                "UPDATE checks SET version_id = %s WHERE check_id = %s", (version_id, check_id)
            )
            return CheckResult(
                check_id,
                "unchanged",
                version_id,
                old_number + 1,
                change_id,
                None,
                made_kind,
                verified=True,
            )

        assert rec.text is not None
        old_text = _version(conn, old_id)[3]
        if len(rec.text) < min_length_ratio * len(old_text) and not _seen_short_before(
            previous, rec.text_sha256
        ):
            detail = (
                f"extracted {len(rec.text)} characters, the current version has "
                f"{len(old_text)} (under {min_length_ratio:.0%})"
            )
            return _failed(conn, document_id, rec, previous, "too short", detail)

        if candidate is not None:
            # A third text: the pending candidate was not it either.
            conn.execute(
                "UPDATE checks SET outcome = 'unconfirmed' WHERE check_id = %s", (candidate,)
            )
        if verify:
            check_id = _insert_check(conn, document_id, rec, "candidate", previous, warc=warc())
            return CheckResult(check_id, "candidate", unconfirmed_check_id=candidate)

        check_id = _insert_check(conn, document_id, rec, "changed", previous, warc=warc())
        version_id, change_id, made_kind = _record_change(
            conn,
            document_id,
            latest,
            rec,
            check_id,
            rec.captured_at,
            rec.primary_raw_sha256,
            reextract,
            verified_by=None,
            kind=kind,
        )
        return CheckResult(
            check_id,
            "changed",
            version_id,
            old_number + 1,
            change_id,
            change_kind=made_kind,
            unconfirmed_check_id=candidate,
        )
