"""Shared fixtures: a real PostgreSQL database per test, pages served from 127.0.0.1,
and a runner for ``scrapy crawl`` as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from atlas_crawl.localsite import LocalSite
from atlas_crawl.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "atlas_test_template"


def _server_url() -> str:
    """ATLAS_TEST_DATABASE_URL, else the local server, else the embedded one."""
    configured = os.environ.get("ATLAS_TEST_DATABASE_URL")
    if configured:
        return configured
    try:
        psycopg.connect(LOCAL_SERVER, connect_timeout=3).close()
        return LOCAL_SERVER
    except psycopg.OperationalError:
        from atlas_crawl.storage.database import embedded_url

        return embedded_url("postgres")


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


@pytest.fixture
def db_url(pg_server: str) -> Iterator[str]:
    """A fresh, migrated database for one test (copied from the template: fast)."""
    name = f"atlas_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    yield _with_database(pg_server, name)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


# The tests' web server is the project's own local site.
Site = LocalSite


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@dataclass
class CrawlResult:
    returncode: int
    output: str


CrawlRunner = Callable[..., CrawlResult]


def run_scrapy(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> CrawlResult:
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return CrawlResult(proc.returncode, proc.stdout + proc.stderr)


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


def write_declarations(
    folder: Path, name: str, terms: dict[str, Any], history: dict[str, Any] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"name": name, "terms": terms}))
    if history is not None:
        (folder / f"{name}.history.json").write_text(json.dumps(history))
    return folder


def fixture_bytes(relative: str) -> bytes:
    import gzip

    data = (FIXTURES / relative).read_bytes()
    return gzip.decompress(data) if relative.endswith(".gz") else data


def make_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer is ``text`` (ASCII)."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=400, height=200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 150 Td ({text}) Tj ET".encode("ascii"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def cli(
    *args: str,
    db_url: str | None,
    evidence: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: int = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``atlas-crawl`` as a user does, against ``db_url`` (None: none configured)."""
    full_env = {**os.environ, **(env or {})}
    if db_url is not None:
        full_env["ATLAS_DATABASE_URL"] = db_url
    if evidence is not None:
        full_env["ATLAS_EVIDENCE_DIR"] = str(evidence)
    return subprocess.run(
        [sys.executable, "-m", "atlas_crawl.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_spider(tmp_path: Path, package: str, module: str, class_source: str) -> str:
    """A platform spider module in ``tmp_path/package`` (one file, as a user adds one);
    returns the PYTHONPATH under which Scrapy finds it and the project."""
    folder = tmp_path / package
    folder.mkdir(exist_ok=True)
    (folder / "__init__.py").touch()
    header = (
        "from atlas_crawl.declarations import Document\n"
        "from atlas_crawl.spider import PolicySpider\n\n"
    )
    (folder / f"{module}.py").write_text(header + textwrap.dedent(class_source))
    return f"{tmp_path}{os.pathsep}{ROOT}"
