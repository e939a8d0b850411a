"""Provision histories checked against the version texts they were cut from.

Provisions are derived data: every version text (bound by the ledger) is cut again and
matched again to its predecessor's provisions, and what is stored must be exactly that:
the same texts and hashes in the same places and headings, the same identities, the
same provision changes. Anything else was written by hand or by a different segmenter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import psycopg

from atlas_crawl.audit.scope import EVERYTHING, Scope
from atlas_crawl.provisions import match_provisions, segment
from atlas_crawl.storage.provisions import SEGMENTER_VERSION, Stored, stored_provisions


def _texts(conn: psycopg.Connection, scope: Scope) -> Iterator[tuple[str, str]]:
    rows = conn.execute(
        f"""SELECT text_sha256, text FROM provision_texts WHERE {
            "true"
            if scope.whole
            else f'''text_sha256 IN (SELECT text_sha256 FROM version_provisions
                                    WHERE {scope.holds("version_id", "version")})'''
        }""",
        scope.params,
    )
    for digest, text in rows:
        if hashlib.sha256(text.encode("utf-8")).digest() != digest:
            yield f"provision text {digest.hex()[:12]}", "its text no longer matches its hash"


def _edits(conn: psycopg.Connection, change_id: int) -> set[tuple[int, str]]:
    rows = conn.execute(
        "SELECT provision_id, kind FROM provision_edits WHERE change_id = %s", (change_id,)
    ).fetchall()
    return {(int(r[0]), r[1]) for r in rows}


def check_provisions(
    conn: psycopg.Connection, scope: Scope = EVERYTHING
) -> Iterator[tuple[str, str]]:
    """(record, problem) for every provision row that its version text does not give
    (of the versions of the ledger entries in ``scope``)."""
    yield from _texts(conn, scope)
    versions = conn.execute(
        f"""SELECT v.version_id, v.document_id, v.text, s.segmenter, c.change_id,
                   c.from_version_id
            FROM versions v JOIN version_segmentations s USING (version_id)
            LEFT JOIN changes c ON c.to_version_id = v.version_id
            WHERE {scope.holds("v.version_id", "version")}
            ORDER BY v.document_id, v.version_number""",
        scope.params,
    ).fetchall()
    # In version order a version's predecessor is the row just read: its provisions are
    # not read again.
    last: tuple[int, list[Stored]] | None = None
    for version_id, _document, text, segmenter, change_id, from_version_id in versions:
        record = f"version {version_id}"
        if segmenter != SEGMENTER_VERSION:
            yield record, f"cut by segmenter {segmenter}, not {SEGMENTER_VERSION}: rebuild it"
            continue
        stored = stored_provisions(conn, version_id)
        previous, last = last, (version_id, stored)
        cut = segment(text)
        if [(p.position, p.heading, p.text) for p in stored] != [
            (p.position, p.heading, p.text) for p in cut
        ]:
            yield record, "its provisions are not those its text gives"
            continue
        if change_id is None or from_version_id is None:
            continue
        if previous is not None and previous[0] == from_version_id:
            before = previous[1]
        else:
            before = stored_provisions(conn, from_version_id)
        yield from _identities(conn, record, change_id, before, stored)


def _identities(
    conn: psycopg.Connection,
    record: str,
    change_id: int,
    before: list[Stored],
    after: list[Stored],
) -> Iterator[tuple[str, str]]:
    found = match_provisions(before, after)
    old_ids = {p.provision_id for p in before}
    for j, i in enumerate(found.continues):
        expected = before[i].provision_id if i is not None else None
        actual = after[j].provision_id
        if (expected is None and actual in old_ids) or (
            expected is not None and actual != expected
        ):
            yield record, f"provision at {j + 1} has the wrong identity"
            return
    expected_edits = set()
    for c in found.changes:
        if c.new is not None:
            expected_edits.add((after[c.new].provision_id, c.kind))
        elif c.old is not None:
            expected_edits.add((before[c.old].provision_id, c.kind))
    if _edits(conn, change_id) != expected_edits:
        yield record, f"the provision changes of change {change_id} are not what it made"
