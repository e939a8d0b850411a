"""Fixtures of the integration tests: a real PostgreSQL database per test, pages served
from 127.0.0.1, and a runner for ``scrapy crawl`` as users run it."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from atlas_crawl.storage.migrate import upgrade
from tests.helpers import CrawlResult, CrawlRunner, Site, run_scrapy

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
# One template per test session: two sessions on one server never share (or drop) it.
TEMPLATE = f"atlas_test_template_{os.getpid()}"


def _server_url() -> str:
    """ATLAS_TEST_DATABASE_URL, else the local server, else the embedded one."""
    configured = os.environ.get("ATLAS_TEST_DATABASE_URL")
    if configured:
        return configured
    try:
        psycopg.connect(LOCAL_SERVER, connect_timeout=3).close()
        return LOCAL_SERVER
    except psycopg.OperationalError:
        from atlas_crawl.config import project_settings
        from atlas_crawl.storage.database import data_dir, embedded_url

        return embedded_url(data_dir(project_settings()), "postgres")


def _with_database(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of the test server, with a migrated template database on it."""
    url = _server_url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    with psycopg.connect(_with_database(url, TEMPLATE), autocommit=True) as conn:
        upgrade(conn)
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE))
        )


def _scratch_database(server: str, prefix: str, template: str | None) -> Iterator[str]:
    """A new database for one test (copied from ``template`` when given), then dropped."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(create)
    yield _with_database(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def db_url(pg_server: str) -> Iterator[str]:
    """A fresh, migrated database for one test (copied from the template: fast)."""
    yield from _scratch_database(pg_server, "atlas_test", TEMPLATE)


@pytest.fixture
def empty_db_url(pg_server: str) -> Iterator[str]:
    """A database without the schema, as a new user has it."""
    yield from _scratch_database(pg_server, "atlas_empty", None)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def crawl(db_url: str, tmp_path: Path) -> CrawlRunner:
    """``crawl(spider, **args)``: run ``scrapy crawl`` in the project against the test DB."""

    def runner(
        spider: str,
        *,
        settings: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        **spider_args: Any,
    ) -> CrawlResult:
        command = ["crawl", spider]
        for key, value in spider_args.items():
            command += ["-a", f"{key}={value}"]
        for key, value in (settings or {}).items():
            command += ["-s", f"{key}={value}"]
        full_env = {
            **os.environ,
            "ATLAS_DATABASE_URL": db_url,
            "ATLAS_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "ATLAS_DOWNLOAD_TIMEOUT": "10",
            **(env or {}),
        }
        return run_scrapy(command, full_env)

    return runner


class Mailbox:
    """What an SMTP server on 127.0.0.1 (aiosmtpd) received, as e-mail messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 and its port."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # a free port: aiosmtpd cannot be given port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()
