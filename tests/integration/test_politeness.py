"""Politeness and scheduling: conditional requests, robots.txt, documents that are due."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from tests.helpers import (
    A,
    B,
    CrawlRunner,
    Site,
    cli,
    page,
    run_scrapy,
    write_declarations,
    write_spider,
)


def _outcomes(db_url: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT outcome, http_status, raw_sha256 IS NULL FROM checks ORDER BY check_id"
        ).fetchall()


def test_conditional_requests_record_304_as_unchanged(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/p", page(A), ETag='"v1"')
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": site.url("/p"), "select": "main"}}
    )
    crawl("declarations", path=decl)
    crawl("declarations", path=decl)  # the server answers 304 to If-None-Match "v1"
    site.serve("/p", page(B), ETag='"v2"')
    crawl("declarations", path=decl)
    assert _outcomes(db_url) == [
        ("first", 200, False),
        ("unchanged", 304, True),
        ("changed", 200, False),
        ("unchanged", 200, False),  # the re-fetch that confirmed it (not conditional)
    ]
    with psycopg.connect(db_url) as conn:
        texts = conn.execute(
            """SELECT k.text_sha256 = v.text_sha256 FROM checks k
               JOIN versions v ON v.version_id = k.version_id WHERE k.http_status = 304"""
        ).fetchall()
        captures = conn.execute("SELECT count(*) FROM captures").fetchone()
    assert texts == [(True,)]
    assert captures == (2,)


def test_due_documents_only(site: Site, tmp_path: Path, db_url: str) -> None:
    site.serve("/p", page(A))
    site.serve("/t", page(B))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": site.url("/p"), "select": "main"}}
    )
    assert cli("crawl", "--declarations", str(decl), db_url=db_url).returncode == 0
    write_declarations(
        decl,
        "Example",
        {
            "Privacy Policy": {"fetch": site.url("/p"), "select": "main"},
            "Terms of Service": {"fetch": site.url("/t"), "select": "main"},
        },
    )
    result = cli("crawl", "--declarations", str(decl), "--due", "6", db_url=db_url)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(db_url) as conn:
        checked = conn.execute("SELECT document_type FROM document_checks ORDER BY check_id")
        assert checked.fetchall() == [("Privacy Policy",), ("Terms of Service",)]


def test_robots_txt_is_respected_unless_a_platform_says_otherwise(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/robots.txt", "User-agent: *\nDisallow: /\n", Content_Type="text/plain")
    url = site.serve("/p", page(A))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "ATLAS_EVIDENCE_DIR": str(tmp_path / "e")}
    run_scrapy(["crawl", "declarations", "-a", f"path={decl}"], env)
    env["PYTHONPATH"] = write_spider(
        tmp_path,
        "sp",
        "ownsite",
        "class OwnSiteSpider(PolicySpider):\n"
        "    name = 'ownsite'\n"
        "    platform = 'Own Site'\n"
        "    obey_robots_txt = False  # our own site: robots.txt is for others\n"
        f"    documents = [Document('Privacy Policy', {url!r}, select='main')]\n",
    )
    result = run_scrapy(["crawl", "ownsite", "-s", "SPIDER_MODULES=sp"], env)
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT platform, outcome, failure_reason FROM document_checks ORDER BY check_id"
        ).fetchall()
    assert rows == [("Example", "failed", "not fetched"), ("Own Site", "first", None)]


def test_the_same_capture_is_not_extracted_again(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/p", page(A))  # no validators: the page comes back in full each time
    rules = {"fetch": site.url("/p"), "select": "main"}
    decl = write_declarations(tmp_path / "d", "Example", {"Privacy Policy": rules})
    crawl("declarations", path=decl)
    again = crawl("declarations", path=decl)
    assert "'atlas/extraction/same_capture': 1" in again.output
    # New rules: the same bytes are read again, and only the rules' own change shows.
    write_declarations(tmp_path / "d", "Example", {"Privacy Policy": {**rules, "remove": "h1"}})
    reread = crawl("declarations", path=decl)
    assert "atlas/extraction/same_capture" not in reread.output
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT k.outcome, k.text_sha256 = v.text_sha256 FROM checks k
               LEFT JOIN versions v ON v.version_id = k.version_id ORDER BY k.check_id"""
        ).fetchall()
        kinds = conn.execute("SELECT kind FROM changes").fetchall()
    assert rows[:2] == [("first", True), ("unchanged", True)]
    assert kinds == [("technical",)]
