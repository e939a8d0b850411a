"""Cut the policy text out of the fetched pages and normalize it.

Extraction is CPU work of up to seconds a page (a long PDF: 3-5 s in pypdf), so it runs
in worker threads: on the reactor's thread it stalled the whole crawl, timers included,
and the recorder's watchdog took a stall of a few PDFs in a row for a database that
stopped answering.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
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
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="atlas-extract")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        max_text = crawler.settings.getint("ATLAS_MAX_TEXT_CHARS", 2_000_000)
        return cls(CrawlPlan.of(crawler), crawler.stats, max_text)

    async def process_item(self, item: PolicyCheck, spider: Any = None) -> PolicyCheck:
        loop = asyncio.get_running_loop()
        check = await loop.run_in_executor(self.executor, self.extract, item)
        if check.same_capture_text_sha256 is not None and self.stats is not None:
            self.stats.inc_value("atlas/extraction/same_capture")  # on the reactor's thread
        return check

    def close_spider(self, spider: Any = None) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    def extract(self, item: PolicyCheck) -> PolicyCheck:
        """The check with its rules and text (or its failure), as the recorder needs it."""
        check: PolicyCheck = ItemAdapter(item).item
        if check.failure_reason is None and not check.not_modified:
            settled = self.plan.settled_text(check)
            if settled is not None:
                # The last settled capture again: its text stands without extracting.
                check.rules, check.same_capture_text_sha256 = settled
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
