"""Pages are read as a browser reads them: HTML5 tree construction, links resolved
against the document's declared location."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import html as libxml2_html  # Scrapy's own dependency: the parser we left

from atlas_crawl.declarations import Rules, Source, TrackedDocument
from atlas_crawl.extraction import extract_source
from atlas_crawl.extraction.check import extract_check
from atlas_crawl.model import Page, PolicyCheck

POLICY = "We keep your data for thirty days and then delete it. " * 5
URL = "https://example.com/legal/privacy"

# Unclosed markup as sites ship it: a tracking pixel's <noscript> that opens a <div> it
# never closes, and a <template> holding half a widget. A browser parses both as
# inert content; libxml2 parses their markup and keeps the container open, so the
# footer after it lands inside the policy.
MALFORMED = {
    "noscript": f"""<html><body><div class="entry-content"><p>{POLICY}</p>
        <noscript><div><img src="https://pixel.example/t.gif"></noscript></div>
        <footer><p>Follow Us</p><ul><li><a href="/x">X</a></li></ul></footer></body></html>""",
    "template": f"""<html><body><div class="entry-content"><p>{POLICY}</p>
        <template><div class="card"><p>Share</template></div>
        <footer><p>Follow Us</p></footer></body></html>""",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_unclosed_markup_keeps_the_footer_out_of_the_policy(case: str) -> None:
    page = MALFORMED[case]
    libxml2_reads = libxml2_html.document_fromstring(page).cssselect(".entry-content")[0]
    assert "Follow Us" in libxml2_reads.text_content()  # the old parser's mistake

    text = extract_source(page.encode(), Source(url=URL, select=(".entry-content",)))
    assert text == POLICY.strip() + "\n"


def test_misplaced_table_content_is_read_where_a_browser_shows_it() -> None:
    # Content inside <table> but outside any cell is shown before the table.
    page = (
        "<html><body><main><table><tr><td>Retention</td><td>30 days</td></tr>"
        f"<p>{POLICY}</p></table></main></body></html>"
    )
    text = extract_source(page.encode(), Source(url=URL, select=("main",)))
    assert text.index("We keep your data") < text.index("| Retention | 30 days |")


PAGE_WITH_LINKS = f"""<html><head>{{base}}</head><body><main><p>{POLICY}</p>
<p>See <a href="#retention">Retention</a>, <a href="{URL}#rights">your rights</a>,
<a href="cookies">cookies</a>, <a href="/legal/terms?utm_source=x&amp;id=2">terms</a>.</p>
</main></body></html>"""


def test_links_resolve_against_the_declared_location_and_fragments_stay() -> None:
    page = PAGE_WITH_LINKS.format(base="").encode()
    text = extract_source(page, Source(url=URL, select=("main",)))
    assert "[Retention](#retention)" in text
    assert "[your rights](#rights)" in text  # a link to this very document
    assert "[cookies](https://example.com/legal/cookies)" in text
    assert "[terms](https://example.com/legal/terms?id=2)" in text


def test_a_check_fetched_elsewhere_reads_as_one_from_the_source() -> None:
    # The same bytes from the source, through a redirect, and from a local replay: the
    # check's text is read against the declared location alone, so all three agree.
    document = TrackedDocument("Example", "Privacy Policy", Rules((Source(URL, ("main",)),)))
    body = PAGE_WITH_LINKS.format(base="").encode()
    fetched = {
        "source": Page(URL, None, 200, {}, body, "text/html"),
        "redirect": Page(URL, "https://www.example.com/privacy-2026", 200, {}, body, "text/html"),
        "replay": Page("http://127.0.0.1:8000/privacy.html", None, 200, {}, body, "text/html"),
    }
    texts = set()
    for page in fetched.values():
        now = datetime.now(UTC)
        check = PolicyCheck(document, now, now, "test", None, [page])
        extract_check(check)
        assert check.failure_reason is None
        texts.add(check.text)
    # A replay whose declaration fetches from 127.0.0.1 but names the document's own
    # address as its location reads the same too (bench/replay.py declares it so).
    mirror = Source("http://127.0.0.1:8000/privacy.html", ("main",), location=URL)
    based = PAGE_WITH_LINKS.format(base='<base href="/legal/">').encode()
    assert extract_source(based, mirror) == extract_source(based, Source(URL, ("main",)))
    assert len(texts) == 1
    assert "[cookies](https://example.com/legal/cookies)" in texts.pop()


def test_base_href_is_honoured_as_a_browser_does() -> None:
    page = PAGE_WITH_LINKS.format(base='<base href="/">').encode()
    text = extract_source(page, Source(url=URL, select=("main",)))
    assert "[cookies](https://example.com/cookies)" in text
    assert "[Retention](#retention)" in text  # written as a fragment, kept as one
