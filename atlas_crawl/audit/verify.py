"""Recompute every stored hash: raw captures, version texts and their binding to the
checks that made them, diffs, provisions, WARC records, check chains."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from atlas_crawl.audit.provision_check import check_provisions
from atlas_crawl.diff.patch import patch_holds
from atlas_crawl.evidence.ledger import FIELDS, evidence_hash
from atlas_crawl.evidence.warc import read_capture
from atlas_crawl.storage import ledger
from atlas_crawl.storage.captures import CaptureCache, load_capture
from atlas_crawl.storage.database import one_line


@dataclass(frozen=True)
class Mismatch:
    kind: str  # capture, version, provision, warc, chain
    record: str  # which record, e.g. "check 12"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:8} {self.record}: {self.detail}"


@dataclass
class VerifyReport:
    mismatches: list[Mismatch]
    counts: dict[str, int]


def _chain_order(rows: list[tuple[str, str | None, int]]) -> list[tuple[str, int]]:
    """Captures so that each delta comes right after its base's subtree position (depth
    first from each full copy): its base is then always in a small cache. Captures whose
    base is missing come last (reading them reports the broken chain)."""
    children: dict[str | None, list[tuple[str, int]]] = defaultdict(list)
    for digest, base, size in rows:
        children[base].append((digest, size))
    order: list[tuple[str, int]] = []
    seen: set[str] = set()
    stack = list(reversed(children[None]))
    while stack:
        digest, size = stack.pop()
        if digest in seen:
            continue
        seen.add(digest)
        order.append((digest, size))
        stack.extend(reversed(children.get(digest, [])))
    order += [(digest, size) for digest, _, size in rows if digest not in seen]
    return order


def _captures(conn: psycopg.Connection) -> Iterator[Mismatch]:
    rows = conn.execute(
        "SELECT raw_sha256, base_sha256, size FROM captures ORDER BY first_stored_at"
    ).fetchall()
    cache = CaptureCache(64)
    for digest, size in _chain_order(rows):
        try:
            raw = load_capture(conn, digest, cache)
        except Exception as exc:  # a damaged body or a broken chain is a finding
            yield Mismatch("capture", f"capture {digest}", f"cannot unpack: {exc}")
            continue
        if hashlib.sha256(raw).hexdigest() != digest or len(raw) != size:
            yield Mismatch("capture", f"capture {digest}", "stored body does not match its SHA-256")


def _versions(conn: psycopg.Connection) -> Iterator[Mismatch]:
    with conn.cursor(name="verify_versions") as cur:
        cur.itersize = 100
        cur.execute("SELECT version_id, record_id, text, text_sha256 FROM versions")
        for version_id, record_id, text, digest in cur:
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
                yield Mismatch("version", f"version {version_id} ({record_id})",
                               "text does not match its SHA-256")  # fmt: skip


def _version_bindings(conn: psycopg.Connection) -> Iterator[Mismatch]:
    """Each version is bound to the chained check that made it: same document, same text
    hash (a text rewritten together with its own hash no longer matches the check's,
    which the chain covers), and numbered in the order of those checks."""
    rows = conn.execute(
        """SELECT v.version_id, v.record_id, v.document_id, v.version_number, v.text_sha256,
                  v.check_id, k.document_id, k.text_sha256, k.evidence_hash IS NOT NULL
           FROM versions v LEFT JOIN checks k ON k.check_id = v.check_id
           ORDER BY v.document_id, v.version_number"""
    ).fetchall()
    last: tuple[int, int, int] | None = None  # document, number, check of the previous one
    for version_id, record_id, document_id, number, text_hash, check_id, *made_by in rows:
        check_document, check_text, chained = made_by
        where = f"version {version_id} ({record_id})"
        if check_document is None:
            yield Mismatch("version", where, f"the check that made it ({check_id}) is gone")
        elif chained and check_document != document_id:
            yield Mismatch("version", where, f"its check {check_id} is of another document")
        elif chained and check_text != text_hash:
            yield Mismatch("version", where,
                           f"its text hash differs from the one check {check_id} recorded "
                           "(the text was rewritten)")  # fmt: skip
        expected = last[1] + 1 if last and last[0] == document_id else 1
        if number != expected:
            yield Mismatch("version", where, f"numbered {number}, expected {expected}")
        elif last and last[0] == document_id and check_id < last[2]:
            yield Mismatch("version", where, "made by a check older than its predecessor's")
        last = (document_id, number, check_id)


def _diffs(conn: psycopg.Connection) -> Iterator[Mismatch]:
    """Each change's stored diff must turn its old text into exactly its new one (applied
    strictly) and add and remove the characters the change records: a diff rewritten,
    a word swapped, no longer does."""
    with conn.cursor(name="verify_changes") as cur:
        cur.itersize = 20
        cur.execute(
            """SELECT c.change_id, c.record_id, c.diff, c.chars_added, c.chars_removed,
                      old.text, new.text
               FROM changes c JOIN versions old ON old.version_id = c.from_version_id
               JOIN versions new ON new.version_id = c.to_version_id ORDER BY c.change_id"""
        )
        for change_id, record_id, patch, added, removed, old_text, new_text in cur:
            holds, patch_added, patch_removed = patch_holds(old_text, new_text, patch)
            if not holds or (patch_added, patch_removed) != (added, removed):
                yield Mismatch("diff", f"change {change_id} ({record_id})",
                               "its stored diff is not the diff of its two versions "
                               "(rewritten?)")  # fmt: skip


def _ledger(conn: psycopg.Connection) -> Iterator[Mismatch]:
    """Each ledger entry still matches its record (a rewrite that did not also rewrite
    the ledger; against one that did, a published checkpoint holds)."""
    for row in ledger.rows(conn):
        if row.entry is None:
            yield Mismatch("ledger", f"entry {row.position}",
                           f"its {row.kind} {row.record} is gone (deleted)")  # fmt: skip
        elif not row.intact:
            yield Mismatch("ledger", f"entry {row.position}",
                           f"{row.kind} {row.record} no longer matches it")  # fmt: skip


def _warcs(conn: psycopg.Connection, folder: Path) -> Iterator[Mismatch]:
    rows = conn.execute(
        """SELECT check_id, position, warc_file, warc_offset, warc_payload_digest, raw_sha256
           FROM check_pages WHERE warc_file IS NOT NULL ORDER BY check_id, position"""
    ).fetchall()
    for check_id, position, file, offset, stored_digest, raw_sha256 in rows:
        where = f"check {check_id} page {position} ({file}@{offset})"
        try:
            read = read_capture(folder, file, offset)
        except FileNotFoundError:
            yield Mismatch("warc", where, "the WARC file is missing")
            continue
        except Exception as exc:  # any damage to the bytes is a finding, said in one line
            yield Mismatch("warc", where, f"unreadable (damaged bytes?): {_one_line(exc)}")
            continue
        for problem in read.problems:
            yield Mismatch("warc", where, problem)
        if read.recomputed_digest != read.stored_digest:
            yield Mismatch("warc", where, "record payload does not match its WARC-Payload-Digest")
        elif read.recomputed_digest != stored_digest:
            yield Mismatch("warc", where, "record digest differs from the one the check stored")
        elif raw_sha256 and hashlib.sha256(read.payload).hexdigest() != raw_sha256:
            yield Mismatch("warc", where, "record payload differs from the stored capture")


def _one_line(exc: BaseException) -> str:
    text = one_line(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _chains(conn: psycopg.Connection) -> Iterator[Mismatch]:
    columns = ", ".join(FIELDS)
    rows = conn.execute(
        f"""SELECT check_id, evidence_hash, previous_evidence_hash, {columns}
            FROM checks WHERE evidence_hash IS NOT NULL ORDER BY document_id, check_id"""
    ).fetchall()
    last: dict[int, str] = {}
    for row in rows:
        check_id, stored, previous = row[:3]
        fields = dict(zip(FIELDS, row[3:], strict=True))
        document_id = fields["document_id"]
        expected_previous = last.get(document_id)
        last[document_id] = stored
        if previous is None and expected_previous is not None:
            # Not stored since migration 008: the hash must hold with the predecessor.
            if evidence_hash(fields, expected_previous) != stored:
                yield Mismatch("chain", f"check {check_id}",
                               "does not follow the document's previous check, or its "
                               "evidence changed (a check was changed, removed or "
                               "inserted)")  # fmt: skip
            continue
        if previous != expected_previous:
            yield Mismatch("chain", f"check {check_id}",
                           "does not follow the document's previous check (one was changed, "
                           "removed or inserted)")  # fmt: skip
        if evidence_hash(fields, previous) != stored:
            yield Mismatch("chain", f"check {check_id}", "its evidence no longer matches its hash")


def verify(conn: psycopg.Connection, evidence_folder: Path) -> VerifyReport:
    mismatches: list[Mismatch] = []
    with conn.transaction():
        mismatches += _captures(conn)
        mismatches += _versions(conn)
        mismatches += _version_bindings(conn)
        mismatches += _diffs(conn)
        mismatches += _ledger(conn)
        mismatches += [Mismatch("provision", r, d) for r, d in check_provisions(conn)]
    mismatches += _warcs(conn, evidence_folder)
    mismatches += _chains(conn)
    counts = {
        name: conn.execute(query).fetchone()[0]  # type: ignore[index]
        for name, query in [
            ("captures", "SELECT count(*) FROM captures"),
            ("versions", "SELECT count(*) FROM versions"),
            ("diffs", "SELECT count(*) FROM changes"),
            ("ledger entries", "SELECT count(*) FROM ledger"),
            ("provision versions", "SELECT count(*) FROM version_segmentations"),
            ("warc records", "SELECT count(*) FROM check_pages WHERE warc_file IS NOT NULL"),
            ("chained checks", "SELECT count(*) FROM checks WHERE evidence_hash IS NOT NULL"),
        ]
    }
    return VerifyReport(mismatches, counts)
