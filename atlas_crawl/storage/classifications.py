"""Clause types of provision texts in PostgreSQL.

A version's provision texts are classified in the version's own transaction, by the
classifier this code ships (``classifier_version()``); a text an earlier version
already held keeps what was found in it. A document change that brings a provision
of ``high`` severity, or raises one, is marked in that transaction too. A new
classifier reads every stored text again through ``reclassify``, batch by batch (each
its own transaction, so an interrupted run resumes), and what it finds differently is
recorded as a reclassification: it is never a change of any document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from atlas_crawl.clauses.taxonomy import RANK
from atlas_crawl.storage.queries import query

RECLASSIFY_BATCH = 500  # texts per transaction


def current_classifier(conn: psycopg.Connection) -> int:
    """The id of the shipped classifier, registered the first time it is used."""
    # Imported here: the model and scikit-learn load only in a process that records a
    # version, never in one that only rechecks unchanged pages.
    from atlas_crawl.clauses.classify import classifier_version

    version = classifier_version()
    row = conn.execute(query("find_classifier"), {"version": version}).fetchone()
    if row is None:
        conn.execute(query("add_classifier"), {"version": version})
        row = conn.execute(query("find_classifier"), {"version": version}).fetchone()
    assert row is not None
    return int(row[0])


def _store(
    conn: psycopg.Connection, classifier: int, digests: Sequence[bytes], texts: Sequence[str]
) -> dict[bytes, dict[str, str]]:
    """Classify and store ``texts``; returns the severity of each type per text."""
    from atlas_crawl.clauses.classify import classify

    columns: tuple[list, ...] = ([], [], [], [], [])
    found: dict[bytes, dict[str, str]] = {d: {} for d in digests}
    for digest, findings in zip(digests, classify(list(texts)), strict=True):
        for f in findings:
            for column, value in zip(columns, (digest, f.type, f.severity, f.confidence,
                                               f.evidence), strict=True):  # fmt: skip
                column.append(value)
            found[digest][f.type] = f.severity
    conn.execute(query("insert_classified"), {"classifier": classifier, "hashes": list(digests)})
    conn.execute(
        query("insert_clause_types"),
        dict(zip(("hashes", "types", "severities", "confidences", "evidence"), columns,
                 strict=True), classifier=classifier),
    )  # fmt: skip
    return found


def ensure_classified(conn: psycopg.Connection, classifier: int, texts: dict[bytes, str]) -> None:
    """Classify those of ``texts`` (by SHA-256) this classifier has not read yet."""
    if not texts:
        return
    rows = conn.execute(
        query("unclassified_of"), {"hashes": list(texts), "classifier": classifier}
    ).fetchall()
    missing = sorted(bytes(r[0]) for r in rows)  # hash order: no deadlock between crawlers
    if missing:
        _store(conn, classifier, missing, [texts[d] for d in missing])


def severities(
    conn: psycopg.Connection, classifier: int, digests: Sequence[bytes]
) -> dict[bytes, dict[str, str]]:
    """The severity of each type per text, for the texts this classifier has read."""
    out: dict[bytes, dict[str, str]] = {}
    rows = conn.execute(
        query("clause_types_of"), {"hashes": list(set(digests)), "classifier": classifier}
    ).fetchall()
    for digest, clause_type, severity in rows:
        types = out.setdefault(bytes(digest), {})
        if clause_type is not None:
            types[clause_type] = severity
    return out


@dataclass(frozen=True)
class Edit:
    """A provision a content change brought or rewrote: its texts before and after."""

    provision_id: int
    before: bytes | None  # None: the provision is new
    after: bytes


Mark = tuple[str, str, str | None, str]  # type, mark, from severity, to severity


def raised(before: dict[str, str] | None, after: dict[str, str]) -> list[Mark]:
    """(type, mark, from, to) for each type the edit made worse: a new provision of
    ``high`` severity, or a severity above what the text said before (a type the old
    text did not have counts as raised when it comes at ``medium`` or ``high``)."""
    out: list[Mark] = []
    for clause_type, severity in sorted(after.items()):
        if before is None:
            if severity == "high":
                out.append((clause_type, "new-high", None, severity))
            continue
        old = before.get(clause_type)
        if RANK[severity] > (RANK[old] if old else 0) and severity != "low":
            out.append((clause_type, "raised", old, severity))
    return out


def mark_change(
    conn: psycopg.Connection,
    classifier: int,
    change_id: int,
    edits: Sequence[Edit],
    old_texts: dict[bytes, str],
) -> int:
    """Mark ``change_id`` for each provision whose severity it raised. The new texts
    were read when their version was written; ``old_texts`` holds the texts before,
    which an earlier classifier may have read. Returns how many marks were written."""
    if not edits:
        return 0
    ensure_classified(conn, classifier, old_texts)
    named = [e.after for e in edits] + [e.before for e in edits if e.before is not None]
    found = severities(conn, classifier, named)
    rows = [
        (e.provision_id, *mark)
        for e in edits
        for mark in raised(found[e.before] if e.before is not None else None, found[e.after])
    ]
    if rows:
        ids, types, marks, froms, tos = (list(c) for c in zip(*rows, strict=True))
        conn.execute(
            query("insert_marks"),
            {"change": change_id, "classifier": classifier, "ids": ids, "types": types,
             "marks": marks, "froms": froms, "tos": tos},
        )  # fmt: skip
    return len(rows)


@dataclass(frozen=True)
class Reclassification:
    reclassification_id: int
    classifier_version: str
    texts: int
    differing: int
    started_at: datetime
    finished_at: datetime


def _differences(
    before: dict[str, str], after: dict[str, str]
) -> list[tuple[str, str | None, str | None]]:
    return [
        (t, before.get(t), after.get(t))
        for t in sorted(set(before) | set(after))
        if before.get(t) != after.get(t)
    ]


def reclassify(
    conn: psycopg.Connection,
    batch: int = RECLASSIFY_BATCH,
    progress: Callable[[int], None] | None = None,
) -> Reclassification:
    """Read every stored provision text not yet read by the shipped classifier, and
    record what it finds differently from the classifier before it. Resumes an
    interrupted run of the same classifier."""
    with conn.transaction():
        classifier = current_classifier(conn)
        row = conn.execute(query("open_reclassification"), {"classifier": classifier}).fetchone()
        previous_row = conn.execute(
            query("previous_classifier"), {"classifier": classifier}
        ).fetchone()
        previous = int(previous_row[0]) if previous_row else None
        if row is None:
            row = conn.execute(
                query("start_reclassification"), {"classifier": classifier, "previous": previous}
            ).fetchone()
        assert row is not None
        run = int(row[0])
    done = 0
    while True:
        with conn.transaction():
            rows = conn.execute(
                query("unclassified_texts"), {"classifier": classifier, "limit": batch}
            ).fetchall()
            if not rows:
                break
            digests = [bytes(r[0]) for r in rows]
            found = _store(conn, classifier, digests, [r[1] for r in rows])
            old = severities(conn, previous, digests) if previous is not None else None
            differing = []
            for digest in digests:
                if old is not None and digest in old:  # a text it never read: nothing to compare
                    differing += [(digest, *d) for d in _differences(old[digest], found[digest])]
            if differing:
                hashes, types, froms, tos = (list(c) for c in zip(*differing, strict=True))
                conn.execute(
                    query("insert_reclassified"),
                    {"run": run, "hashes": hashes, "types": types, "froms": froms, "tos": tos},
                )
            conn.execute(
                query("count_reclassified"),
                {"run": run, "texts": len(digests), "differing": len({d[0] for d in differing})},
            )
        done += len(rows)
        if progress:
            progress(done)
    with conn.transaction():
        end = conn.execute(query("finish_reclassification"), {"run": run}).fetchone()
    assert end is not None
    from atlas_crawl.clauses.classify import classifier_version

    return Reclassification(run, classifier_version(), *end)
