"""Cut the policy text out of the fetched pages and normalize it."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter

from atlas_crawl.extraction import ExtractionError, extract_document
from atlas_crawl.items import PolicyCheck

log = logging.getLogger(__name__)


class ExtractPipeline:
    def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        document = check.document
        # Old captures (replays, backfills) are read with the rules of their time.
        rules = document.rules_at(check.captured_at)
        if len(rules.sources) != len(document.rules.sources):
            rules = document.rules  # the pages fetched are those of the current rules
        check.rules = rules
        if check.failure_reason is not None:
            return check
        pages = [(p.body or b"", p.content_type) for p in check.pages]
        try:
            check.text = extract_document(pages, rules)
        except ExtractionError as exc:
            check.fail(exc.reason, exc.detail)
        return check
