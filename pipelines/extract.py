"""Cut the policy text out of the fetched pages and normalize it."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from atlas_crawl.extraction import ExtractionError, extract_at
from atlas_crawl.extraction.extract import EXTRACTOR_VERSION, applicable_rules
from atlas_crawl.items import PolicyCheck
from atlas_crawl.rules_json import rules_to_json
from atlas_crawl.storage.recorder import combined_sha256

log = logging.getLogger(__name__)


class ExtractPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        document = check.document
        in_force = applicable_rules(document, check.captured_at, len(document.rules.sources))
        check.rules = in_force[0] if in_force else document.rules
        if check.failure_reason is not None or check.not_modified:
            return check
        plan = getattr(self.crawler.spider, "plan", None) or {}
        state = plan.get((document.platform, document.document_type))
        if state is not None and not check.verifying:
            # The very bytes of the last settled capture, read with the same rules: the
            # text is known. The recorder checks the database still agrees.
            check.same_capture_text_sha256 = state.same_capture(
                combined_sha256([p.raw_sha256 for p in check.pages]),
                rules_to_json(check.rules),
                EXTRACTOR_VERSION,
            )
            if check.same_capture_text_sha256 is not None:
                if self.crawler.stats is not None:
                    self.crawler.stats.inc_value("atlas/extraction/same_capture")
                return check
        pages = [(p.body or b"", p.content_type) for p in check.pages]
        try:
            check.rules, check.text = extract_at(document, pages, check.captured_at)
        except ExtractionError as exc:
            check.fail(exc.reason, exc.detail)
        return check
