"""The alert outbox: a change's notifications, one per watch it concerns, written in
the change's own transaction, so that no crash between recording a change and
delivering its alerts can lose one. ``atlas-crawl notify`` delivers them."""

from __future__ import annotations

import psycopg

from atlas_crawl.storage.queries import query

CHANNEL = "atlas_notifications"  # LISTEN/NOTIFY: wakes a `notify --follow` at commit


def queue_notifications(conn: psycopg.Connection, change_id: int) -> int:
    """Queue the notifications of ``change_id``; returns how many."""
    rows = conn.execute(query("queue_notifications"), {"change": change_id}).fetchall()
    if rows:
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(change_id)))
    return len(rows)
