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
        # Old captures (replays, backfills) are read with the rules of their time; when
        # those find nothing, with the later ones. Only rules for as many pages as were
        # fetched can apply.
        fetched = len(document.rules.sources)
        candidates = [
            r for r in document.rules_from(check.captured_at) if len(r.sources) == fetched
        ]
        check.rules = candidates[0]
        if check.failure_reason is not None:
            return check
        pages = [(p.body or b"", p.content_type) for p in check.pages]
        first_error: ExtractionError | None = None
        for rules in candidates:
            try:
                check.text = extract_document(pages, rules)
            except ExtractionError as exc:
                first_error = first_error or exc
                continue
            check.rules = rules
            return check
        assert first_error is not None
        check.fail(first_error.reason, first_error.detail)
        return check
