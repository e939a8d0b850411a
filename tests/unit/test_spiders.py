"""Every shipped platform spider, run offline on recorded pages of its own platform.

One parametrized test over ``tests/fixtures/spiders/<spider>/``: the spider's own
request for the document (from ``start()``), its own callback on the recorded page, then
the extraction pipeline; the text must be the recorded expectation. ``python -m
tests.unit.test_spiders`` rewrites the expectations after a deliberate change.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from atlas_crawl.pipelines.extract import ExtractPipeline
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from atlas_crawl.config import project_settings
from atlas_crawl.crawl.catalog import platform_spiders
from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.model import PolicyCheck
from tests.helpers import FIXTURES

RECORDED = FIXTURES / "spiders"
SPIDERS = platform_spiders(project_settings())

# Documents with no recorded page of their current markup (NOTICE.md says why).
UNRECORDED = {
    ("adobe", "Privacy Policy"),
    ("adobe", "Terms of Service"),
    ("slack", "Privacy Policy"),
    ("slack", "Terms of Service"),
}


def slug(document_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", document_type.lower()).strip("-")


def page_of(spider: str, document_type: str) -> Path:
    return RECORDED / spider / f"{slug(document_type)}.html.gz"


def recorded_documents() -> list[tuple[str, str]]:
    return [
        (name, doc.document_type)
        for name, cls in sorted(SPIDERS.items())
        for doc in cls.tracked()
        if (name, doc.document_type) not in UNRECORDED
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
    return ExtractPipeline.from_crawler(crawler).process_item(produced[0])


def read_recorded(spider: str, document_type: str) -> PolicyCheck:
    body = gzip.decompress(page_of(spider, document_type).read_bytes())
    return asyncio.run(_read(SPIDERS[spider], document_type, body))


@pytest.mark.parametrize(("spider", "document_type"), recorded_documents())
def test_spider_reads_its_recorded_page(spider: str, document_type: str) -> None:
    check = read_recorded(spider, document_type)
    assert check.failure_reason is None, f"{check.failure_reason}: {check.failure_detail}"
    expected = page_of(spider, document_type).with_suffix("").with_suffix(".md")
    assert check.text == expected.read_text(encoding="utf-8")


def test_every_spider_document_is_recorded_or_listed() -> None:
    declared = {(n, d.document_type) for n, cls in SPIDERS.items() for d in cls.tracked()}
    recorded = {key for key in declared if page_of(*key).exists()}
    assert declared >= UNRECORDED, "UNRECORDED names a document no spider declares"
    assert not (recorded & UNRECORDED), "recorded now: take it off UNRECORDED"
    assert declared == recorded | UNRECORDED, f"no recorded page: {declared - recorded}"


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


if __name__ == "__main__":
    _rewrite_expectations()
