"""Archived ranges of routine checks (storage/archive_checks.py) against what stayed:
the ledger still has an entry for every check that was in a range, so the entries of a
range less its kept checks must be the checks the archive says it took."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg


def check_archives(conn: psycopg.Connection) -> Iterator[tuple[str, str]]:
    """(record, what is wrong) for each archived range that does not add up."""
    rows = conn.execute(
        """SELECT x.archive_id, x.first_check_id, x.end_check_id, x.checks,
                  (SELECT coalesce(sum(least(l.record + l.entries, x.end_check_id)
                                       - greatest(l.record, x.first_check_id)), 0)
                   FROM ledger_store l WHERE l.kind = 'check'
                     AND l.record < x.end_check_id
                     AND l.record + l.entries > x.first_check_id),
                  (SELECT count(*) FROM checks_kept k
                   WHERE k.check_id >= x.first_check_id AND k.check_id < x.end_check_id),
                  (SELECT count(*) FROM checks_routine r
                   WHERE r.check_id >= x.first_check_id AND r.check_id < x.end_check_id),
                  EXISTS (SELECT 1 FROM check_archives y WHERE y.archive_id <> x.archive_id
                            AND y.first_check_id < x.end_check_id
                            AND x.first_check_id < y.end_check_id)
           FROM check_archives x ORDER BY x.archive_id"""
    ).fetchall()
    for archive_id, first, end, checks, entries, kept, left, overlaps in rows:
        where = f"archive {archive_id} (checks {first}-{end - 1})"
        if entries - kept != checks:
            yield (
                where,
                (
                    f"the ledger has {entries - kept} entries of routine checks in its range, "
                    f"the archive says it took {checks} (a kept check deleted, or the archive "
                    "rewritten)"
                ),
            )
        if left:
            yield where, f"{left} routine checks are still in its range"
        if overlaps:
            yield where, "its range overlaps another archive's"
