"""Routine checks are kept in ranges of check IDs (migration 021): one table per range,
partitions of ``checks_routine``. IDs grow with time, so a range is a stretch of weeks
of rechecks; the old ones can be archived (``archive_checks``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import psycopg

_BOUNDS = re.compile(r"FROM \('?(\d+)'?\) TO \('?(\d+)'?\)")


@dataclass(frozen=True)
class RoutineRange:
    table: str
    first: int  # the first check ID it takes
    end: int  # the first it does not take
    checks: int
    oldest: datetime | None  # checked_at of its oldest check
    newest: datetime | None


def extend(conn: psycopg.Connection) -> int:
    """Make the ranges for the next two spans of IDs; returns how many were made."""
    return int(conn.execute("SELECT extend_check_partitions()").fetchone()[0])  # type: ignore[index]


def last_check_id(conn: psycopg.Connection) -> int:
    """The last check ID given out (0 before the first check)."""
    row = conn.execute(
        "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM check_ids"
    ).fetchone()
    return int(row[0])  # type: ignore[index]


def span(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT span FROM check_partitioning").fetchone()[0])  # type: ignore[index]


def range_tables(conn: psycopg.Connection) -> list[tuple[str, int, int]]:
    """(table, first, end) of each routine range, oldest first; not the default table,
    which takes what is beyond them."""
    rows = conn.execute(
        """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'checks_routine'::regclass"""
    ).fetchall()
    found = []
    for table, bound in rows:
        match = _BOUNDS.search(bound)
        if match:
            found.append((table, int(match.group(1)), int(match.group(2))))
    return sorted(found, key=lambda r: r[1])


def ranges(conn: psycopg.Connection) -> list[RoutineRange]:
    """Every routine range with what it holds (one pass over each table)."""
    found = []
    for table, first, end in range_tables(conn):
        count, oldest, newest = conn.execute(
            f'SELECT count(*), min(checked_at), max(checked_at) FROM "{table}"'
        ).fetchone()  # type: ignore[misc]
        found.append(RoutineRange(table, first, end, int(count), oldest, newest))
    return found


def set_span(conn: psycopg.Connection, new_span: int) -> None:
    """Ranges of ``new_span`` IDs from now on: the empty ranges wholly beyond the last
    check are made again at the new size (the ranges that hold checks stay)."""
    if new_span < 1:
        raise ValueError(f"a range holds at least one check ID, not {new_span}")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('atlas-crawl check partitions'))")
        conn.execute("UPDATE check_partitioning SET span = %s", (new_span,))
        last = last_check_id(conn)
        for table, first, _end in range_tables(conn):
            if first > last:
                empty = conn.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")').fetchone()
                if empty and empty[0]:
                    drop_range(conn, table)
        extend(conn)


def drop_range(conn: psycopg.Connection, table: str) -> None:
    """Detach a routine range (PostgreSQL refuses while anything cites a check in it)
    and drop it."""
    conn.execute(f'ALTER TABLE checks_routine DETACH PARTITION "{table}"')
    conn.execute(f'DROP VIEW IF EXISTS atlas_read."{table}"')  # made before 021's views.sql
    conn.execute(f'DROP TABLE "{table}"')
