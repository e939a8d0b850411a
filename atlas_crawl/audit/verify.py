"""Recompute every stored hash: raw captures, version texts and their binding to the
checks that made them, diffs, provisions, WARC records, check chains."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from atlas_crawl.audit.archives_check import check_archives
from atlas_crawl.audit.heads_check import (
    check_current_clause_types,
    check_current_provisions,
    check_heads,
)
from atlas_crawl.audit.provision_check import check_provisions
from atlas_crawl.audit.scope import EVERYTHING, Scope
from atlas_crawl.diff.patch import patch_holds
from atlas_crawl.evidence.ledger import FIELDS, evidence_hash
from atlas_crawl.evidence.warc import read_capture
from atlas_crawl.storage import ledger
from atlas_crawl.storage.captures import CaptureCache, load_capture
from atlas_crawl.storage.database import one_line


@dataclass(frozen=True)
class Mismatch:
    kind: str  # capture, version, provision, warc, chain, ledger, status, archive
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


def _captures(conn: psycopg.Connection, scope: Scope, counts: dict[str, int]) -> Iterator[Mismatch]:
    # In a scope: the captures its versions and its checks brought, but for the checks
    # that saw their predecessor's very capture again (most of them), verified with it.
    fresh = f"""WITH scoped AS (
            SELECT check_id, document_id, raw_sha256 FROM checks
            WHERE raw_sha256 IS NOT NULL AND {scope.holds("check_id", "check")}),
        fresh AS (
            SELECT s.check_id, s.raw_sha256 FROM scoped s
            WHERE s.raw_sha256 IS DISTINCT FROM (
                SELECT p.raw_sha256 FROM checks p
                WHERE p.document_id = s.document_id AND p.check_id < s.check_id
                  AND p.raw_sha256 IS NOT NULL
                ORDER BY p.check_id DESC LIMIT 1))
        SELECT raw_sha256 FROM fresh
        UNION SELECT g.raw_sha256 FROM check_pages g JOIN fresh f USING (check_id)
        UNION SELECT raw_sha256 FROM versions WHERE {scope.holds("version_id", "version")}"""
    picked = "true" if scope.whole else f"raw_sha256 IN ({fresh})"
    rows = conn.execute(
        f"SELECT raw_sha256, base_sha256, size FROM captures WHERE {picked} "
        "ORDER BY first_stored_at",
        scope.params,
    ).fetchall()
    counts["captures"] = len(rows)
    cache = CaptureCache(64)
    for digest, size in _chain_order(rows):
        try:
            raw = load_capture(conn, digest, cache)
        except Exception as exc:  # a damaged body or a broken chain is a finding
            yield Mismatch("capture", f"capture {digest}", f"cannot unpack: {exc}")
            continue
        if hashlib.sha256(raw).hexdigest() != digest or len(raw) != size:
            yield Mismatch("capture", f"capture {digest}", "stored body does not match its SHA-256")


def _versions(conn: psycopg.Connection, scope: Scope) -> Iterator[Mismatch]:
    with conn.cursor(name="verify_versions") as cur:
        cur.itersize = 100
        cur.execute(
            f"""SELECT version_id, record_id, text, text_sha256 FROM versions
                        WHERE {scope.holds("version_id", "version")}""",
            scope.params,
        )
        for version_id, record_id, text, digest in cur:
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
                yield Mismatch("version", f"version {version_id} ({record_id})",
                               "text does not match its SHA-256")  # fmt: skip


def _version_bindings(conn: psycopg.Connection, scope: Scope) -> Iterator[Mismatch]:
    """Each version is bound to the chained check that made it: same document, same text
    hash (a text rewritten together with its own hash no longer matches the check's,
    which the chain covers), and numbered in the order of those checks. (In a scope:
    every version of the documents with a version in it.)"""
    rows = conn.execute(
        f"""SELECT v.version_id, v.record_id, v.document_id, v.version_number, v.text_sha256,
                   v.check_id, k.document_id, k.text_sha256, k.evidence_hash IS NOT NULL
            FROM versions v LEFT JOIN checks k ON k.check_id = v.check_id
            WHERE v.document_id IN (SELECT document_id FROM versions
                                    WHERE {scope.holds("version_id", "version")})
            ORDER BY v.document_id, v.version_number""",
        scope.params,
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


def _diffs(conn: psycopg.Connection, scope: Scope) -> Iterator[Mismatch]:
    """Each change's stored diff must turn its old text into exactly its new one (applied
    strictly) and add and remove the characters the change records: a diff rewritten,
    a word swapped, no longer does."""
    with conn.cursor(name="verify_changes") as cur:
        cur.itersize = 20
        cur.execute(
            """SELECT c.change_id, c.record_id, c.diff, c.chars_added, c.chars_removed,
                      old.text, new.text
               FROM changes c JOIN versions old ON old.version_id = c.from_version_id
               JOIN versions new ON new.version_id = c.to_version_id
               WHERE """
            + scope.holds("c.change_id", "change")
            + " ORDER BY c.change_id",
            scope.params,
        )
        for change_id, record_id, patch, added, removed, old_text, new_text in cur:
            holds, patch_added, patch_removed = patch_holds(old_text, new_text, patch)
            if not holds or (patch_added, patch_removed) != (added, removed):
                yield Mismatch("diff", f"change {change_id} ({record_id})",
                               "its stored diff is not the diff of its two versions "
                               "(rewritten?)")  # fmt: skip


def entry_mismatch(row: ledger.LedgerRow, counts: dict[str, int]) -> Mismatch | None:
    """A ledger entry that no longer matches its record (a rewrite that did not also
    rewrite the ledger; against one that did, a published checkpoint holds), counted."""
    counts["ledger entries"] = counts.get("ledger entries", 0) + 1
    if row.archived:  # its range is counted against check_archives (archives_check)
        counts["archived checks"] = counts.get("archived checks", 0) + 1
    elif row.entry is None:
        return Mismatch("ledger", f"entry {row.position}",
                        f"its {row.kind} {row.record} is gone (deleted)")  # fmt: skip
    elif not row.intact:
        return Mismatch("ledger", f"entry {row.position}",
                        f"{row.kind} {row.record} no longer matches it")  # fmt: skip
    return None


def _ledger(conn: psycopg.Connection, scope: Scope, counts: dict[str, int]) -> Iterator[Mismatch]:
    for row in ledger.rows(conn, scope.end, scope.start):
        found = entry_mismatch(row, counts)
        if found is not None:
            yield found


def _warcs(conn: psycopg.Connection, folder: Path, scope: Scope) -> Iterator[Mismatch]:
    rows = conn.execute(
        f"""SELECT check_id, position, warc_file, warc_offset, warc_payload_digest, raw_sha256
            FROM check_pages WHERE warc_file IS NOT NULL AND {scope.holds("check_id", "check")}
            ORDER BY check_id, position""",
        scope.params,
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


def _chain_rows(conn: psycopg.Connection, scope: Scope) -> Iterator[tuple]:
    """(seed, check, stored hash, stored previous hash, *FIELDS) by document and check;
    in a scope, each document's checks in it after the check just before them (a seed:
    where its chain is taken up, not verified again). Streamed: ten million checks do
    not fit in memory."""
    columns = ", ".join(FIELDS)
    picked = f"check_id, evidence_hash, previous_evidence_hash, {columns}"
    # An archived check a remaining one follows: where its chain is taken up (a seed).
    head = ", ".join(["check_id", "evidence_hash", "NULL"]
                     + [f if f == "document_id" else "NULL" for f in FIELDS])  # fmt: skip
    if scope.whole:
        sql = f"""SELECT false, {picked} FROM checks WHERE evidence_hash IS NOT NULL
                  UNION ALL SELECT true, {head} FROM archived_check_heads
                  ORDER BY document_id, check_id"""
    else:
        sql = f"""WITH scoped AS (
                      SELECT * FROM checks
                      WHERE evidence_hash IS NOT NULL AND {scope.holds("check_id", "check")}),
                  firsts AS (SELECT document_id, min(check_id) AS first FROM scoped
                             GROUP BY document_id)
                  SELECT false, {picked} FROM scoped
                  UNION ALL
                  SELECT true, {head} FROM archived_check_heads
                  WHERE {scope.holds("check_id", "check")}
                  UNION ALL
                  SELECT true, p.* FROM firsts f CROSS JOIN LATERAL (
                      (SELECT {picked} FROM checks
                       WHERE document_id = f.document_id AND check_id < f.first
                         AND evidence_hash IS NOT NULL
                       ORDER BY check_id DESC LIMIT 1)
                      UNION ALL
                      (SELECT {head} FROM archived_check_heads
                       WHERE document_id = f.document_id AND check_id < f.first
                       ORDER BY check_id DESC LIMIT 1)
                      ORDER BY check_id DESC LIMIT 1) p
                  ORDER BY document_id, check_id"""
    with conn.cursor(name="verify_chains") as cur:
        cur.itersize = 5000
        cur.execute(sql, scope.params)
        yield from cur


def _chains(conn: psycopg.Connection, scope: Scope, counts: dict[str, int]) -> Iterator[Mismatch]:
    last: dict[int, str] = {}
    for row in _chain_rows(conn, scope):
        seed, check_id, stored, previous = row[:4]
        fields = dict(zip(FIELDS, row[4:], strict=True))
        document_id = fields["document_id"]
        expected_previous = last.get(document_id)
        last[document_id] = stored
        if seed:
            continue
        counts["chained checks"] += 1
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


def verify_records(
    conn: psycopg.Connection, evidence_folder: Path, scope: Scope = EVERYTHING
) -> VerifyReport:
    """The records the ledger entries in ``scope`` brought (captures, versions, diffs,
    provisions, WARC records) against their stored hashes: in proportion to what was
    new, not to the number of checks."""
    mismatches: list[Mismatch] = []
    counts: dict[str, int] = {}

    def count(name: str, table: str, condition: str) -> None:
        counts[name] = conn.execute(  # type: ignore[index]
            f"SELECT count(*) FROM {table} WHERE {condition}", scope.params
        ).fetchone()[0]

    with conn.transaction():
        mismatches += _captures(conn, scope, counts)
        mismatches += _versions(conn, scope)
        count("versions", "versions", scope.holds("version_id", "version"))
        mismatches += _version_bindings(conn, scope)
        mismatches += _diffs(conn, scope)
        count("diffs", "changes", scope.holds("change_id", "change"))
        mismatches += [Mismatch("provision", r, d) for r, d in check_provisions(conn, scope)]
        if scope.whole:
            mismatches += [Mismatch("status", r, d) for r, d in check_heads(conn)]
            mismatches += [Mismatch("status", r, d) for r, d in check_current_provisions(conn)]
            mismatches += [Mismatch("status", r, d) for r, d in check_current_clause_types(conn)]
        mismatches += [Mismatch("archive", r, d) for r, d in check_archives(conn)]
        count("provision versions", "version_segmentations",
              scope.holds("version_id", "version"))  # fmt: skip
    mismatches += _warcs(conn, evidence_folder, scope)
    count("warc records", "check_pages",
          "warc_file IS NOT NULL AND " + scope.holds("check_id", "check"))  # fmt: skip
    return VerifyReport(mismatches, counts)


def verify_entries(conn: psycopg.Connection, scope: Scope = EVERYTHING) -> VerifyReport:
    """The ledger entries in ``scope`` against their records, and the hash chain of
    their checks: in proportion to the number of entries."""
    counts = {"ledger entries": 0, "chained checks": 0}
    with conn.transaction():  # both are read through server-side cursors
        mismatches = list(_ledger(conn, scope, counts))
        mismatches += _chains(conn, scope, counts)
    return VerifyReport(mismatches, counts)


def verify_chains(conn: psycopg.Connection, scope: Scope = EVERYTHING) -> VerifyReport:
    """The hash chain of the checks in ``scope`` alone (their ledger entries read
    elsewhere)."""
    counts = {"chained checks": 0}
    with conn.transaction():  # read through a server-side cursor
        mismatches = list(_chains(conn, scope, counts))
    return VerifyReport(mismatches, counts)


def verify(
    conn: psycopg.Connection, evidence_folder: Path, scope: Scope = EVERYTHING
) -> VerifyReport:
    """Every record of the ledger entries in ``scope`` (all by default) against its
    stored hashes, and each entry against its record."""
    records = verify_records(conn, evidence_folder, scope)
    entries = verify_entries(conn, scope)
    return VerifyReport(records.mismatches + entries.mismatches,
                        {**records.counts, **entries.counts})  # fmt: skip
