"""Hash, compare with the stored versions and record the check, its evidence and any change.

The database is opened (and migrated) when the spider opens, before any fetch: an
unreachable or misconfigured database stops the run with a message naming it. All
database work runs on a few dedicated threads (``ATLAS_DB_CONNECTIONS``), each with its
own connection, so the crawl's event loop never blocks on it; checks of one document
are serialized by the recorder's row lock. A new text is confirmed by
a second fetch before it becomes a change (``ATLAS_VERIFY_CHANGES``); the checks that
make, propose or confirm a version are written as WARC records at capture time; a
recorded change is submitted to the Wayback Machine when that is enabled, on a thread
of its own, so a slow archive never holds the crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from atlas_crawl.evidence.warc import WarcPage, WarcRef, WarcStore
from atlas_crawl.evidence.wayback import ArchiveError, WaybackClient, WaybackSettings
from atlas_crawl.extraction.extract import EXTRACTOR_VERSION, reextract_stored
from atlas_crawl.items import PolicyCheck
from atlas_crawl.rules_json import rules_to_json
from atlas_crawl.storage.database import DatabaseUnavailable, connect, evidence_dir
from atlas_crawl.storage.migrate import upgrade
from atlas_crawl.storage.recorder import (
    DEFAULT_MIN_LENGTH_RATIO,
    CheckRecord,
    CheckResult,
    StalePlan,
    record_check,
)
from pipelines.extract import extract_check

log = logging.getLogger(__name__)


def warc_pages(rec: CheckRecord) -> list[WarcPage]:
    return [
        WarcPage(
            url=page.final_url or page.requested_url,
            status=page.http_status or 0,
            response_headers=page.headers,
            body=page.body,
            fetched_at=rec.checked_at,
            request_headers=page.request_headers,
            rendered=page.rendered,
            network_body=page.network_body,
            screenshot=page.screenshot,
        )
        for page in rec.pages
        if page.body is not None
    ]


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.min_length_ratio = settings.getfloat(
            "ATLAS_MIN_LENGTH_RATIO", DEFAULT_MIN_LENGTH_RATIO
        )
        self.verify = settings.getbool("ATLAS_VERIFY_CHANGES", True)
        folder = settings.get("ATLAS_EVIDENCE_DIR") or str(evidence_dir())
        self.warc = WarcStore(Path(folder), settings.getint("ATLAS_WARC_MAX_BYTES", 100 << 20))
        # Several connections hide the round trips of many small transactions.
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, settings.getint("ATLAS_DB_CONNECTIONS", 4)),
            thread_name_prefix="atlas-db",
        )
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._connections_lock = threading.Lock()
        self.archiver: WaybackClient | None = None
        self.archive_jobs: list[Future[None]] = []
        self.archive_executor: ThreadPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    @property
    def conn(self) -> psycopg.Connection:
        """This database thread's own connection."""
        conn: psycopg.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(autocommit=True)
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _open(self) -> None:
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
        try:
            wayback = WaybackSettings.from_env()
        except ArchiveError as exc:
            log.error("archiving is off: %s", exc)
            wayback = None
        if wayback is not None:
            self.archiver = WaybackClient(wayback)
            self.archive_executor = ThreadPoolExecutor(2, thread_name_prefix="atlas-archive")

    async def close_spider(self, spider: Any = None) -> None:
        if self.archive_executor is not None:
            # Archiving waits for nobody: what is unfinished stays 'pending' for
            # `atlas-crawl archive` to finish later.
            self.archive_executor.shutdown(wait=False, cancel_futures=True)
            await asyncio.get_running_loop().run_in_executor(None, self._wait_archives)
        self.executor.shutdown(wait=True)
        for conn in self._connections:
            conn.close()

    def _wait_archives(self) -> None:
        limit = self.crawler.settings.getfloat("ATLAS_ARCHIVE_WAIT", 60)
        for job in self.archive_jobs:
            # A failure is recorded on the version already; a slow one stays pending.
            with contextlib.suppress(Exception):
                job.result(timeout=limit)

    def _write_warc(self, rec: CheckRecord) -> list[WarcRef]:
        return [self.warc.write(page) for page in warc_pages(rec)]

    def _record(self, check: PolicyCheck) -> CheckResult:
        try:
            result = self._record_once(check)
        except StalePlan:
            # Another process or crawl moved the document on since the plan was read.
            check.same_capture_text_sha256 = None
            extract_check(check)
            result = self._record_once(check)
        if result.change_id is not None and self.archiver is not None:
            self.conn.execute(
                "UPDATE versions SET archive_status = 'pending' WHERE version_id = %s",
                (result.version_id,),
            )
        return result

    def _record_once(self, check: PolicyCheck) -> CheckResult:
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
            not_modified=check.not_modified,
            source_ref=self._round_ref(check),
            same_capture_text_sha256=check.same_capture_text_sha256,
        )
        return record_check(
            self.conn,
            record,
            self.min_length_ratio,
            reextract_stored,
            self.verify,
            self._write_warc,
        )

    def _round_ref(self, check: PolicyCheck) -> str | None:
        """A check that belongs to a named round is recorded once per round (the
        database refuses a second one), whichever process makes it."""
        spider = self.crawler.spider
        name = getattr(spider, "round", None)
        if not name:
            return None
        ref = f"round:{spider.name}:{name}:{check.document.key}"
        return f"{ref}:verify" if check.verifying else ref

    def _archive(self, version_id: int, url: str) -> None:
        assert self.archiver is not None
        try:
            archived = self.archiver.save(url)
            update = ("archived", archived, None)
        except ArchiveError as exc:
            log.warning("archiving %s failed: %s", url, exc)
            update = ("failed", None, str(exc))
        future = self.executor.submit(self._store_archive, version_id, *update)
        future.result()

    def _store_archive(
        self, version_id: int, status: str, url: str | None, detail: str | None
    ) -> None:
        self.conn.execute(
            """UPDATE versions SET archive_status = %s, archive_url = coalesce(%s, archive_url),
                   archive_detail = %s WHERE version_id = %s""",
            (status, url, detail, version_id),
        )

    async def process_item(self, item: PolicyCheck, spider: Any = None) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.executor, self._record, check)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"atlas/checks/{result.outcome}")
        name = f"{check.document.platform} / {check.document.document_type}"
        if result.outcome == "duplicate":
            log.info("%s: already checked in this round (check %s)", name, result.check_id)
        elif result.outcome == "failed":
            log.warning(
                "%s: check failed (%s): %s",
                name,
                result.failure_reason,
                check.failure_detail or "",
            )
        elif result.outcome == "candidate":
            log.info("%s: new text, fetching it again to confirm", name)
            crawling = self.crawler.spider
            if not check.verifying and hasattr(crawling, "verify_later"):
                crawling.verify_later(check.document)
        elif result.change_id is not None:
            log.info(
                "%s: CHANGED (%s%s) -> version %s (change %s)",
                name,
                result.change_kind,
                ", verified" if result.verified else "",
                result.version_number,
                result.change_id,
            )
        else:
            log.info("%s: %s (version %s)", name, result.outcome, result.version_number)
        if result.unconfirmed_check_id is not None:
            log.warning(
                "%s: the new text of check %s did not come back: not a change (flapping?)",
                name,
                result.unconfirmed_check_id,
            )
        if (
            result.change_id is not None
            and self.archive_executor is not None
            and result.version_id is not None
        ):
            self.archive_jobs.append(
                self.archive_executor.submit(self._archive, result.version_id, check.document.url)
            )
        # The raw bodies are stored; do not keep them in memory past this point.
        for page in check.pages:
            page.release()
        return check
