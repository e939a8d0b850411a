"""Archived copies: each recorded change is submitted to the Wayback Machine (Save Page
Now 2) on threads of its own, so a slow archive never holds the crawl; the archive URL
lands on the version when it arrives. Off unless ``ATLAS_WAYBACK_ENABLED``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from atlas_crawl.evidence.wayback import ArchiveError, WaybackClient, WaybackSettings
from atlas_crawl.model import PolicyCheck
from atlas_crawl.storage.archive_status import mark_pending, store_outcome
from atlas_crawl.storage.database import Database, database

log = logging.getLogger(__name__)


def archive_version(client: WaybackClient, db: Database, version_id: int, url: str) -> None:
    """Submit ``url`` for ``version_id`` and store what came of it."""
    try:
        archived, failure = client.save(url), None
    except ArchiveError as exc:
        log.warning("archiving %s failed: %s", url, exc)
        archived, failure = None, str(exc)
    with db.connect(autocommit=True) as conn:
        store_outcome(conn, version_id, archived, failure)


class ArchivePipeline:
    def __init__(self, client: WaybackClient, db: Database, wait: float) -> None:
        self.client = client
        self.db = db
        self.wait = wait
        self.executor = ThreadPoolExecutor(2, thread_name_prefix="atlas-archive")
        self.jobs: list[Future[None]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        settings = crawler.settings
        try:
            wayback = WaybackSettings.from_settings(settings)
        except ArchiveError as exc:
            log.error("archiving is off: %s", exc)
            raise NotConfigured(str(exc)) from None
        if wayback is None:
            raise NotConfigured  # off by default: nothing to say about it
        return cls(
            WaybackClient(wayback), database(settings), settings.getfloat("ATLAS_ARCHIVE_WAIT", 60)
        )

    def _mark_pending(self, version_id: int) -> None:
        with self.db.connect(autocommit=True) as conn:
            mark_pending(conn, version_id)

    async def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        result = check.result
        if result is None or result.change_id is None or result.version_id is None:
            return check
        # Pending first: a submission cut short at the crawl's end is retried later.
        await asyncio.get_running_loop().run_in_executor(
            None, self._mark_pending, result.version_id
        )
        self.jobs.append(
            self.executor.submit(
                archive_version, self.client, self.db, result.version_id, check.document.url
            )
        )
        return check

    async def close_spider(self, spider: Any = None) -> None:
        # Archiving waits for nobody: what is unfinished stays 'pending' for
        # `atlas-crawl archive` to finish later.
        self.executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.get_running_loop().run_in_executor(None, self._wait_jobs)

    def _wait_jobs(self) -> None:
        for job in self.jobs:
            # A failure is recorded on the version already; a slow one stays pending.
            with contextlib.suppress(Exception):
                job.result(timeout=self.wait)
