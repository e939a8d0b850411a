"""``scrapy crawl`` end to end: pages from 127.0.0.1, history in a real PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from tests.helpers import (
    CrawlRunner,
    Site,
    cli,
    fixture_bytes,
    make_pdf,
    run_scrapy,
    write_declarations,
    write_spider,
)

POLICY = """<html><head><script>build="{build}"</script></head><body>
<nav>Menu <a href="/login?next={build}">Sign in</a></nav>
<main><h1>Privacy Policy</h1><p>{clause}</p>
<p>We keep your data for as long as your account exists, and then delete it within
thirty days, except where the law requires us to keep it for longer.</p>
<p>Contact <a href="/privacy?utm_campaign={build}">our privacy team</a>.</p></main>
<footer>Built at {build}</footer></body></html>"""


def policy(clause: str, build: str) -> str:
    return POLICY.format(clause=clause, build=build)


def checks(db_url: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            """SELECT document_type, outcome, failure_reason FROM document_checks
               ORDER BY check_id"""
        ).fetchall()


def test_first_unchanged_changed_through_scrapy(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/privacy", policy("We collect your email.", "aaa111"))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )

    assert crawl("declarations", path=decl).returncode == 0
    site.serve("/privacy", policy("We collect your email.", "bbb222"))  # only noise
    assert crawl("declarations", path=decl).returncode == 0
    site.serve("/privacy", policy("We collect your email and location.", "ccc333"))
    result = crawl("declarations", path=decl)
    assert result.returncode == 0, result.output

    # The new text was fetched a second time in the same crawl, which confirmed it.
    assert [c[1] for c in checks(db_url)] == ["first", "unchanged", "changed", "unchanged"]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT platform, document_type, url, requested_url, final_url, http_status,
                      fetcher, user_agent, raw_sha256 IS NOT NULL, text_sha256 IS NOT NULL
               FROM document_checks WHERE outcome = 'changed'"""
        ).fetchone()
        assert row == ("Example", "Privacy Policy", url, url, url, 200, "http", row[7], True, True)
        assert "atlas-crawl" in row[7]
        change = conn.execute(
            "SELECT chars_added, chars_removed, verified, verified_at > detected_at"
            " FROM document_changes"
        )
        assert change.fetchall() == [(len(" and location"), 0, True, True)]
        # Three distinct bodies were stored, once each.
        assert conn.execute("SELECT count(*) FROM captures").fetchone() == (3,)


def test_failures_are_recorded_and_the_crawl_goes_on(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    good = site.serve("/good", policy("We collect your email.", "x"))
    terms = {
        "Privacy Policy": {"fetch": good, "select": "main"},
        "Terms of Service": {"fetch": site.url("/missing"), "select": "main"},
        "Imprint": {
            "fetch": site.serve("/moved", b"", 302, Location=site.url("/login")),
            "select": "main",
        },
        "Trackers Policy": {"fetch": site.serve("/other", policy("x", "y")), "select": "#gone"},
        "Community Guidelines": {
            "fetch": site.serve(
                "/wall",
                "<html><body><main>Checking your browser before accessing.</main>"
                "<div class=cf-challenge></div></body></html>",
            ),
            "select": "main",
        },
        "Developer Terms": {"fetch": site.serve("/error", "oops", 500), "select": "main"},
        "Cookies Policy": {
            "fetch": site.serve("/empty", "<html><body><main> </main></body>"),
            "select": "main",
        },
    }
    site.serve("/login", "<html><body><main>Please sign in</main></body></html>")
    decl = write_declarations(tmp_path / "d", "Example", terms)
    result = crawl("declarations", path=decl, settings={"RETRY_TIMES": "0"})
    assert result.returncode == 0, result.output
    got = {c[0]: (c[1], c[2]) for c in checks(db_url)}
    assert got == {
        "Privacy Policy": ("first", None),
        "Terms of Service": ("failed", "http error"),
        "Imprint": ("failed", "redirected"),
        "Trackers Policy": ("failed", "selector matched nothing"),
        "Community Guidelines": ("failed", "blocked"),
        "Developer Terms": ("failed", "http error"),
        "Cookies Policy": ("failed", "empty extraction"),
    }
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (1,)
        detail = conn.execute("""SELECT failure_detail, final_url FROM document_checks
                                 WHERE document_type = 'Imprint'""").fetchone()
        assert detail is not None and "login" in detail[0] and detail[1].endswith("/login")


def test_timeouts_are_failed_checks(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/slow", policy("x", "y"))
    site.routes["/slow"].delay = 3
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    result = crawl(
        "declarations", path=decl, settings={"DOWNLOAD_TIMEOUT": "1", "RETRY_TIMES": "0"}
    )
    assert result.returncode == 4, result.output  # its only check failed
    assert checks(db_url) == [("Privacy Policy", "failed", "timeout")]


def test_a_script_placeholder_is_not_a_change(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/p", policy("We collect your email. " * 30, "a"))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    crawl("declarations", path=decl)
    # A whole page (it ends properly), but with a placeholder instead of the policy.
    site.serve(
        "/p", "<html><body><main><h1>Privacy Policy</h1><p>Loading…</p></main></body></html>"
    )
    crawl("declarations", path=decl)
    assert [c[1:] for c in checks(db_url)] == [("first", None), ("failed", "placeholder")]


def test_combined_documents_and_pdfs(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    a = site.serve("/a", "<html><body><main><h1>Part A</h1><p>First part.</p></main></body>")
    b = site.serve("/b", "<html><body><main><h1>Part B</h1><p>Second part.</p></main></body>")
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {"Terms of Service": {"select": "main", "combine": [{"fetch": a}, {"fetch": b}]}},
    )
    result = crawl("declarations", path=decl)
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        text = conn.execute("SELECT text FROM versions").fetchone()
        assert text == ("# Part A\n\nFirst part.\n\n# Part B\n\nSecond part.\n",)
        pages = conn.execute("SELECT position, requested_url FROM check_pages ORDER BY 1")
        assert pages.fetchall() == [(0, a), (1, b)]

    pdf = site.serve(
        "/terms.pdf", make_pdf("Terms of the PDF kind."), Content_Type="application/pdf"
    )
    decl = write_declarations(tmp_path / "pdf", "PDF Corp", {"Terms of Service": {"fetch": pdf}})
    result = crawl("declarations", path=decl)
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        texts = conn.execute("SELECT text FROM versions ORDER BY version_id").fetchall()
    assert texts[-1] == ("Terms of the PDF kind.\n",)


def test_history_rules_follow_the_capture_time(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    """A replayed capture (Memento-Datetime) is read with the rules of its time."""
    page = "<html><body><div id=old><p>Old layout text.</p></div></body></html>"
    url = site.serve("/p", page, **{"Memento_Datetime": "Tue, 05 Mar 2024 10:00:00 GMT"})
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {"Privacy Policy": {"fetch": url, "select": "#new"}},
        {
            "Privacy Policy": [
                {"fetch": url, "select": "#old", "validUntil": "2025-01-01T00:00:00Z"}
            ]
        },
    )
    result = crawl("declarations", path=decl)
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        row = conn.execute("""SELECT v.first_seen_at::text, t.text FROM document_versions v
                              JOIN versions t USING (version_id)""").fetchone()
    assert row == ("2024-03-05 10:00:00+00", "Old layout text.\n")


def test_filters_are_reported_once_and_services_limit_the_run(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/p", policy("x", "y"))
    decl = write_declarations(
        tmp_path / "d",
        "Alpha",
        {"Privacy Policy": {"fetch": url, "select": "main", "filter": ["removeTrackingIDs"]}},
    )
    write_declarations(decl, "Beta", {"Privacy Policy": {"fetch": url, "select": "main"}})
    result = crawl("declarations", path=decl, services="Alpha")
    assert result.returncode == 0, result.output
    assert result.output.count("JavaScript filters removeTrackingIDs cannot run") == 1
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT platform FROM document_checks").fetchall() == [("Alpha",)]


def test_bad_declarations_stop_the_run_before_any_fetch(
    crawl: CrawlRunner, site: Site, tmp_path: Path
) -> None:
    url = site.serve("/p", policy("x", "y"))
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {"Privacy Policy": {"fetch": url, "select": "main", "remove": "[["}},
    )
    result = crawl("declarations", path=decl)
    assert result.returncode != 0
    assert "Example.json" in result.output and "['Privacy Policy'].remove" in result.output
    assert site.hits == []


def test_an_unreachable_database_stops_the_run_before_any_fetch(site: Site, tmp_path: Path) -> None:
    url = site.serve("/p", policy("x", "y"))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    env = {**os.environ, "ATLAS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}
    result = run_scrapy(["crawl", "declarations", "-a", f"path={decl}"], env)
    assert result.returncode != 0
    assert "cannot connect to the database (ATLAS_DATABASE_URL" in result.output
    assert "port=1" in result.output
    assert site.hits == []


def test_a_platform_spider_crawls_real_markup(site: Site, tmp_path: Path, db_url: str) -> None:
    """A one-file platform spider, run by name, on a real captured page."""
    url = site.serve("/en/privacy", fixture_bytes("github/privacy-00577.html.gz"))
    path = write_spider(
        tmp_path,
        "localspiders",
        "localgithub",
        "class LocalGitHubSpider(PolicySpider):\n"
        "    name = 'localgithub'\n"
        "    platform = 'GitHub'\n"
        f"    documents = [Document('Privacy Policy', {url!r}, select='#article-contents')]\n",
    )
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "PYTHONPATH": path}
    result = run_scrapy(["crawl", "localgithub", "-s", "SPIDER_MODULES=localspiders"], env)
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT platform, outcome FROM document_checks").fetchone()
        assert row == ("GitHub", "first")
        text = conn.execute("SELECT text FROM versions").fetchone()
        assert text is not None and "GitHub Privacy Statement" in text[0]


AD_PAGE = """<html><body><main><div class=ad>Sponsored</div><article><h1>Terms</h1>
<p>You agree to be nice.</p></article></main></body></html>"""


def _first_crawl_with_the_ad(crawl: CrawlRunner, site: Site, tmp_path: Path) -> Path:
    """AD_PAGE recorded with rules that keep its ad; then the rules leave the ad out."""
    url = site.serve("/t", AD_PAGE)
    decl = write_declarations(
        tmp_path / "d", "Example", {"Terms of Service": {"fetch": url, "select": "main"}}
    )
    crawl("declarations", path=decl)
    write_declarations(decl, "Example", {"Terms of Service": {"fetch": url, "select": "article"}})
    return decl


def test_new_declaration_rules_on_an_unchanged_page_make_a_technical_change(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _first_crawl_with_the_ad(crawl, site, tmp_path)
    crawl("declarations", path=decl)  # the page did not change
    # Then the page really changes.
    site.serve("/t", AD_PAGE.replace("be nice", "be very nice"))
    crawl("declarations", path=decl)
    with psycopg.connect(db_url) as conn:
        kinds = conn.execute(
            "SELECT kind, kind_reason FROM document_changes ORDER BY change_id"
        ).fetchall()
    assert kinds == [("technical", "reread"), ("content", None)]


def test_new_rules_and_new_wording_readable_both_ways_make_a_content_change(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _first_crawl_with_the_ad(crawl, site, tmp_path)
    # New rules, and the wording changed too: the old page read with the new rules
    # still says "be nice", so this is a change of the policy.
    site.serve("/t", AD_PAGE.replace("be nice", "be very nice"))
    crawl("declarations", path=decl)
    with psycopg.connect(db_url) as conn:
        kinds = conn.execute("SELECT kind, kind_reason FROM document_changes").fetchall()
    assert kinds == [("content", None)]


def test_a_redesign_that_needs_new_rules_is_a_technical_change_with_its_reason(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    """Neither the old rules read the new layout nor the new rules the old one: wording
    and layout cannot be told apart, so the change is technical, marked 'redesign'."""
    clauses = "<p>You agree to be nice.</p><p>We may end your account.</p>"
    old = f"<html><body><div class=terms-v1><h1>Terms of Service</h1>{clauses}</div></body></html>"
    new = (
        "<html><body><main class=terms-v2><h1><a href='#top'>Terms</a></h1>"
        f"<nav><a href='#a'>Agreement</a></nav>{clauses}</main></body></html>"
    )
    url = site.serve("/t", old)
    decl = write_declarations(
        tmp_path / "d", "Example", {"Terms of Service": {"fetch": url, "select": ".terms-v1"}}
    )
    crawl("declarations", path=decl)
    site.serve("/t", new)
    crawl("declarations", path=decl)  # the old rules fail on the new layout
    write_declarations(decl, "Example", {"Terms of Service": {"fetch": url, "select": ".terms-v2"}})
    result = crawl("declarations", path=decl)
    assert result.returncode == 0, result.output

    assert [c[1:] for c in checks(db_url)] == [
        ("first", None),
        ("failed", "selector matched nothing"),
        ("changed", None),
        ("unchanged", None),
    ]
    with psycopg.connect(db_url) as conn:
        change = conn.execute("SELECT kind, kind_reason, diff FROM document_changes").fetchone()
    assert change is not None and change[:2] == ("technical", "redesign")
    assert "- of Service" in change[2]  # the diff is kept for review
    history = cli(
        "history", "--platform", "Example", "--document", "Terms of Service", db_url=db_url
    )
    assert history.returncode == 0, history.stderr
    assert "technical (redesign)" in history.stdout


def test_an_old_capture_in_a_new_layout_is_read_with_the_next_rules(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    """validUntil marks when a declaration was fixed, which can be after the redesign."""
    page = "<html><body><div class=new><p>Redesigned page text.</p></div></body></html>"
    url = site.serve("/p", page, Memento_Datetime="Tue, 05 Mar 2024 10:00:00 GMT")
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {"Privacy Policy": {"fetch": url, "select": ".new"}},
        {"Privacy Policy": [{"fetch": url, "select": ".old", "validUntil": "2024-04-01T00:00Z"}]},
    )
    assert crawl("declarations", path=decl).returncode == 0
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT outcome FROM document_checks").fetchone()
        declaration = conn.execute("SELECT declaration->'select' FROM versions").fetchone()
    assert row == ("first",)
    assert declaration == ([".new"],)
