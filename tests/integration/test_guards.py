"""A guard refuses a bad answer, never the truth: a document really rewritten to a
short notice is recorded after one confirming fetch, flagged for review. Through
``scrapy crawl`` against pages served from 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.helpers import CrawlRunner, Site, cli, write_declarations

AGREEMENT = (
    "<html><body><main><h1>Main Services Agreement</h1>"
    + "".join(
        f"<h2>{i}. Section {i}</h2><p>The customer and the provider agree to the terms of "
        f"section {i}, which govern the use of the services and the fees.</p>"
        for i in range(1, 13)
    )
    + "</main></body></html>"
)
NOTICE = (
    "<html><body><main><h1>Main Services Agreement</h1><p>Our agreement is now published "
    "by our parent company: see salesforce.com/company/legal/agreements.</p></main>"
    "</body></html>"
)


def _rows(db_url: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT outcome, review_reason FROM checks ORDER BY check_id"
        ).fetchall()


def test_a_rewrite_to_a_short_notice_is_recorded_after_one_confirmation(
    site: Site, tmp_path: Path, db_url: str, crawl: CrawlRunner
) -> None:
    url = site.serve("/msa", AGREEMENT)
    decl = write_declarations(
        tmp_path / "decl", "Example", {"Terms of Service": {"fetch": url, "select": "main"}}
    )
    assert crawl("declarations", path=decl).returncode == 0
    site.serve("/msa", NOTICE)
    result = crawl("declarations", path=decl)
    assert result.returncode == 0, result.output[-3000:]
    # The short text, then the re-fetch that found it again, in the same crawl.
    assert _rows(db_url) == [("first", None), ("changed", "too short"), ("unchanged", None)]
    with psycopg.connect(db_url) as conn:
        record_id, review = conn.execute(
            "SELECT record_id, review_detail FROM document_changes"
        ).fetchone()
    assert "the current version has" in review
    status = cli("status", db_url=db_url)
    assert "ok; last change flagged for review (too short)" in status.stdout
    shown = cli("diff", record_id, "--color", "never", db_url=db_url)
    assert shown.returncode == 0, shown.stderr
    assert "Flagged for review (too short)" in shown.stdout


def test_a_short_answer_that_does_not_come_back_changes_nothing(
    site: Site, tmp_path: Path, db_url: str, crawl: CrawlRunner
) -> None:
    url = site.alternate("/msa", AGREEMENT, NOTICE, AGREEMENT)
    decl = write_declarations(
        tmp_path / "decl", "Example", {"Terms of Service": {"fetch": url, "select": "main"}}
    )
    crawl("declarations", path=decl)  # the agreement
    crawl("declarations", path=decl)  # the notice once, then the agreement again
    assert _rows(db_url) == [("first", None), ("unconfirmed", "too short"), ("unchanged", None)]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM changes").fetchone() == (0,)
