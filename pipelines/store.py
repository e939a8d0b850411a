"""Hash, compare with the stored versions and record the check, its evidence and any change.

The database is opened (and brought up to date, once per process) when the pipeline is
built, before the crawl starts: an unreachable or misconfigured database refuses the run
in one line naming it. The crawl plan is read from it then. All database work runs on a few
dedicated threads (``ATLAS_DB_CONNECTIONS``), each with its own connection, so the
crawl's event loop never blocks on it; checks of one document are serialized by the
recorder's row lock. A new text is confirmed by a second fetch before it becomes a
change (``ATLAS_VERIFY_CHANGES``): the spider sends it, learning of the new text from
this pipeline's result on the item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from atlas_crawl.crawl.plan import CrawlPlan
from atlas_crawl.crawl.refusal import refuse
from atlas_crawl.declarations import rules_to_json
from atlas_crawl.extraction import EXTRACTOR_VERSION
from atlas_crawl.extraction.check import extract_check
from atlas_crawl.extraction.extract import reextract_stored
from atlas_crawl.model import PolicyCheck
from atlas_crawl.storage.database import Database, DatabaseUnavailable, database, one_line
from atlas_crawl.storage.migrate import MigrationError, ensure_schema
from atlas_crawl.storage.plan import document_states, untracked_documents
from atlas_crawl.storage.recorder import (
    DEFAULT_MIN_LENGTH_RATIO,
    CheckRecord,
    CheckResult,
    StalePlan,
    already_recorded,
    record_check,
)


class DatabaseLost(Exception):
    """The database stayed away longer than ATLAS_DB_OUTAGE_WAIT."""


log = logging.getLogger(__name__)


def check_record(check: PolicyCheck) -> CheckRecord:
    """What the recorder needs of a check."""
    rules = check.rules or check.document.rules
    return CheckRecord(
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
        source_ref=check.source_ref,
        same_capture_text_sha256=check.same_capture_text_sha256,
    )


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.plan = CrawlPlan.of(crawler)
        self.min_length_ratio = settings.getfloat(
            "ATLAS_MIN_LENGTH_RATIO", DEFAULT_MIN_LENGTH_RATIO
        )
        self.verify = settings.getbool("ATLAS_VERIFY_CHANGES", True)
        self.settings = settings
        self.database: Database | None = None
        # Several connections hide the round trips of many small transactions.
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, settings.getint("ATLAS_DB_CONNECTIONS", 4)),
            thread_name_prefix="atlas-db",
        )
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._connections_lock = threading.Lock()
        # A database gone for longer than this stops the crawl (ATLAS_DB_OUTAGE_WAIT).
        self.outage_wait = settings.getfloat("ATLAS_DB_OUTAGE_WAIT", 30.0)
        self.lost: str | None = None
        self.unrecorded = 0
        self._open()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    @property
    def conn(self) -> psycopg.Connection:
        """This database thread's own connection."""
        conn: psycopg.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            assert self.database is not None
            conn = self._local.conn = self.database.connect(autocommit=True)
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _open(self) -> None:
        """Before the crawl starts: the schema brought up to date, the plan read. A
        database that cannot be used refuses the crawl in one line (and the process
        exits non-zero) before anything is fetched."""
        try:
            self.database = database(self.settings)
            with self.database.connect(autocommit=True) as conn:
                applied = ensure_schema(conn)
                self.plan.load(document_states(conn), untracked_documents(conn))
        except (DatabaseUnavailable, MigrationError, psycopg.Error) as exc:
            message = one_line(exc)
            raise refuse(log, f"database unavailable, nothing was fetched: {message}") from None
        if applied:
            log.info("database schema upgraded: %s", ", ".join(applied))

    async def close_spider(self, spider: Any = None) -> None:
        # With the database lost, a thread may hang on a dead socket: do not wait for it.
        self.executor.shutdown(wait=self.lost is None, cancel_futures=self.lost is not None)
        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.close()
        if self.lost is not None:
            where = self.database.source if self.database else "the database"
            log.error(
                "database lost (%s): %s; %d check(s) were not recorded",
                where,
                self.lost,
                self.unrecorded,
            )
            if self.stats is not None:
                self.stats.set_value("atlas/unrecorded", self.unrecorded)

    def _record(self, check: PolicyCheck) -> CheckResult:
        record = record_check(
            self.conn,
            check_record(check),
            self.min_length_ratio,
            reextract_stored,
            self.verify,
            check.write_warc,
        )
        return record

    def _record_or_reread(self, check: PolicyCheck) -> CheckResult:
        try:
            return self._record(check)
        except StalePlan:
            # Another process or crawl moved the document on since the plan was read.
            check.same_capture_text_sha256 = None
            extract_check(check)
            return self._record(check)

    def _record_through_outages(self, check: PolicyCheck) -> CheckResult:
        """Record, riding out a database that goes away for up to ATLAS_DB_OUTAGE_WAIT
        seconds (reconnecting with growing pauses); past that, DatabaseLost."""
        if self.lost is not None:
            raise DatabaseLost(self.lost)
        deadline, pause = None, 0.25
        while True:
            try:
                if deadline is not None:
                    # The last try may have committed before its connection dropped.
                    done = already_recorded(self.conn, check_record(check))
                    if done is not None:
                        return done
                return self._record_or_reread(check)
            except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable) as exc:
                # The connection broke, or reconnecting failed: wait, then try again.
                self._drop_connection()
                now = time.monotonic()
                deadline = deadline or now + self.outage_wait
                if now >= deadline:
                    self.lost = self.lost or one_line(exc)
                    raise DatabaseLost(self.lost) from None
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, 4.0)

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._connections_lock:
                self._connections.remove(conn)
            with contextlib.suppress(Exception):
                conn.close()

    async def process_item(self, item: PolicyCheck, spider: Any = None) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        loop = asyncio.get_running_loop()
        try:
            # A watchdog too: a connection can hang without an error (a half-open socket).
            result = await asyncio.wait_for(
                loop.run_in_executor(self.executor, self._record_through_outages, check),
                self.outage_wait + 10,
            )
        except (DatabaseLost, TimeoutError):
            self.lost = self.lost or f"no answer for {self.outage_wait + 10:g} s"
            self.unrecorded += 1
            if self.plan.stop_reason is None:
                # Stop fetching what cannot be recorded (the spider closes the crawl at
                # its next response); the crawl ends non-zero.
                self.plan.stop_reason = "database lost"
                if self.stats is not None:  # the exit status says why (crawl.outcome)
                    self.stats.set_value("atlas/stop_reason", "database lost")
                log.error(
                    "database lost (%s): %s; stopping the crawl",
                    self.database.source if self.database else "?",
                    self.lost,
                )
            raise DropItem("not recorded: the database is lost") from None
        finally:
            # Stored, or never to be: do not keep the raw bodies in memory past this point.
            for page in check.pages:
                page.release()
        check.result = result
        if self.stats is not None:
            self.stats.inc_value(f"atlas/checks/{result.outcome}")
            if result.failure_reason is not None:
                self.stats.inc_value(f"atlas/failed/{result.failure_reason}")
            if result.change_id is not None:
                self.stats.inc_value(f"atlas/changes/{result.change_kind}")
        _log_result(check, result)
        return check


def _log_result(check: PolicyCheck, result: CheckResult) -> None:
    name = f"{check.document.platform} / {check.document.document_type}"
    if result.outcome == "duplicate":
        log.info("%s: already checked in this round (check %s)", name, result.check_id)
    elif result.outcome == "failed":
        log.warning(
            "%s: check failed (%s): %s", name, result.failure_reason, check.failure_detail or ""
        )
    elif result.outcome == "candidate":
        log.info("%s: new text, fetching it again to confirm", name)
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
