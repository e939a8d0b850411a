"""Cut the policy text out of the fetched pages and normalize it."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from atlas_crawl.crawl.plan import CrawlPlan
from atlas_crawl.extraction.check import extract_check
from atlas_crawl.model import PolicyCheck


class ExtractPipeline:
    def __init__(self, plan: CrawlPlan, stats: Any, max_text: int = 0) -> None:
        self.plan = plan
        self.stats = stats
        self.max_text = max_text

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        max_text = crawler.settings.getint("ATLAS_MAX_TEXT_CHARS", 2_000_000)
        return cls(CrawlPlan.of(crawler), crawler.stats, max_text)

    def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        if check.failure_reason is None and not check.not_modified:
            settled = self.plan.settled_text(check)
            if settled is not None:
                # The last settled capture again: its text stands without extracting.
                check.rules, check.same_capture_text_sha256 = settled
                if self.stats is not None:
                    self.stats.inc_value("atlas/extraction/same_capture")
                return check
            extract_check(check)
            if self.max_text and check.text is not None and len(check.text) > self.max_text:
                # Cutting and classifying provisions grows with the text: a text far
                # beyond any real policy's would hold the round.
                check.fail(
                    "too large",
                    f"the extracted text has {len(check.text)} characters, over "
                    f"ATLAS_MAX_TEXT_CHARS ({self.max_text})",
                )
                check.text = None
        if check.rules is None:
            check.rules = check.document.rules_in_force(check.captured_at)
        return check
