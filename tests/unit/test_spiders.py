"""Every shipped platform spider, run offline on recorded pages of its own platform.

One parametrized test over ``tests/fixtures/spiders/<spider>/``: the spider's own
request for the document (from ``start()``), its own callback on the recorded page, then
the extraction pipeline; the text must be the recorded expectation. A document combined
from several pages is read page by page (``<document>.page-N.html.gz``): each recorded
page with its own source's rules, after the spider's callback on the first page asked for
the second. ``python -m tests.unit.test_spiders`` rewrites the expectations after a
deliberate change.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import scrapy
from atlas_crawl.pipelines.extract import ExtractPipeline
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from atlas_crawl.config import project_settings
from atlas_crawl.crawl.catalog import platform_spiders
from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.extraction.extract import extract_source
from atlas_crawl.model import PolicyCheck
from tests.helpers import FIXTURES

RECORDED = FIXTURES / "spiders"
SPIDERS = platform_spiders(project_settings())

# Pages of combined documents with no public capture (NOTICE.md says why): spider,
# document, page number in the declaration.
UNRECORDED_PAGES = {
    ("slack", "Privacy Policy", 2),  # trust/data-management/privacy-principles
    ("slack", "Terms of Service", 2),  # slack-supplemental-terms
}


def slug(document_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", document_type.lower()).strip("-")


def page_of(spider: str, document_type: str) -> Path:
    return RECORDED / spider / f"{slug(document_type)}.html.gz"


def page_n_of(spider: str, document_type: str, number: int) -> Path:
    return RECORDED / spider / f"{slug(document_type)}.page-{number}.html.gz"


def _pages(cls: type[PolicySpider], document_type: str) -> int:
    return next(len(d.rules.sources) for d in cls.tracked() if d.document_type == document_type)


def recorded_documents() -> list[tuple[str, str]]:
    """Single-page documents."""
    return [
        (name, doc.document_type)
        for name, cls in sorted(SPIDERS.items())
        for doc in cls.tracked()
        if len(doc.rules.sources) == 1
    ]


def recorded_pages() -> list[tuple[str, str, int]]:
    """The recorded pages of combined documents."""
    return [
        (name, doc.document_type, n)
        for name, cls in sorted(SPIDERS.items())
        for doc in cls.tracked()
        if len(doc.rules.sources) > 1
        for n in range(1, len(doc.rules.sources) + 1)
        if (name, doc.document_type, n) not in UNRECORDED_PAGES
    ]


async def _read(cls: type[PolicySpider], document_type: str, body: bytes) -> PolicyCheck:
    crawler = get_crawler(cls, {"ATLAS_CONDITIONAL_REQUESTS": False})
    spider = cls.from_crawler(crawler, documents_filter=document_type)
    requests = [r async for r in spider.start()]
    assert len(requests) == 1, f"{cls.name}: one request for {document_type}"
    request = requests[0]
    response = HtmlResponse(
        request.url, body=body, request=request, headers={"Content-Type": "text/html"}
    )
    produced: list[Any] = [x async for x in request.callback(response)]
    assert len(produced) == 1 and isinstance(produced[0], PolicyCheck), produced
    return ExtractPipeline.from_crawler(crawler).extract(produced[0])


def read_recorded(spider: str, document_type: str) -> PolicyCheck:
    body = gzip.decompress(page_of(spider, document_type).read_bytes())
    return asyncio.run(_read(SPIDERS[spider], document_type, body))


@pytest.mark.parametrize(("spider", "document_type"), recorded_documents())
def test_spider_reads_its_recorded_page(spider: str, document_type: str) -> None:
    check = read_recorded(spider, document_type)
    assert check.failure_reason is None, f"{check.failure_reason}: {check.failure_detail}"
    expected = page_of(spider, document_type).with_suffix("").with_suffix(".md")
    assert check.text == expected.read_text(encoding="utf-8")


async def _first_page(cls: type[PolicySpider], document_type: str, body: bytes) -> str:
    """The spider's callback on a combined document's first page asks for the second."""
    crawler = get_crawler(cls, {"ATLAS_CONDITIONAL_REQUESTS": False})
    spider = cls.from_crawler(crawler, documents_filter=document_type)
    [request] = [r async for r in spider.start()]
    response = HtmlResponse(
        request.url, body=body, request=request, headers={"Content-Type": "text/html"}
    )
    [produced] = [x async for x in request.callback(response)]
    assert isinstance(produced, scrapy.Request), produced
    return produced.url


def read_page(spider: str, document_type: str, number: int) -> str:
    """One recorded page of a combined document, read with its own source's rules."""
    cls = SPIDERS[spider]
    document = next(d for d in cls.tracked() if d.document_type == document_type)
    body = gzip.decompress(page_n_of(spider, document_type, number).read_bytes())
    if number == 1:
        assert asyncio.run(_first_page(cls, document_type, body)) == document.rules.sources[1].url
    return extract_source(body, document.rules.sources[number - 1], "text/html")


@pytest.mark.parametrize(("spider", "document_type", "number"), recorded_pages())
def test_spider_reads_each_recorded_page_of_a_combined_document(
    spider: str, document_type: str, number: int
) -> None:
    text = read_page(spider, document_type, number)
    expected = page_n_of(spider, document_type, number).with_suffix("").with_suffix(".md")
    assert text == expected.read_text(encoding="utf-8")


def test_adobe_inline_styles_never_reach_the_text() -> None:
    """Adobe's main holds <style> blocks: none of their CSS is text."""
    for document_type in ("Privacy Policy", "Terms of Service"):
        body = gzip.decompress(page_of("adobe", document_type).read_bytes())
        main = body[body.index(b"<main") :]
        styles = re.findall(rb"<style[^>]*>(.*?)</style>", main, re.S)
        assert styles, "the recorded page has inline styles in main"
        text = read_recorded("adobe", document_type).text or ""
        for css in styles:
            for rule in re.findall(rb"[^{}]+\{", css)[:20]:
                assert rule.decode().strip() not in text
        assert "{" not in text and "}" not in text


def test_every_spider_document_is_recorded_or_listed() -> None:
    declared = {(n, d.document_type) for n, cls in SPIDERS.items() for d in cls.tracked()}
    single = set(recorded_documents())
    assert all(page_of(*key).exists() for key in single), [
        key for key in single if not page_of(*key).exists()
    ]
    combined = declared - single
    for name, document_type in combined:
        pages = range(1, _pages(SPIDERS[name], document_type) + 1)
        for n in pages:
            key = (name, document_type, n)
            recorded = page_n_of(*key).exists()
            assert recorded != (key in UNRECORDED_PAGES), (
                f"{key}: recorded and listed unrecorded" if recorded else f"{key}: no recording"
            )
    assert {(n, d) for n, d, _ in UNRECORDED_PAGES} <= combined


def test_every_recording_has_its_notice() -> None:
    notice = (RECORDED / "NOTICE.md").read_text()
    for page in RECORDED.glob("*/*.html.gz"):
        assert f"`{page.parent.name}/{page.name}`" in notice, page


def _rewrite_expectations() -> None:
    for spider, document_type in recorded_documents():
        check = read_recorded(spider, document_type)
        if check.text is None:
            sys.exit(f"{spider} / {document_type}: {check.failure_reason}")
        expected = page_of(spider, document_type).with_suffix("").with_suffix(".md")
        expected.write_text(check.text, encoding="utf-8")
        print(f"wrote {expected}")
    for spider, document_type, number in recorded_pages():
        expected = page_n_of(spider, document_type, number).with_suffix("").with_suffix(".md")
        expected.write_text(read_page(spider, document_type, number), encoding="utf-8")
        print(f"wrote {expected}")


if __name__ == "__main__":
    _rewrite_expectations()
