"""Where each version's archived copy stands (``versions.archive_*``): pending, archived
with its URL, or failed with the reason."""

from __future__ import annotations

import psycopg

from atlas_crawl.storage.queries import query


def mark_pending(conn: psycopg.Connection, version_id: int) -> None:
    conn.execute(query("archive_pending"), {"version": version_id})


def store_outcome(
    conn: psycopg.Connection, version_id: int, url: str | None, failure: str | None
) -> None:
    """An archive URL, or the reason there is none."""
    conn.execute(
        query("archive_outcome"),
        {
            "version": version_id,
            "status": "archived" if failure is None else "failed",
            "url": url,
            "detail": failure,
        },
    )


def versions_to_archive(conn: psycopg.Connection) -> list[tuple[int, str]]:
    """(version_id, document URL) of the versions still pending or failed."""
    return [(int(r[0]), r[1]) for r in conn.execute(query("versions_to_archive")).fetchall()]
