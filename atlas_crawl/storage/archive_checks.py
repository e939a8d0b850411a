"""Old routine checks out of the database: each closed range of routine checks wholly
checked before a date is exported to a compressed CSV file (its rows as stored, and the
pages of its checks), detached from ``checks`` and dropped, in one transaction.

What stays verifies as before: the ledger keeps every archived check's entry, its leaf
stored (no longer rebuilt from the check), a remaining check whose predecessor left has
that predecessor's evidence hash in ``archived_check_heads`` (vouched for by its ledger
entry), and ``check_archives`` says which IDs left, how many, and the SHA-256 of each
file. Checks that other records cite (first checks, new texts, re-fetches) are never in
a routine range: versions and changes keep their checks.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg.types.json import Jsonb

from atlas_crawl.storage.check_ranges import RoutineRange, drop_range, last_check_id, ranges


@dataclass(frozen=True)
class ArchivedRange:
    range: RoutineRange
    pages: int
    files: dict[str, str]  # file name -> SHA-256 of its bytes


class _Hashing:
    """A file that hashes what is written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.sha256 = raw, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def _export(conn: psycopg.Connection, sql: str, params: dict, path: Path) -> str:
    """``COPY (sql) TO`` a gzip'd CSV file with a header; returns the file's SHA-256."""
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as raw:
        hashing = _Hashing(raw)
        copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)"
        with (
            gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) as gz,  # type: ignore[arg-type]
            conn.cursor().copy(copy_sql, params) as copy,
        ):
            for block in copy:
                gz.write(block)
        raw.flush()
        os.fsync(raw.fileno())
    part.replace(path)
    return hashing.sha256.hexdigest()


def archivable(conn: psycopg.Connection, before: datetime) -> list[RoutineRange]:
    """The routine ranges no new check can enter any more (their IDs all given out) whose
    checks were all made before ``before``."""
    last = last_check_id(conn)
    return [
        r for r in ranges(conn) if r.end - 1 <= last and (r.newest is None or r.newest < before)
    ]


_HEADS = """
INSERT INTO archived_check_heads (check_id, document_id, evidence_hash, archive_id)
SELECT check_id, document_id, hash_text(evidence_hash), %(archive)s FROM (
    SELECT check_id, document_id, evidence_hash, routine,
           lead(routine) OVER (PARTITION BY document_id ORDER BY check_id) AS next_routine
    FROM (SELECT check_id, document_id, evidence_hash, true AS routine FROM "{table}"
          WHERE evidence_hash IS NOT NULL
          UNION ALL
          SELECT check_id, document_id, evidence_hash, false FROM checks_kept
          WHERE check_id >= %(first)s AND check_id < %(end)s
            AND evidence_hash IS NOT NULL) r) w
-- the last of a run of archived checks: a kept check, or one beyond the range, follows
WHERE routine AND next_routine IS NOT true
"""


def archive_range(conn: psycopg.Connection, r: RoutineRange, folder: Path) -> ArchivedRange:
    """One range out, inside the caller's transaction."""
    span = {"first": r.first, "end": r.end}
    stem = f"checks-{r.first}-{r.end - 1}"
    files = {
        f"{stem}.csv.gz": _export(
            # through the view: the hashes as the hex text every reader sees
            conn,
            """SELECT * FROM checks WHERE NOT kept
                 AND check_id >= %(first)s AND check_id < %(end)s ORDER BY check_id""",
            span,
            folder / f"{stem}.csv.gz",
        )
    }
    pages_sql = """SELECT * FROM check_pages
                   WHERE NOT check_kept AND check_id >= %(first)s AND check_id < %(end)s
                   ORDER BY check_id, position"""
    pages = conn.execute(f"SELECT count(*) FROM ({pages_sql}) p", span).fetchone()[0]  # type: ignore[index]
    if pages:
        name = f"{stem}-pages.csv.gz"
        files[name] = _export(conn, pages_sql, span, folder / name)
    archive_id = conn.execute(
        """INSERT INTO check_archives (first_check_id, end_check_id, checks, pages,
               oldest_check, newest_check, files)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING archive_id""",
        (r.first, r.end, r.checks, pages, r.oldest, r.newest, Jsonb(files)),
    ).fetchone()[0]  # type: ignore[index]
    conn.execute(_HEADS.format(table=r.table), {**span, "archive": archive_id})
    # Their ledger leaves, which are otherwise rebuilt from the checks, stay stored.
    conn.execute("SELECT ledger_keep_check_leaves(%(first)s, %(end)s)", span)
    conn.execute(
        """DELETE FROM check_pages
           WHERE NOT check_kept AND check_id >= %(first)s AND check_id < %(end)s""",
        span,
    )
    drop_range(conn, r.table)
    return ArchivedRange(r, int(pages), files)


def archive_checks(
    conn: psycopg.Connection, before: datetime, folder: Path, dry_run: bool = False
) -> list[ArchivedRange | RoutineRange]:
    """Every archivable range before ``before`` out to ``folder``, in one transaction
    (recording waits meanwhile; readers do not). ``dry_run``: only say which."""
    folder.mkdir(parents=True, exist_ok=True)
    done: list[ArchivedRange | RoutineRange] = []
    with conn.transaction():
        # No check enters a routine range meanwhile: the ranges read are the ranges moved.
        conn.execute("LOCK TABLE checks_routine IN EXCLUSIVE MODE")
        for r in archivable(conn, before):
            done.append(r if dry_run else archive_range(conn, r, folder))
    return done


def archived_in(conn: psycopg.Connection, check_id: int) -> str | None:
    """Where a check that left the database went (its range and files), if it did."""
    row = conn.execute(
        """SELECT first_check_id, end_check_id, archived_at, files FROM check_archives
           WHERE %(id)s >= first_check_id AND %(id)s < end_check_id
             AND NOT EXISTS (SELECT 1 FROM checks WHERE check_id = %(id)s)""",
        {"id": check_id},
    ).fetchone()
    if row is None:
        return None
    first, end, when, files = row
    return (f"check {check_id} was archived out of the database with checks {first}-{end - 1} "
            f"on {when:%Y-%m-%d} (db archive-checks: {', '.join(files)})")  # fmt: skip
