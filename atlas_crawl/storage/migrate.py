"""Apply the plain-SQL migrations in ``sql/migrations`` and recreate the public views.

Idempotent and safe to run from several crawlers at once: everything happens in one
transaction under an advisory lock, and applied migrations are recorded by name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_LOCK_KEY = 0x61746C6173  # "atlas"


class MigrationError(RuntimeError):
    pass


def migration_files() -> list[Path]:
    files = sorted((SQL_DIR / "migrations").glob("*.sql"))
    if not files:
        raise MigrationError(f"no migrations found in {SQL_DIR / 'migrations'}")
    return files


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
            conn.execute(text.encode())
            conn.execute(
                "INSERT INTO schema_migrations (name, sha256) VALUES (%s, %s)", (path.name, digest)
            )
            applied_now.append(path.name)
        conn.execute((SQL_DIR / "views.sql").read_text(encoding="utf-8").encode())
    return applied_now
