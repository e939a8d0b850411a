"""Spiders fetch each page of each tracked document and yield one ``PolicyCheck`` per document.

``TrackingSpider`` does the fetching for any list of ``TrackedDocument``; a platform is
a ``PolicySpider`` subclass that only declares its documents, checked when the class is
defined so that a wrong declaration fails at load time, naming its file and field. What
the spider knows of the database comes from the crawl plan (``crawl.plan``), which the
store pipeline fills before the first request.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from atlas_crawl.crawl.addon import browser_problem
from atlas_crawl.crawl.plan import CrawlPlan
from atlas_crawl.crawl.rendering import (
    declared_selectors,
    render_meta,
    selectors_missing,
    waiting_for_browser,
)
from atlas_crawl.crawl.responses import (
    decoded_headers,
    fetch_failure,
    memento_time,
    redirect_failure,
    was_not_modified,
)
from atlas_crawl.declarations import (
    DeclarationError,
    Document,
    Source,
    TrackedDocument,
    from_spider_document,
)
from atlas_crawl.model import Page, PolicyCheck


class TrackingSpider(scrapy.Spider):
    """Checks every document of ``tracked_documents()``; one item per document.

    A document whose check found a new text (a ``candidate``) is fetched once more
    before the crawl ends, ``ATLAS_VERIFY_DELAY`` seconds after the first pass, so the
    change is confirmed, or not, by a second capture.
    """

    plan: CrawlPlan
    _verifying: int
    _to_verify: list[TrackedDocument]
    _selector_wait: float

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> TrackingSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.plan = CrawlPlan.of(crawler)
        spider.plan.spider_name = spider.name
        spider.plan.round = kwargs.get("round") or spider.plan.round
        if kwargs.get("crawl_id"):
            spider.plan.crawl_id = str(kwargs["crawl_id"])
        spider._verifying = 0
        spider._to_verify = []
        spider._selector_wait = crawler.settings.getfloat("ATLAS_RENDER_SELECTOR_WAIT", 30.0)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._item_scraped, signal=signals.item_scraped)
        return spider

    def tracked_documents(self) -> list[TrackedDocument]:
        raise NotImplementedError

    def _new_check(self, document: TrackedDocument, verifying: bool = False) -> PolicyCheck:
        now = datetime.now(UTC)
        return PolicyCheck(
            document=document,
            checked_at=now,
            captured_at=now,
            fetcher="http",
            user_agent=self.settings.get("USER_AGENT"),
            crawl_id=self.plan.crawl_id,
            verifying=verifying,
            source_ref=self.plan.round_ref(document, verifying),
        )

    async def start(self) -> AsyncIterator[scrapy.Request | PolicyCheck]:
        self._filter_warned: set[tuple[str, str]] = set()
        due_hours = float(
            getattr(self, "due", None) or self.settings.getfloat("ATLAS_DUE_HOURS", 0)
        )
        conditional = self.settings.getbool("ATLAS_CONDITIONAL_REQUESTS", True)
        if not self.plan.loaded:
            self.logger.warning("no crawl plan from the database: checking everything")
        now = datetime.now(UTC)
        skipped = 0
        tracked = self.tracked_documents()
        documents = [d for d in tracked if not self.plan.is_untracked(d)]
        untracked = len(tracked) - len(documents)
        # New texts an earlier crawl left unconfirmed (it died, or its re-fetch failed)
        # are confirmed first, before new work; that fetch is their check this time.
        # Without a browser, the documents that need one fail at once, said once.
        problem = browser_problem(self.settings.get("ATLAS_CHROMIUM_PATH"))
        waiting = waiting_for_browser(documents, problem, self.logger)
        for document in waiting:
            self.plan.documents_total += 1
            yield self._no_browser(document, problem or "")
        documents = [d for d in documents if d not in waiting]
        pending = [d for d in documents if self.plan.has_pending_candidate(d)]
        for document in pending:
            self.plan.documents_total += 1
            yield self._confirmation(document)
        for document in documents:
            if self.plan.has_pending_candidate(document):
                continue
            if not self.plan.is_due(document, due_hours, now):
                skipped += 1
                continue
            self._warn_filters(document)
            validators = self.plan.state(document) if conditional else None
            self.plan.documents_total += 1
            yield self._request(self._new_check(document), 0, validators)
        if skipped:
            self.logger.info(
                "%d documents checked in the last %s hours: not due", skipped, due_hours
            )
        if untracked:
            self.logger.info("%d untracked documents: not checked", untracked)

    def _no_browser(self, document: TrackedDocument, problem: str) -> PolicyCheck:
        """The failed check of a document that needs a browser where there is none."""
        check = self._new_check(document)
        check.pages.append(Page(requested_url=document.rules.sources[0].url))
        check.fail("no browser", problem)
        return check

    def _item_scraped(self, item: Any, **kwargs: Any) -> None:
        """A check that found a new text (a candidate) is fetched again to confirm it:
        in a shared round at once, into the round's queue, so that whichever process
        lives on finishes it; alone, once the first pass is over."""
        result = getattr(item, "result", None)
        if result is None or item.verifying:
            return
        if self.settings.get("ATLAS_REDIS_URL"):
            if result.outcome == "candidate":
                self.crawler.engine.crawl(self._confirmation(item.document))
            elif result.outcome == "duplicate" and result.pending_candidate:
                # The check was recorded by a process that died before it queued the
                # confirmation (its fetch was put back and fetched again here). Queued
                # again outside the round's seeding: should the dead process's own
                # confirmation be queued after all, the second is a recorded duplicate.
                request = self._confirmation(item.document)
                request.meta["atlas_seed"] = False
                self.crawler.engine.crawl(request)
        elif result.outcome == "candidate":
            self._to_verify.append(item.document)

    def _on_idle(self) -> None:
        """Once the first pass is over: the confirmation re-fetches."""
        documents, self._to_verify = self._to_verify, []
        if not documents and not self._verifying:
            return
        delay = self.settings.getfloat("ATLAS_VERIFY_DELAY", 0.0)
        engine = self.crawler.engine
        for document in documents:
            request = self._confirmation(document)
            self._verifying += 1
            if delay > 0:
                # The asyncio reactor runs on this loop (scrapy-playwright needs it).
                asyncio.get_event_loop().call_later(delay, self._send_verification, engine, request)
            else:
                self._send_verification(engine, request)
        raise DontCloseSpider

    def _confirmation(self, document: TrackedDocument) -> scrapy.Request:
        """The re-fetch that confirms, or not, a document's new text."""
        return self._request(self._new_check(document, verifying=True), 0)

    def _send_verification(self, engine: Any, request: scrapy.Request) -> None:
        self._verifying -= 1
        engine.crawl(request)

    def _warn_filters(self, document: TrackedDocument) -> None:
        names = sorted({f for s in document.rules.sources for f in s.filters})
        key = (document.platform, document.document_type)
        if names and key not in self._filter_warned:
            self._filter_warned.add(key)
            self.logger.warning(
                "%s / %s: JavaScript filters %s cannot run here; the text is extracted "
                "without them",
                document.platform,
                document.document_type,
                ", ".join(names),
            )

    def _request(self, check: PolicyCheck, position: int, validators: Any = None) -> scrapy.Request:
        source: Source = check.document.rules.sources[position]
        document = check.document
        meta: dict[str, Any] = {
            "check": check,
            "position": position,
            # For the shared queue of a distributed round (atlas_crawl.crawl.distributed).
            "atlas_document": document.key,
            "atlas_verifying": check.verifying,
            # Queued once per round, first fetches and confirmations alike.
            "atlas_seed": position == 0,
        }
        headers: dict[str, str] = {}
        # Conditional requests only for single plain-HTTP pages: a 304 then stands for
        # the whole document.
        if validators is not None and len(check.document.rules.sources) == 1 and not source.render:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        if source.render:
            wait_until = self.settings.get("ATLAS_RENDER_WAIT_UNTIL", "load")
            meta.update(render_meta(source, wait_until, self._selector_wait))
        return scrapy.Request(
            source.url,
            headers=headers or None,
            callback=self.parse_page,
            errback=self.fetch_failed,
            meta=meta,
            dont_filter=True,
        )

    def _stop_if_asked(self) -> None:
        if self.plan.stop_reason is not None:
            raise CloseSpider(self.plan.stop_reason)

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        self._stop_if_asked()
        check: PolicyCheck = response.meta["check"]
        position: int = response.meta["position"]
        requested = check.document.rules.sources[position].url
        page = Page(
            requested_url=requested,
            final_url=response.url,
            http_status=response.status,
            headers=decoded_headers(response) or {},
            body=response.body,
            content_type=(response.headers.get(b"Content-Type") or b"").decode("latin-1"),
            request_headers=decoded_headers(response.request),
        )
        check.pages.append(page)
        # The process that fetched (in a distributed round, not always the one that queued).
        check.crawl_id = self.plan.crawl_id
        if position == 0:
            check.checked_at = datetime.now(UTC)
            check.captured_at = memento_time(response) or check.checked_at
        page_obj = response.meta.get("playwright_page")
        if page_obj is not None:
            if selectors_missing(response.meta):
                source = check.document.rules.sources[position]
                check.fail(
                    "selector matched nothing",
                    f"{', '.join(declared_selectors(source))} did not appear within "
                    f"{self._selector_wait:g} s after the page loaded",
                )
            browser = page_obj.context.browser
            check.fetcher = f"browser chromium {browser.version if browser else ''}".strip()
            check.user_agent = await page_obj.evaluate("navigator.userAgent")
            page.rendered = True
            # A check that sees the last settled capture again can neither make, propose
            # nor confirm a version: no WARC record, so neither the bytes as served nor a
            # screenshot (each costs more than the rendering).
            if check.failure_reason is None and self.plan.settled_text(check) is None:
                served = response.meta.get("atlas_served", {}).get("response")
                if served is not None:
                    try:
                        page.network_body = await asyncio.wait_for(served.body(), 10)
                    except Exception:  # the served bytes are extra evidence, never required
                        page.network_body = None
                if self.settings.getbool("ATLAS_SCREENSHOTS", True):
                    page.screenshot = await page_obj.screenshot(full_page=True, type="png")
            await page_obj.close()
        limit = self.settings.getint("DOWNLOAD_MAXSIZE")
        if was_not_modified(response):
            check.not_modified = True
            page.body = None  # nothing new to store: the page is the last capture
        elif limit and len(response.body) > limit:  # a rendered page: the browser read it
            check.fail(
                "too large",
                f"the page holds {len(response.body)} bytes, over ATLAS_MAX_PAGE_BYTES ({limit})",
            )
            page.body = None
        elif not 200 <= response.status < 300:
            check.fail("http error", f"HTTP {response.status} from {response.url}")
        elif reason := redirect_failure(requested, response.url):
            check.fail("redirected", reason)
        if check.failure_reason is None and position + 1 < len(check.document.rules.sources):
            yield self._request(check, position + 1)
            return
        yield check

    async def fetch_failed(self, failure: Failure) -> AsyncIterator[Any]:
        self._stop_if_asked()
        request = failure.request  # type: ignore[attr-defined]
        check: PolicyCheck = request.meta["check"]
        page_obj = request.meta.get("playwright_page")
        if page_obj is not None:
            await page_obj.close()
        check.crawl_id = self.plan.crawl_id
        if not check.pages:
            check.checked_at = check.captured_at = datetime.now(UTC)
        check.pages.append(Page(requested_url=request.url))
        check.fail(*fetch_failure(failure, self.settings.getint("DOWNLOAD_MAXSIZE")))
        yield check


class PolicySpider(TrackingSpider):
    """A platform: set ``name``, ``platform`` and ``documents``; nothing else is needed."""

    platform: ClassVar[str] = ""
    documents: ClassVar[list[Document]] = []
    # robots.txt is respected unless a platform's spider says otherwise (and why).
    obey_robots_txt: ClassVar[bool] = True
    _tracked: ClassVar[list[TrackedDocument]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = inspect.getsourcefile(cls) or cls.__module__
        if not getattr(cls, "name", None):
            raise DeclarationError(f"{where}: {cls.__name__}.name: a spider needs a name")
        if not cls.platform:
            raise DeclarationError(f"{where}: {cls.__name__}.platform: a spider needs a platform")
        if not cls.documents:
            raise DeclarationError(f"{where}: {cls.__name__}.documents: declare at least one")
        tracked = []
        seen: set[str] = set()
        for i, doc in enumerate(cls.documents):
            here = f"{where}: {cls.__name__}.documents[{i}]"
            if not isinstance(doc, Document):
                raise DeclarationError(f"{here}: expected a Document, got {doc!r}")
            if doc.document_type in seen:
                raise DeclarationError(f"{here}.document_type: {doc.document_type!r} twice")
            seen.add(doc.document_type)
            tracked.append(from_spider_document(cls.platform, doc, here))
        cls._tracked = tracked
        if not cls.obey_robots_txt:
            cls.custom_settings = {**(cls.custom_settings or {}), "ROBOTSTXT_OBEY": False}

    @classmethod
    def tracked(cls) -> list[TrackedDocument]:
        """The platform's documents, as declared and checked."""
        return list(cls._tracked)

    def tracked_documents(self) -> list[TrackedDocument]:
        only = getattr(self, "documents_filter", None)
        if only:
            wanted = {d.strip() for d in str(only).split(",")}
            return [d for d in self._tracked if d.document_type in wanted]
        return list(self._tracked)
