"""Apply the plain-SQL migrations in ``sql/migrations`` and recreate the public views.

Idempotent and safe to run from several crawlers at once: everything happens in one
transaction under an advisory lock, and applied migrations are recorded by name. A
process brings each database up to date once (``ensure_schema``). The SQL files are
package data (``atlas_crawl.sql``, the repository's ``sql/`` folder).
"""

from __future__ import annotations

import hashlib
import threading
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg

_LOCK_KEY = 0x61746C6173  # "atlas"
# Databases brought up to date by this process (by server and database name).
_UP_TO_DATE: set[tuple[str, str, str]] = set()
_UP_TO_DATE_LOCK = threading.Lock()


def sql_dir() -> Traversable:
    """The SQL files shipped with the package."""
    return resources.files("atlas_crawl.sql")


class MigrationError(RuntimeError):
    pass


def migration_files() -> list[Traversable]:
    folder = sql_dir() / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    if not files:
        raise MigrationError(f"no migrations found in {folder}")
    return files


def ensure_schema(conn: psycopg.Connection) -> list[str]:
    """``upgrade`` once per process and database: later calls cost nothing."""
    info = conn.info
    key = (info.host, str(info.port), info.dbname)
    with _UP_TO_DATE_LOCK:
        if key in _UP_TO_DATE:
            return []
        applied = upgrade(conn)
        _UP_TO_DATE.add(key)
        return applied


def pending(conn: psycopg.Connection) -> list[str]:
    """The migrations this code has that the database has not applied (all of them for a
    database with no history yet), without changing anything: for readers that must not
    write, such as the web view."""
    try:
        with conn.cursor() as cur:
            done = {row[0] for row in cur.execute("SELECT name FROM schema_migrations")}
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        done = set()
    return [path.name for path in migration_files() if path.name not in done]


def upgrade(conn: psycopg.Connection) -> list[str]:
    """Bring the schema up to date; returns the names of the migrations applied now."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name       text PRIMARY KEY,
                   sha256     text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done: dict[str, str] = dict(
            conn.execute("SELECT name, sha256 FROM schema_migrations").fetchall()
        )
        for path in migration_files():
            text = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(text.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != digest:
                    raise MigrationError(
                        f"migration {path.name} was edited after it was applied; "
                        "add a new migration instead"
                    )
                continue
            try:
                conn.execute(text.encode())
            except psycopg.Error as exc:
                # Said as what it is, not as a missing table of an old schema.
                raise MigrationError(
                    f"migration {path.name} failed, nothing of this upgrade was applied "
                    f"(one transaction): {type(exc).__name__}: {exc}"
                ) from exc
            conn.execute(
                "INSERT INTO schema_migrations (name, sha256) VALUES (%s, %s)", (path.name, digest)
            )
            applied_now.append(path.name)
        conn.execute((sql_dir() / "views.sql").read_text(encoding="utf-8").encode())
        # Routine checks' ranges made ahead (migration 021): each process that records
        # brings the schema up to date first.
        conn.execute("SELECT extend_check_partitions()")
    return applied_now
