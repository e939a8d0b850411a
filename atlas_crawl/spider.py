"""Spiders fetch each page of each tracked document and yield one ``PolicyCheck`` per document.

``TrackingSpider`` does the fetching for any list of ``TrackedDocument``; a platform is
a ``PolicySpider`` subclass that only declares its documents, checked when the class is
defined so that a wrong declaration fails at load time, naming its file and field.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from atlas_crawl.declarations import (
    DeclarationError,
    Document,
    Rules,
    Source,
    TrackedDocument,
    from_spider_document,
)
from atlas_crawl.extraction.extract import EXTRACTOR_VERSION, rules_in_force
from atlas_crawl.items import PolicyCheck
from atlas_crawl.rules_json import rules_to_json
from atlas_crawl.storage.recorder import Page, combined_sha256

log = logging.getLogger(__name__)

_LOGIN_WORDS = (
    "login",
    "signin",
    "sign-in",
    "sign_in",
    "logon",
    "auth",
    "sso",
    "captcha",
    "consent",
    "checkpoint",
    "challenge",
)


def redirect_failure(requested: str, final: str) -> str | None:
    """Why a redirect from ``requested`` to ``final`` means the document was not served."""
    if requested == final:
        return None
    req, fin = urlsplit(requested), urlsplit(final)
    req_path, fin_path = req.path.rstrip("/"), fin.path.rstrip("/")
    if fin_path == "" and req_path != "":
        return f"redirected to the home page {final}"
    lowered_final, lowered_req = final.lower(), requested.lower()
    for word in _LOGIN_WORDS:
        if word in lowered_final and word not in lowered_req:
            return f"redirected to a {word} page {final}"
    return None


def _headers(response: Response) -> dict[str, list[str]]:
    return {
        k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()
    }


def _request_headers(request: scrapy.Request | None) -> dict[str, list[str]] | None:
    if request is None:
        return None
    return {
        k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in request.headers.items()
    }


def _keep_document_response(holder: dict[str, Any], response: Any) -> None:
    """Playwright response handler: keep the main document's response, whose bytes as
    served are read only for a check that may make a version (they go to its WARC)."""
    request = response.request
    if (
        "response" not in holder
        and request.is_navigation_request()
        and request.frame.parent_frame is None
    ):
        holder["response"] = response


def _memento_time(response: Response) -> datetime | None:
    """The capture time an archive states for a replayed page (RFC 7089)."""
    value = response.headers.get(b"Memento-Datetime")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value.decode("latin-1")).astimezone(UTC)
    except (TypeError, ValueError):
        return None


class TrackingSpider(scrapy.Spider):
    """Checks every document of ``tracked_documents()``; one item per document.

    A document whose check found a new text (a ``candidate``) is fetched once more
    before the crawl ends, ``ATLAS_VERIFY_DELAY`` seconds after the first pass, so the
    change is confirmed, or not, by a second capture.
    """

    _to_verify: list[TrackedDocument]
    _verifying: int

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> TrackingSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._to_verify = []
        spider._verifying = 0
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    def tracked_documents(self) -> list[TrackedDocument]:
        raise NotImplementedError

    def _new_check(self, document: TrackedDocument, verifying: bool = False) -> PolicyCheck:
        return PolicyCheck(
            document=document,
            checked_at=datetime.now(UTC),
            captured_at=datetime.now(UTC),
            fetcher="http",
            user_agent=self.settings.get("USER_AGENT"),
            crawl_id=self.crawl_id,
            verifying=verifying,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.crawl_id = getattr(self, "crawl_id", None) or uuid.uuid4().hex
        self._filter_warned: set[tuple[str, str]] = set()
        due_hours = float(
            getattr(self, "due", None) or self.settings.getfloat("ATLAS_DUE_HOURS", 0)
        )
        conditional = self.settings.getbool("ATLAS_CONDITIONAL_REQUESTS", True)
        states = await self._states()
        # The extraction pipeline reads it too: a capture identical to the last settled
        # one is not extracted again.
        self.plan = states
        now = datetime.now(UTC)
        skipped = 0
        for document in self.tracked_documents():
            state = states.get((document.platform, document.document_type))
            last = state.last_success_at if state else None
            if due_hours and last and (now - last).total_seconds() < due_hours * 3600:
                skipped += 1
                continue
            self._warn_filters(document)
            validators = state if conditional and state else None
            yield self._request(self._new_check(document), 0, validators)
        if skipped:
            self.logger.info(
                "%d documents checked in the last %s hours: not due", skipped, due_hours
            )

    async def _states(self) -> dict[tuple[str, str], Any]:
        """Last checks and validators from the database (empty if it cannot be read now:
        the store pipeline then reports the database problem itself)."""
        from atlas_crawl.storage.database import connect
        from atlas_crawl.storage.plan import document_states

        def read() -> dict[tuple[str, str], Any]:
            with connect() as conn:
                return document_states(conn)

        try:
            return await asyncio.to_thread(read)
        except Exception as exc:  # an empty plan is always safe; the store reports the cause
            self.logger.warning("no crawl plan from the database (%s): checking everything", exc)
            return {}

    def verify_later(self, document: TrackedDocument) -> None:
        """Fetch ``document`` again once the first pass is over (called by the store)."""
        self._to_verify.append(document)

    def _on_idle(self) -> None:
        if not self._to_verify and not self._verifying:
            return
        delay = self.settings.getfloat("ATLAS_VERIFY_DELAY", 0.0)
        documents, self._to_verify = self._to_verify, []
        engine = self.crawler.engine
        for document in documents:
            request = self._request(self._new_check(document, verifying=True), 0)
            self._verifying += 1
            if delay > 0:
                # The asyncio reactor runs on this loop (scrapy-playwright needs it).
                asyncio.get_event_loop().call_later(delay, self._send_verification, engine, request)
            else:
                self._send_verification(engine, request)
        raise DontCloseSpider

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
            # For the shared queue of a distributed round (atlas_crawl.distributed).
            "atlas_document": document.key,
            "atlas_verifying": check.verifying,
            "atlas_seed": position == 0 and not check.verifying,
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
            served: dict[str, Any] = {}
            meta.update(
                playwright=True,
                playwright_include_page=True,
                playwright_page_goto_kwargs={
                    "wait_until": self.settings.get("ATLAS_RENDER_WAIT_UNTIL", "load")
                },
                playwright_page_event_handlers={
                    "response": functools.partial(_keep_document_response, served)
                },
                atlas_served=served,
            )
        return scrapy.Request(
            source.url,
            headers=headers or None,
            callback=self.parse_page,
            errback=self.fetch_failed,
            meta=meta,
            dont_filter=True,
        )

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        check: PolicyCheck = response.meta["check"]
        position: int = response.meta["position"]
        requested = check.document.rules.sources[position].url
        page = Page(
            requested_url=requested,
            final_url=response.url,
            http_status=response.status,
            headers=_headers(response),
            body=response.body,
            content_type=(response.headers.get(b"Content-Type") or b"").decode("latin-1"),
            request_headers=_request_headers(response.request),
        )
        check.pages.append(page)
        # The process that fetched (in a distributed round, not always the one that queued).
        check.crawl_id = self.crawl_id
        if position == 0:
            check.checked_at = datetime.now(UTC)
            check.captured_at = _memento_time(response) or check.checked_at
        page_obj = response.meta.get("playwright_page")
        if page_obj is not None:
            browser = page_obj.context.browser
            check.fetcher = f"browser chromium {browser.version if browser else ''}".strip()
            check.user_agent = await page_obj.evaluate("navigator.userAgent")
            page.rendered = True
            # A check that sees the last settled capture again can neither make, propose
            # nor confirm a version: no WARC record, so neither the bytes as served nor a
            # screenshot (each costs more than the rendering).
            rules = rules_in_force(check.document, check.captured_at)
            if self.settled_text_sha256(check, rules) is None:
                served = response.meta.get("atlas_served", {}).get("response")
                if served is not None:
                    try:
                        page.network_body = await asyncio.wait_for(served.body(), 10)
                    except Exception:  # the served bytes are extra evidence, never required
                        page.network_body = None
                if self.settings.getbool("ATLAS_SCREENSHOTS", True):
                    page.screenshot = await page_obj.screenshot(full_page=True, type="png")
            await page_obj.close()
        asked = response.request.headers if response.request is not None else {}
        if response.status == 304 and (b"If-None-Match" in asked or b"If-Modified-Since" in asked):
            check.not_modified = True
            page.body = None  # nothing new to store: the page is the last capture
        elif not 200 <= response.status < 300:
            check.fail("http error", f"HTTP {response.status} from {response.url}")
        elif reason := redirect_failure(requested, response.url):
            check.fail("redirected", reason)
        if check.failure_reason is None and position + 1 < len(check.document.rules.sources):
            yield self._request(check, position + 1)
            return
        yield check

    def settled_text_sha256(self, check: PolicyCheck, rules: Rules) -> str | None:
        """The last settled text's hash when ``check``'s pages so far are byte for byte
        the last settled capture and ``rules`` are the ones it was read with (same
        extractor too): the text is known without extracting. The recorder checks, under
        the document's lock, that the database still agrees."""
        if check.verifying:
            return None
        plan = getattr(self, "plan", None) or {}
        state = plan.get((check.document.platform, check.document.document_type))
        if state is None:
            return None
        return state.same_capture(
            combined_sha256([p.raw_sha256 for p in check.pages]),
            rules_to_json(rules),
            EXTRACTOR_VERSION,
        )

    async def fetch_failed(self, failure: Failure) -> AsyncIterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        check: PolicyCheck = request.meta["check"]
        page_obj = request.meta.get("playwright_page")
        if page_obj is not None:
            await page_obj.close()
        check.crawl_id = self.crawl_id
        if not check.pages:
            check.checked_at = check.captured_at = datetime.now(UTC)
        check.pages.append(Page(requested_url=request.url))
        if failure.check(TimeoutError, TCPTimedOutError):
            check.fail("timeout", str(failure.value))
        elif failure.check(DNSLookupError):
            check.fail("dns error", str(failure.value))
        elif failure.check(IgnoreRequest):
            check.fail("not fetched", str(failure.value) or "request ignored (robots.txt?)")
        else:
            name = type(failure.value).__name__
            reason = "timeout" if "timeout" in name.lower() else "fetch error"
            check.fail(reason, f"{name}: {failure.value}")
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

    def tracked_documents(self) -> list[TrackedDocument]:
        only = getattr(self, "documents_filter", None)
        if only:
            wanted = {d.strip() for d in str(only).split(",")}
            return [d for d in self._tracked if d.document_type in wanted]
        return list(self._tracked)
