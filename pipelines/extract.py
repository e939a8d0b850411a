"""Cut the policy text out of the fetched pages and normalize it."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from atlas_crawl.extraction import ExtractionError, extract_at
from atlas_crawl.extraction.extract import rules_in_force
from atlas_crawl.items import PolicyCheck

log = logging.getLogger(__name__)


def extract_check(check: PolicyCheck) -> None:
    """The check's text from its pages, with the rules of its time (or later ones that
    work); a page nothing can be extracted from makes it a failed check."""
    pages = [(p.body or b"", p.content_type) for p in check.pages]
    try:
        check.rules, check.text = extract_at(check.document, pages, check.captured_at)
    except ExtractionError as exc:
        check.fail(exc.reason, exc.detail)


class ExtractPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        check.rules = rules_in_force(check.document, check.captured_at)
        if check.failure_reason is not None or check.not_modified:
            return check
        settled = getattr(self.crawler.spider, "settled_text_sha256", None)
        if settled is not None:
            check.same_capture_text_sha256 = settled(check, check.rules)
            if check.same_capture_text_sha256 is not None:
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("atlas/extraction/same_capture")
                return check
        extract_check(check)
        return check
