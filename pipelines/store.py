"""Hash, compare with the stored versions and record the check, its evidence and any change.

The database is opened (and migrated) when the spider opens, before any fetch: an
unreachable or misconfigured database stops the run with a message naming it. All
database work runs on one dedicated thread, so the crawl's event loop never blocks
on it and the connection is never shared between threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from atlas_crawl.declarations import parse_ota_rules
from atlas_crawl.extraction import EXTRACTOR_VERSION, extract_document
from atlas_crawl.items import PolicyCheck
from atlas_crawl.rules_json import rules_to_json
from atlas_crawl.storage.database import DatabaseUnavailable, connect
from atlas_crawl.storage.migrate import upgrade
from atlas_crawl.storage.recorder import (
    DEFAULT_MIN_LENGTH_RATIO,
    CheckRecord,
    CheckResult,
    record_check,
)

log = logging.getLogger(__name__)


def reextract_with(pages: Sequence[tuple[bytes, str]], declaration: dict[str, Any]) -> str:
    """Stored pages read with a stored declaration (for technical-change detection)."""
    return extract_document(pages, parse_ota_rules(declaration, "stored declaration"))


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.min_length_ratio = crawler.settings.getfloat(
            "ATLAS_MIN_LENGTH_RATIO", DEFAULT_MIN_LENGTH_RATIO
        )
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atlas-db")
        self.conn: psycopg.Connection | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def _open(self) -> None:
        self.conn = connect(autocommit=True)
        applied = upgrade(self.conn)
        if applied:
            log.info("database schema upgraded: %s", ", ".join(applied))

    async def open_spider(self, spider: Any = None) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self._open)
        except DatabaseUnavailable as exc:
            # Raised, not CloseSpider: the crawl then fails to start and exits non-zero.
            log.error("database unavailable, nothing was fetched: %s", exc)
            raise

    async def close_spider(self, spider: Any = None) -> None:
        if self.conn is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.conn.close)
        self.executor.shutdown(wait=True)

    def _record(self, check: PolicyCheck) -> CheckResult:
        assert self.conn is not None
        rules = check.rules or check.document.rules
        record = CheckRecord(
            platform=check.document.platform,
            document_type=check.document.document_type,
            url=check.document.url,
            declaration=rules_to_json(rules),
            checked_at=check.checked_at,
            captured_at=check.captured_at,
            fetcher=check.fetcher,
            user_agent=check.user_agent,
            pages=check.pages,
            text=check.text if check.failure_reason is None else None,
            failure_reason=check.failure_reason,
            failure_detail=check.failure_detail,
            crawl_id=check.crawl_id,
            extractor_version=EXTRACTOR_VERSION,
        )
        return record_check(self.conn, record, self.min_length_ratio, reextract_with)

    async def process_item(self, item: PolicyCheck, spider: Any = None) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.executor, self._record, check)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"atlas/checks/{result.outcome}")
        name = f"{check.document.platform} / {check.document.document_type}"
        if result.outcome == "failed":
            log.warning(
                "%s: check failed (%s): %s", name, result.failure_reason, check.failure_detail or ""
            )
        elif result.outcome == "changed":
            log.info(
                "%s: CHANGED (%s) -> version %s (change %s)",
                name,
                result.change_kind,
                result.version_number,
                result.change_id,
            )
        else:
            log.info("%s: %s (version %s)", name, result.outcome, result.version_number)
        # The raw bodies are stored; do not keep them in memory past this point.
        for page in check.pages:
            page.body = None
        return check
