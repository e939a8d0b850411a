"""Rendering through scrapy-playwright with a real headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from atlas_crawl.crawl.addon import chromium_path
from tests.helpers import CrawlRunner, Site, write_declarations

pytestmark = pytest.mark.browser

# The policy text exists only once the page's script has run.
JS_PAGE = """<html><head><title>Terms</title></head><body>
<main id="app">Loading…</main>
<img src="/pixel.png">
<script>
document.getElementById('app').innerHTML =
  '<h1>Terms of Service</h1><p>By using the service you agree to these terms.</p>' +
  '<ul><li>Be kind.</li><li>No spam.</li></ul>';
</script></body></html>"""


@pytest.fixture
def chromium() -> str:
    path = chromium_path(os.environ.get("ATLAS_CHROMIUM_PATH"))
    if path is None or not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("no Chromium found: install Debian's chromium or set ATLAS_CHROMIUM_PATH")
    return path


def test_javascript_pages_are_rendered_in_chromium(
    chromium: str, crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/terms", JS_PAGE)
    site.serve("/pixel.png", b"\x89PNG\r\n", Content_Type="image/png")
    plain = site.serve("/plain", "<html><body><main><p>Plain HTTP page.</p></main></body>")
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {
            "Terms of Service": {"fetch": url, "select": "main", "executeClientScripts": True},
            "Privacy Policy": {"fetch": plain, "select": "main"},
        },
    )
    result = crawl("declarations", path=decl, env={"ATLAS_CHROMIUM_PATH": chromium})
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        rows = dict(
            conn.execute(
                "SELECT document_type, fetcher FROM document_checks WHERE outcome = 'first'"
            ).fetchall()
        )
        text = conn.execute(
            """SELECT t.text FROM document_versions v JOIN versions t USING (version_id)
               WHERE v.document_type = 'Terms of Service'"""
        ).fetchone()
    assert rows["Privacy Policy"] == "http"
    assert rows["Terms of Service"].startswith("browser chromium 1")
    assert text == (
        "# Terms of Service\n\nBy using the service you agree to these terms.\n\n"
        "- Be kind.\n- No spam.\n",
    )
    # Images are never downloaded by the browser.
    assert "/pixel.png" not in site.hits
    # The rendered DOM, the document as served and a full-page screenshot are evidence.
    records = subprocess.run(
        [
            sys.executable,
            "-m",
            "warcio.cli",
            "index",
            "-f",
            "warc-type,warc-target-uri,content-type",
            *map(str, sorted((tmp_path / "evidence").glob("*.warc.gz"))),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rendered = [json.loads(line) for line in records.splitlines() if url in line]
    kinds = {(r["warc-type"], r["warc-target-uri"].split(":http")[0]) for r in rendered}
    assert ("resource", url) in kinds  # the DOM the text was extracted from
    assert ("response", url) in kinds  # the page as the server sent it
    assert ("resource", "urn:atlas-crawl:screenshot") in kinds


# A single-page app: the policy arrives 300 ms after the page's load event.
LATE_PAGE = """<html><body><div id="root">Loading…</div><script>
window.addEventListener('load', () => setTimeout(() => {
  document.getElementById('root').innerHTML =
    '<article class="policy"><h1>Privacy</h1><p>We keep your data for a year.</p></article>';
}, 300));
</script></body></html>"""


def test_a_page_that_renders_late_is_read_once_its_selectors_appear(
    chromium: str, crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    late = site.serve("/late", LATE_PAGE)
    never = site.serve("/never", "<html><body><div id='root'>Loading…</div></body></html>")
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {
            "Privacy Policy": {"fetch": late, "select": ".policy", "executeClientScripts": True},
            "Terms of Service": {"fetch": never, "select": ".terms", "executeClientScripts": True},
        },
    )
    env = {"ATLAS_CHROMIUM_PATH": chromium, "ATLAS_RENDER_SELECTOR_WAIT": "2"}
    result = crawl("declarations", path=decl, env=env)
    assert result.returncode == 0, result.output[-3000:]
    with psycopg.connect(db_url) as conn:
        rows = dict(
            conn.execute(
                """SELECT k.document_type, coalesce(k.failure_reason, k.outcome) || ' ' ||
                          coalesce(c.failure_detail, '')
                   FROM document_checks k JOIN checks c USING (check_id)"""
            ).fetchall()
        )
    assert rows["Privacy Policy"].startswith("first")
    assert rows["Terms of Service"] == (
        "selector matched nothing .terms did not appear within 2 s after the page loaded"
    )


# Sloppy markup as sites ship it: a tracking pixel's <noscript> opening a <div> it never
# closes, content misplaced inside a table, a self-closed <span/>, in-page links.
SLOPPY_PAGE = """<html><head><title>Policy</title></head><body>
<div class="entry-content"><h2 id="use">How we use data</h2>
<p>We use your data to run the service. See <a href="#rights">your rights</a> and
<a href="cookies">cookies</a>.<span class="icon"/> Nothing else.</p>
<table><tr><td>Retention</td><td>30 days</td></tr><p>Kept no longer.</p></table>
<noscript><div><img src="/pixel.gif"></noscript></div>
<footer><p>Follow Us</p></footer></body></html>"""


def test_a_rendered_page_and_a_fetched_one_read_the_same(
    chromium: str, crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    fetched = site.serve("/fetched", SLOPPY_PAGE)
    rendered = site.serve("/rendered", SLOPPY_PAGE)
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {
            "Privacy Policy": {"fetch": fetched, "select": ".entry-content"},
            "Terms of Service": {
                "fetch": rendered,
                "select": ".entry-content",
                "executeClientScripts": True,
            },
        },
    )
    result = crawl("declarations", path=decl, env={"ATLAS_CHROMIUM_PATH": chromium})
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        texts = dict(
            conn.execute(
                """SELECT v.document_type, t.text FROM document_versions v
                   JOIN versions t USING (version_id)"""
            ).fetchall()
        )
    http, browser = texts["Privacy Policy"], texts["Terms of Service"]
    assert http == browser
    assert "Follow Us" not in http
    assert "[your rights](#rights)" in http
    assert http.index("Kept no longer.") < http.index("| Retention | 30 days |")
