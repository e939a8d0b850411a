"""Provision histories in PostgreSQL, written in the transaction of the version (and
change) they belong to.

Every version is cut once (``version_segmentations`` says by which segmenter); a
version's provisions continue those of the version before it through the change between
them. A version whose predecessors were never cut (a database from before provisions,
or one being rebuilt) gets its document's earlier versions cut first, in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from atlas_crawl.diff.patch import make_diff
from atlas_crawl.provisions.match import Change, match_provisions
from atlas_crawl.provisions.segment import Provision, segment
from atlas_crawl.storage.classifications import (
    Edit,
    current_classifier,
    ensure_classified,
    mark_change,
)
from atlas_crawl.storage.queries import query

# Bump when segmenting or matching changes what an unchanged text gives.
SEGMENTER_VERSION = "1"


@dataclass(frozen=True)
class Stored(Provision):
    provision_id: int = 0


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def stored_provisions(conn: psycopg.Connection, version_id: int) -> list[Stored]:
    rows = conn.execute(query("version_provisions"), {"version": version_id}).fetchall()
    return [Stored(position=r[0], heading=r[1], text=r[2], provision_id=r[3]) for r in rows]


def _insert_texts(conn: psycopg.Connection, texts: Sequence[str]) -> list[bytes]:
    digests = [_digest(t) for t in texts]
    # In hash order: two crawlers inserting shared texts take their locks in one order,
    # so they wait for each other but never deadlock.
    unique = dict(sorted(zip(digests, texts, strict=True)))
    conn.execute(query("insert_texts"), {"hashes": list(unique), "texts": list(unique.values())})
    return digests


def _new_provisions(
    conn: psycopg.Connection, document_id: int, version_id: int, split_from: list[int | None]
) -> list[int]:
    if not split_from:
        return []
    rows = conn.execute(
        query("insert_provisions"),
        {"document": document_id, "version": version_id, "split_from": split_from},
    ).fetchall()
    return [int(r[0]) for r in rows]


def _write_version(
    conn: psycopg.Connection,
    version_id: int,
    provisions: Sequence[Provision],
    ids: Sequence[int],
    digests: Sequence[bytes],
) -> int:
    """Write a version's provisions and classify their texts; returns the classifier."""
    conn.execute(
        query("insert_version_provisions"),
        {
            "version": version_id,
            "positions": [p.position for p in provisions],
            "ids": list(ids),
            "hashes": list(digests),
            "headings": [p.heading for p in provisions],
        },
    )
    conn.execute(
        query("mark_segmented"),
        {"version": version_id, "segmenter": SEGMENTER_VERSION, "count": len(provisions)},
    )
    texts = {d: p.text for d, p in zip(digests, provisions, strict=True)}
    classifier = current_classifier(conn)
    ensure_classified(conn, classifier, texts)
    return classifier


def track_first(conn: psycopg.Connection, document_id: int, version_id: int, text: str) -> None:
    """The provisions of a document's first version: each one new."""
    provisions = segment(text)
    digests = _insert_texts(conn, [p.text for p in provisions])
    ids = _new_provisions(conn, document_id, version_id, [None] * len(provisions))
    _write_version(conn, version_id, provisions, ids, digests)


def track_change(
    conn: psycopg.Connection,
    document_id: int,
    from_version_id: int,
    version_id: int,
    text: str,
    change_id: int,
    technical: bool,
) -> None:
    """The provisions of a new version, continuing those of ``from_version_id``, and
    what ``change_id`` did to them."""
    ensure_history(conn, document_id, before=version_id)
    old = stored_provisions(conn, from_version_id)
    new = segment(text)
    found = match_provisions(old, new)
    digests = _insert_texts(conn, [p.text for p in new])
    fresh = [j for j, i in enumerate(found.continues) if i is None]
    split_from = {
        c.new: old[c.related].provision_id
        for c in found.changes
        if c.kind == "split" and c.new is not None and c.related is not None
    }
    new_ids = _new_provisions(
        conn,
        document_id,
        version_id,
        [split_from.get(j) for j in fresh],
    )  # fmt: skip
    fresh_ids = dict(zip(fresh, new_ids, strict=True))
    ids = [
        old[i].provision_id if i is not None else fresh_ids[j]
        for j, i in enumerate(found.continues)
    ]
    classifier = _write_version(conn, version_id, new, ids, digests)
    ended = [
        old[c.old].provision_id
        for c in found.changes
        if c.kind in ("removed", "merged") and c.old is not None
    ]
    if ended:
        conn.execute(query("end_provisions"), {"version": version_id, "ids": ended})
    _write_changes(conn, change_id, technical, found.changes, old, new, ids, digests)
    if not technical:  # a re-reading of the same page raises nothing
        _mark_severities(conn, classifier, change_id, found.changes, old, ids, digests)


def _mark_severities(
    conn: psycopg.Connection,
    classifier: int,
    change_id: int,
    changes: Sequence[Change],
    old: Sequence[Stored],
    new_ids: Sequence[int],
    new_digests: Sequence[bytes],
) -> None:
    old_texts: dict[bytes, str] = {}
    edits = []
    for c in changes:
        if c.new is None:
            continue
        if c.kind == "added":
            source = None
        elif c.kind in ("modified", "split"):
            source = c.old if c.kind == "modified" else c.related
        else:  # moved (same text) or merged (the target's own edit says it)
            continue
        before = None
        if source is not None:
            before = _digest(old[source].text)
            old_texts[before] = old[source].text
        edits.append(Edit(new_ids[c.new], before, new_digests[c.new]))
    mark_change(conn, classifier, change_id, edits, old_texts)


def _write_changes(
    conn: psycopg.Connection,
    change_id: int,
    technical: bool,
    changes: Sequence[Change],
    old: Sequence[Stored],
    new: Sequence[Provision],
    new_ids: Sequence[int],
    new_digests: Sequence[bytes],
) -> None:
    rows: list[tuple[int, str, bytes | None, bytes | None, int | None, str | None]] = []
    for c in changes:
        before = old[c.old] if c.old is not None else None
        from_sha = _digest(before.text) if before is not None else None
        to_sha = new_digests[c.new] if c.new is not None else None
        if c.new is not None:
            provision = new_ids[c.new]
        else:
            assert before is not None
            provision = before.provision_id
        related = None
        if c.kind == "split" and c.related is not None:
            related = old[c.related].provision_id
            from_sha = _digest(old[c.related].text)
        elif c.kind == "merged" and c.related is not None:
            related = new_ids[c.related]
            to_sha = new_digests[c.related]
        diff = None
        if c.kind == "modified" and before is not None and c.new is not None:
            diff = make_diff(before.text, new[c.new].text).patch
        rows.append((provision, c.kind, from_sha, to_sha, related, diff))
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    conn.execute(
        query("insert_provision_changes"),
        {
            "change": change_id,
            "technical": technical,
            "ids": list(columns[0]),
            "kinds": list(columns[1]),
            "froms": list(columns[2]),
            "tos": list(columns[3]),
            "related": list(columns[4]),
            "diffs": list(columns[5]),
        },
    )


def ensure_history(conn: psycopg.Connection, document_id: int, before: int | None = None) -> int:
    """Cut every version of the document not cut yet (those older than version
    ``before`` only, when given), oldest first; returns how many were cut."""
    rows = conn.execute(
        query("unsegmented_versions"), {"document": document_id, "before": before}
    ).fetchall()
    done = 0
    for version_id, number, text, change_id, kind, from_version_id in rows:
        if number == 1 or change_id is None:
            track_first(conn, document_id, version_id, text)
        else:
            track_change(
                conn, document_id, from_version_id, version_id, text, change_id,
                kind == "technical",
            )  # fmt: skip
        done += 1
    return done


def rebuild(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """Cut every version not cut yet (a database from before provisions), one document
    per transaction: an interrupted rebuild resumes with the document it was on.
    Returns (document, versions cut) per document. Provisions already recorded are
    never cut again: their record IDs are cited and must stay."""
    documents = conn.execute(
        """SELECT d.document_id, p.name || ' / ' || d.document_type
           FROM documents d JOIN platforms p USING (platform_id) ORDER BY 1"""
    ).fetchall()
    done = []
    for document_id, name in documents:
        with conn.transaction():
            # Not while a crawl records this document: its recorder locks the same row.
            conn.execute(query("lock_document_by_id"), {"document": document_id})
            done.append((name, ensure_history(conn, document_id)))
    return done
