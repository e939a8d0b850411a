"""Answers kept in memory while what they show has not changed.

A page is made of what the database held when it was read; it stays true until the next
write that could change it. Every request first reads the history's *generation* (the
latest check, change and reclassification: one query of three index reads) and serves a
kept answer only when it was made at the same generation; anything recorded since makes
the kept answers stale at once. What changes without a new check (a version's archive
link filled in later, a document untracked) shows within ``max_age`` seconds. The cache
is bounded in bytes, least recently used first out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import psycopg

# One statement; each part reads the last entry of an index. The readers' role sees
# views only (atlas_read), so nothing here may need a table's system columns. The last
# check is asked for in order, not as max(): `checks` is a view with joins, over which
# max() reads every check.
GENERATION_SQL = """
SELECT concat_ws(':',
         (SELECT check_id FROM checks ORDER BY check_id DESC LIMIT 1),
         (SELECT max(change_id) FROM changes),
         (SELECT r.reclassification_id || '/' || r.texts || '/' || (r.finished_at IS NULL)
          FROM reclassifications r ORDER BY r.reclassification_id DESC LIMIT 1)),
       (SELECT checked_at FROM checks ORDER BY check_id DESC LIMIT 1)
"""


def generation(conn: psycopg.Connection) -> tuple[str, object]:
    """The history's generation and the time of its latest check."""
    row = conn.execute(GENERATION_SQL).fetchone()
    assert row is not None
    return str(row[0]), row[1]


@dataclass(frozen=True)
class Kept:
    generation: str
    made: float
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class ResponseCache:
    """Answers by address, each valid for one generation and at most ``max_age`` s."""

    def __init__(self, max_mb: float, max_age: float) -> None:
        if max_mb < 0 or max_age < 0:
            raise ValueError(f"ATLAS_WEB_CACHE_MB={max_mb:g}, ATLAS_WEB_CACHE_SECONDS="
                             f"{max_age:g}: expected 0 or more (0 keeps nothing)")  # fmt: skip
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.max_age = max_age
        self._kept: OrderedDict[str, Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, generation: str) -> Kept | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if kept.generation != generation or time.monotonic() - kept.made > self.max_age:
                self._drop(key)
                return None
            self._kept.move_to_end(key)
            return kept

    def put(self, key: str, kept: Kept) -> None:
        size = len(kept.body) + len(key)
        if size > self.max_bytes // 8:  # one answer never takes much of the room
            return
        with self._lock:
            if key in self._kept:
                self._drop(key)
            self._kept[key] = kept
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._kept)))

    def _drop(self, key: str) -> None:
        kept = self._kept.pop(key)
        self._bytes -= len(kept.body) + len(key)
