"""Cut the policy text out of the fetched pages and normalize it."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter

from atlas_crawl.extraction import ExtractionError, extract_at
from atlas_crawl.extraction.extract import applicable_rules
from atlas_crawl.items import PolicyCheck

log = logging.getLogger(__name__)


class ExtractPipeline:
    def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        document = check.document
        in_force = applicable_rules(document, check.captured_at, len(document.rules.sources))
        check.rules = in_force[0] if in_force else document.rules
        if check.failure_reason is not None or check.not_modified:
            return check
        pages = [(p.body or b"", p.content_type) for p in check.pages]
        try:
            check.rules, check.text = extract_at(document, pages, check.captured_at)
        except ExtractionError as exc:
            check.fail(exc.reason, exc.detail)
        return check
