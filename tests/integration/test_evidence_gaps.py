"""Evidence that survives its own operator: truncated pages, versions and
diffs bound to the ledger, confirmations that survive a dead process, a database lost
mid-crawl."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.helpers import ROOT, A, B, C, CrawlRunner, Site, TcpProxy, cli, page, write_declarations

FULL = page(A + " " + B + " " + C)


def _declare(site: Site, tmp_path: Path, path: str = "/p") -> Path:
    return write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": site.url(path), "select": "main"}}
    )


def _outcomes(db_url: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT outcome, failure_reason FROM checks ORDER BY check_id"
        ).fetchall()


def test_a_truncated_page_is_a_failed_check_not_a_version(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/p", FULL)
    decl = _declare(site, tmp_path)
    crawl("declarations", path=decl)
    # The first third of the page, with a matching Content-Length, twice in a row.
    site.serve("/p", FULL[: len(FULL) // 3 + 40])
    crawl("declarations", path=decl)
    crawl("declarations", path=decl)
    assert _outcomes(db_url) == [("first", None), ("failed", "truncated"), ("failed", "truncated")]
    site.serve("/p", FULL)
    crawl("declarations", path=decl)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM changes").fetchone() == (0,)
        detail = conn.execute(
            "SELECT failure_detail FROM checks WHERE failure_reason = 'truncated' LIMIT 1"
        ).fetchone()[0]
    assert "stops before the end of the document" in detail


def _changed(crawl: CrawlRunner, site: Site, tmp_path: Path) -> Path:
    site.serve("/p", page(A))
    decl = _declare(site, tmp_path)
    crawl("declarations", path=decl)
    site.serve("/p", page(B))
    crawl("declarations", path=decl)  # a verified change
    return decl


def test_a_version_rewritten_with_its_own_hash_and_a_rewritten_diff_are_caught(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _changed(crawl, site, tmp_path)
    evidence = tmp_path / "evidence"
    assert cli("verify", db_url=db_url, evidence=evidence).returncode == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """UPDATE versions SET text = replace(text, 'phone', 'fax'),
                   text_sha256 = encode(sha256(convert_to(replace(text, 'phone', 'fax'),
                                                          'UTF8')), 'hex')
               WHERE version_number = 2"""
        )
        conn.execute("UPDATE changes SET diff = replace(diff, 'phone', 'fax')")
    result = cli("verify", db_url=db_url, evidence=evidence)
    assert result.returncode == 1
    assert "its text hash differs from the one check" in result.stdout
    assert "MISMATCH diff     change 1 (AC-C-000001)" in result.stdout


def test_a_candidate_left_unconfirmed_is_confirmed_first_by_the_next_crawl(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/p", page(A))
    decl = _declare(site, tmp_path)
    crawl("declarations", path=decl)
    # The new text once, then a maintenance page for the confirming re-fetch.
    served = iter([page(B), "<html><body>Down for maintenance</body></html>"])
    site.render("/p", lambda: next(served, page(B)))
    crawl("declarations", path=decl)
    assert [o for o, _ in _outcomes(db_url)] == ["first", "candidate", "failed"]
    hits = len(site.hits)
    crawl("declarations", path=decl)
    fetched = [h for h in site.hits[hits:] if h == "/p"]
    assert fetched == ["/p"], "one fetch: the confirmation is this crawl's check"
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT outcome, verifies_check_id FROM checks ORDER BY check_id"
        ).fetchall()
        verified = conn.execute("SELECT verified FROM changes").fetchall()
    assert rows == [("first", None), ("changed", None), ("failed", None), ("unchanged", 2)]
    assert verified == [(True,)]


def _redis_url() -> str:
    import redis

    url = os.environ.get("ATLAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url} ({exc})")
    return url


def test_in_a_shared_round_the_confirmation_goes_to_the_round_queue(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    redis_url = _redis_url()
    site.serve("/p", page(A))
    decl = _declare(site, tmp_path)
    crawl("declarations", path=decl)
    site.serve("/p", page(B))
    name = f"gaps-{uuid.uuid4().hex[:8]}"
    result = crawl("declarations", path=decl, round=name, env={"ATLAS_REDIS_URL": redis_url})
    assert result.returncode == 0, result.output[-3000:]
    with psycopg.connect(db_url) as conn:
        refs = conn.execute(
            "SELECT outcome, source_ref FROM checks WHERE source_ref IS NOT NULL ORDER BY 1"
        ).fetchall()
    key = f"round:declarations:{name}:Example/Privacy Policy"
    assert refs == [("changed", key), ("unchanged", f"{key}:verify")]


def _crawl_through(
    proxy_url: str, decl: Path, tmp_path: Path, wait: str, scrapy: bool = False
) -> subprocess.Popen:
    """``atlas-crawl crawl`` (or ``scrapy crawl declarations``) of ``decl``."""
    command = (
        ["scrapy", "crawl", "declarations", "-a", f"path={decl}"]
        if scrapy
        else ["atlas_crawl.cli", "crawl", "--declarations", str(decl)]
    )
    env = {
        **os.environ,
        "ATLAS_DATABASE_URL": proxy_url,
        "ATLAS_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "ATLAS_DB_OUTAGE_WAIT": wait,
        "ATLAS_AUTOTHROTTLE": "0",
        "ATLAS_VERIFY_CHANGES": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _many(site: Site, tmp_path: Path, count: int, delay: float) -> Path:
    for i in range(count):
        path = f"/policy/{i}"
        site.serve(path, page(f"Policy number {i}. " + A))
        site.routes[path].delay = delay
    for i in range(count):
        write_declarations(
            tmp_path / "many",
            f"Service{i:02d}",
            {"Privacy Policy": {"fetch": site.url(f"/policy/{i}"), "select": "main"}},
        )
    return tmp_path / "many"


def _wait_for_checks(db_url: str, at_least: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with psycopg.connect(db_url) as conn:
            if conn.execute("SELECT count(*) FROM checks").fetchone()[0] >= at_least:
                return
        time.sleep(0.05)
    raise AssertionError("the crawl recorded nothing")


def _proxied(db_url: str, proxy: TcpProxy) -> str:
    return psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=str(proxy.port))


def _stop_server(db_url: str, proxy: TcpProxy) -> None:
    """As PostgreSQL stopping does: new connections refused, sessions ended."""
    proxy.cut()
    name = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    with psycopg.connect(db_url.replace(name, "postgres"), autocommit=True) as conn:
        conn.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = %s AND pid <> pg_backend_pid()""",
            (name,),
        )


def _crawl_until_the_server_stops(
    site: Site, tmp_path: Path, db_url: str, wait: str, scrapy: bool = False
) -> tuple[TcpProxy, subprocess.Popen]:
    """30 slow pages crawled through a relay to the database, stopped once the first
    check is recorded."""
    port = int(psycopg.conninfo.conninfo_to_dict(db_url).get("port") or 5432)
    proxy = TcpProxy(port)
    decl = _many(site, tmp_path, 30, delay=0.3)
    crawler = _crawl_through(_proxied(db_url, proxy), decl, tmp_path, wait=wait, scrapy=scrapy)
    _wait_for_checks(db_url, 1)
    _stop_server(db_url, proxy)
    return proxy, crawler


def test_a_short_database_outage_is_ridden_out(site: Site, tmp_path: Path, db_url: str) -> None:
    proxy, crawler = _crawl_until_the_server_stops(site, tmp_path, db_url, wait="30")
    time.sleep(2)
    proxy.restore()
    _out, err = crawler.communicate(timeout=180)
    assert crawler.returncode == 0, err[-3000:]
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT count(*), count(DISTINCT document_id) FROM checks"
        ).fetchone() == (30, 30)
    proxy.cut()


def test_a_long_database_outage_stops_the_crawl_non_zero(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    _proxy, crawler = _crawl_until_the_server_stops(site, tmp_path, db_url, wait="2")
    started = time.monotonic()
    _out, err = crawler.communicate(timeout=120)
    assert crawler.returncode == 1, err[-3000:]
    assert time.monotonic() - started < 30, "stopped promptly"
    lost = [line for line in err.splitlines() if "were not recorded" in line]
    assert len(lost) == 1 and "database lost (ATLAS_DATABASE_URL)" in lost[0], err[-3000:]
    assert "Traceback" not in err
    with psycopg.connect(db_url) as conn:
        recorded = conn.execute("SELECT count(*) FROM checks").fetchone()[0]
    assert recorded < 30


def test_a_long_database_outage_fails_scrapy_crawl_too(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    """Scheduled `scrapy crawl` jobs see only the exit status: the same as atlas-crawl's."""
    _proxy, crawler = _crawl_until_the_server_stops(site, tmp_path, db_url, "2", scrapy=True)
    _out, err = crawler.communicate(timeout=120)
    assert crawler.returncode == 1, err[-3000:]
    assert "the crawl stopped before its end (database lost)" in err, err[-3000:]
