"""Record one check of one document: evidence, capture, and a version or change if any.

Everything a check writes happens in one transaction, under a row lock on the
document, so two crawlers checking the same document at once are serialized and never
make two versions of the same text; a failure part-way leaves nothing half-written.

The state machine of a new text: with ``verify``, it is first a ``candidate``; the next
check that finds it again confirms it (the change is recorded, dated from the
candidate, ``verified``); one that finds the old text makes it ``unconfirmed``; a third
text replaces it as the candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from atlas_crawl.evidence.warc import WarcRef
from atlas_crawl.storage import ledger
from atlas_crawl.storage.change_rules import DEFAULT_MIN_LENGTH_RATIO, too_short, truncation
from atlas_crawl.storage.check_rows import (
    Previous,
    already_recorded,
    insert_check,
    lock_document,
    previous_checks,
    recorded_source,
    set_outcome,
    set_version,
    store_captures,
)
from atlas_crawl.storage.ledger import Entry
from atlas_crawl.storage.queries import query
from atlas_crawl.storage.records import (
    CheckRecord,
    CheckResult,
    Reextract,
    StalePlan,
    WarcWriter,
)
from atlas_crawl.storage.versions import (
    Latest,
    first_version,
    latest_version,
    record_change,
    seen_again,
    version_pages,
    version_row,
)

__all__ = [
    "DEFAULT_MIN_LENGTH_RATIO",
    "CheckRecord",
    "CheckResult",
    "StalePlan",
    "already_recorded",
    "record_check",
]


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

    ``verify``: a new text is a ``candidate`` until another check confirms it or not.
    ``reextract`` classifies a change that comes with new declaration rules
    (``change_rules.change_kind``); ``kind`` gives the kind and reason outright
    (re-extraction of a stored capture is ``("technical", "reextract")``).
    ``write_warc`` writes the WARC records of the checks that make, propose or confirm
    a version.
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

    with conn.transaction():
        document_id = lock_document(conn, rec)
        if rec.source_ref is not None:
            # Under the document's lock: a capture already recorded is not recorded twice
            # (a resumed import, a round's document checked by two processes).
            done = recorded_source(conn, rec.source_ref)
            if done is not None:
                return CheckResult(done[0], "duplicate", pending_candidate=done[1] == "candidate")
        store_captures(conn, document_id, rec.pages)
        step = _Check(conn, document_id, rec, previous_checks(conn, document_id), write_warc)
        result = _outcome(step, min_length_ratio, reextract, verify, kind)
        # Last, so the ledger's lock is held only while this transaction commits.
        ledger.append(conn, step.entries)
    return result


def _outcome(
    step: _Check,
    min_length_ratio: float,
    reextract: Reextract | None,
    verify: bool,
    kind: tuple[str, str | None] | None,
) -> CheckResult:
    """What the check is, and its rows written accordingly."""
    rec = step.rec
    step.refuse_stale_plan(None)
    if rec.failure_reason is not None:
        return step.failed(rec.failure_reason, rec.failure_detail)
    latest = latest_version(step.conn, step.document_id)
    if latest is None:
        return step.first()
    step.refuse_stale_plan(latest)
    if rec.not_modified or rec.same_capture_text_sha256 is not None:
        return step.same_page(latest)
    if step.is_out_of_order():
        return step.from_the_past()
    if latest.text_sha256 == rec.text_sha256:
        return step.current_text(latest)
    if step.confirms_candidate():
        return step.confirmed(latest, reextract)
    return step.new_text(latest, min_length_ratio, verify, reextract, kind)


@dataclass
class _Check:
    """One check being recorded: each method is one outcome, and returns its result."""

    conn: psycopg.Connection
    document_id: int
    rec: CheckRecord
    previous: Previous
    write_warc: WarcWriter | None
    # The ledger entries of what this check writes, in order.
    entries: list[Entry] = field(default_factory=list)

    def _warc(self) -> list[WarcRef]:
        return self.write_warc(self.rec) if self.write_warc is not None else []

    def _insert(self, outcome: str, **kwargs: object) -> int:
        return insert_check(  # type: ignore[misc]
            self.conn,
            self.document_id,
            self.rec,
            outcome,
            self.previous,
            ledger=self.entries,
            **kwargs,  # type: ignore[arg-type]
        )

    def refuse_stale_plan(self, latest: Latest | None) -> None:
        """A check that skipped extraction must still see the text it assumed."""
        assumed = self.rec.same_capture_text_sha256
        if assumed is None:
            return
        moved = (
            self.previous.candidate_id is not None
            or self.previous.last_text_sha256 != assumed
            or (latest is not None and latest.text_sha256 != assumed)
        )
        if moved:
            raise StalePlan(f"{self.rec.platform} / {self.rec.document_type}")

    def failed(self, reason: str, detail: str | None) -> CheckResult:
        check_id = self._insert("failed", reason=reason, detail=detail)
        return CheckResult(check_id, "failed", failure_reason=reason)

    def first(self) -> CheckResult:
        if self.rec.not_modified:
            return self.failed(
                "not modified", "a 304 answer, but no version is stored to stand for"
            )
        check_id = self._insert("first", warc=self._warc())
        rec = self.rec
        version_id = first_version(
            self.conn, self.document_id, rec, check_id, rec.primary_raw_sha256, self.entries
        )
        return CheckResult(check_id, "first", version_id, 1)

    def same_page(self, latest: Latest) -> CheckResult:
        """The server vouches that the page is the one of the last settled capture
        (304), or the very same bytes came back."""
        self.rec.text_sha256_override = latest.text_sha256
        check_id = self._insert("unchanged", version_id=latest.version_id)
        seen_again(self.conn, latest.version_id, self.rec.captured_at)
        _routine_commit(self.conn)
        return CheckResult(check_id, "unchanged", latest.version_id, latest.version_number)

    def current_text(self, latest: Latest) -> CheckResult:
        candidate = self.previous.candidate_id
        if candidate is not None:
            # The old text is back: the candidate was not the policy's new text.
            set_outcome(self.conn, candidate, "unconfirmed")
        check_id = self._insert(
            "unchanged",
            warc=self._warc() if candidate is not None else None,
            verifies=candidate,
            version_id=latest.version_id,
        )
        seen_again(self.conn, latest.version_id, self.rec.captured_at)
        if candidate is None:
            _routine_commit(self.conn)
        return CheckResult(
            check_id,
            "unchanged",
            latest.version_id,
            latest.version_number,
            unconfirmed_check_id=candidate,
        )

    def is_out_of_order(self) -> bool:
        """Captured before the document's last settled check (an archive imported after
        newer history): it cannot propose what comes next."""
        settled = self.previous.settled_captured_at
        return settled is not None and self.rec.captured_at < settled

    def from_the_past(self) -> CheckResult:
        """An older capture goes to the version whose text it has (which was then seen
        earlier than known); with a text the history does not have, it is a failed check
        that says so: a version is never slipped in before later ones."""
        rec = self.rec
        row = self.conn.execute(
            query("version_with_text"),
            {"document": self.document_id, "text_sha256": rec.text_sha256},
        ).fetchone()
        if row is None:
            settled = self.previous.settled_captured_at
            assert settled is not None
            return self.failed(
                "out of order",
                f"captured {rec.captured_at:%Y-%m-%d %H:%M:%S} UTC, before the document's "
                f"last capture ({settled:%Y-%m-%d %H:%M:%S} UTC), with a text the history "
                "does not have: import archives oldest first, or into a fresh database",
            )
        version_id, number = int(row[0]), int(row[1])
        check_id = self._insert("unchanged", version_id=version_id)
        self.conn.execute(
            query("version_seen_earlier"), {"version": version_id, "seen": rec.captured_at}
        )
        return CheckResult(check_id, "unchanged", version_id, number)

    def confirms_candidate(self) -> bool:
        previous = self.previous
        return (
            previous.candidate_id is not None
            and previous.candidate_text_sha256 == self.rec.text_sha256
        )

    def confirmed(self, latest: Latest, reextract: Reextract | None) -> CheckResult:
        """Found again: the candidate is confirmed; the change dates from it."""
        candidate = self.previous.candidate_id
        assert candidate is not None and self.previous.candidate_captured_at is not None
        check_id = self._insert("unchanged", warc=self._warc(), verifies=candidate)
        version_id, change_id, made_kind = record_change(
            self.conn,
            self.document_id,
            latest,
            self.rec,
            candidate,
            self.previous.candidate_captured_at,
            self.previous.candidate_raw_sha256,
            reextract,
            verified_by=check_id,
            ledger=self.entries,
        )
        set_outcome(self.conn, candidate, "changed")
        set_version(self.conn, check_id, version_id)
        return CheckResult(
            check_id,
            "unchanged",
            version_id,
            latest.version_number + 1,
            change_id,
            change_kind=made_kind,
            verified=True,
        )

    def new_text(
        self,
        latest: Latest,
        min_length_ratio: float,
        verify: bool,
        reextract: Reextract | None,
        kind: tuple[str, str | None] | None,
    ) -> CheckResult:
        rec, candidate = self.rec, self.previous.candidate_id
        assert rec.text is not None
        cut = truncation(rec.page_bodies, lambda: version_pages(self.conn, latest.version_id))
        if cut:
            return self.failed("truncated", cut)
        current = version_row(self.conn, latest.version_id)[3]
        # A much shorter text is believed only once a second fetch finds it again: it is
        # a candidate whatever ``verify`` says, and its change is flagged for review. A
        # real rewrite to a short notice is so one confirmation late, never refused.
        short = too_short(rec.text, current, min_length_ratio)
        review = ("too short", short) if short else None
        if candidate is not None:
            # A third text: the pending candidate was not it either.
            set_outcome(self.conn, candidate, "unconfirmed")
        if verify or review:
            check_id = self._insert("candidate", warc=self._warc(), review=review)
            return CheckResult(check_id, "candidate", unconfirmed_check_id=candidate)
        check_id = self._insert("changed", warc=self._warc())
        version_id, change_id, made_kind = record_change(
            self.conn,
            self.document_id,
            latest,
            rec,
            check_id,
            rec.captured_at,
            rec.primary_raw_sha256,
            reextract,
            verified_by=None,
            ledger=self.entries,
            kind=kind,
        )
        return CheckResult(
            check_id,
            "changed",
            version_id,
            latest.version_number + 1,
            change_id,
            change_kind=made_kind,
            unconfirmed_check_id=candidate,
        )


def _routine_commit(conn: psycopg.Connection) -> None:
    """A check that only saw the current version again (no version, change or WARC
    record): its commit does not wait for the disk. A crash of the database server may
    lose the last few such checks, never part of one: what survives is a consistent
    prefix of the history, and the next check repeats the observation."""
    conn.execute("SET LOCAL synchronous_commit = off")
