"""The crawl plan: what the spider and the pipelines share about one crawl.

One ``CrawlPlan`` per crawler (``CrawlPlan.of(crawler)``), as Scrapy's stats are: the
store pipeline fills it from the database when the crawl opens (before any request is
made); the spider reads it to decide what is due and which validators to send; the
extraction pipeline asks it whether a page needs extracting at all. Nothing calls back
into the spider: it learns which checks found a new text from its own items
(``item_scraped``), and fetches those again to confirm them.
"""

from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atlas_crawl.declarations import Rules, TrackedDocument, rules_to_json
from atlas_crawl.extraction import EXTRACTOR_VERSION
from atlas_crawl.extraction.extract import readable_rules
from atlas_crawl.model import PolicyCheck, pages_sha256
from atlas_crawl.storage.plan import DocumentState

_PLANS: weakref.WeakKeyDictionary[Any, CrawlPlan] = weakref.WeakKeyDictionary()


@dataclass
class CrawlPlan:
    crawl_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The document states read from the database when the crawl opened.
    states: dict[tuple[str, str], DocumentState] = field(default_factory=dict)
    # Documents a user untracked (``atlas-crawl untrack``): not checked.
    untracked: set[tuple[str, str]] = field(default_factory=set)
    loaded: bool = False
    # Documents this crawl set out to check (first fetches, not confirmations).
    documents_total: int = 0
    # The round this crawl's checks belong to (distributed mode, or -a round=NAME).
    round: str | None = None
    spider_name: str = ""
    # Set when the crawl must stop (the database is lost): the spider closes it.
    stop_reason: str | None = None

    @classmethod
    def of(cls, crawler: Any) -> CrawlPlan:
        """The plan of ``crawler``'s crawl (made on first use)."""
        plan = _PLANS.get(crawler)
        if plan is None:
            plan = _PLANS[crawler] = cls()
        return plan

    def load(
        self,
        states: dict[tuple[str, str], DocumentState],
        untracked: set[tuple[str, str]] | None = None,
    ) -> None:
        self.states, self.loaded = states, True
        self.untracked = untracked or set()

    def is_untracked(self, document: TrackedDocument) -> bool:
        return (document.platform, document.document_type) in self.untracked

    def state(self, document: TrackedDocument) -> DocumentState | None:
        return self.states.get((document.platform, document.document_type))

    def round_ref(self, document: TrackedDocument, verifying: bool) -> str | None:
        """The ``source_ref`` of a check in a named round: the database records one per
        round and document (and one confirmation), whichever process makes it."""
        if not self.round:
            return None
        ref = f"round:{self.spider_name}:{self.round}:{document.key}"
        return f"{ref}:verify" if verifying else ref

    def settled_text(self, check: PolicyCheck) -> tuple[Rules, str] | None:
        """The rules and the settled text's hash when ``check``'s pages are byte for
        byte the last settled capture, to be read with the same rules and extractor: the
        text is known without extracting. This is the one place that decides it; the
        recorder checks, under the document's lock, that the database still agrees."""
        if check.verifying or check.failure_reason is not None:
            return None
        state = self.state(check.document)
        if state is None:
            return None
        rules = readable_rules(check.document, check.captured_at, len(check.pages))
        if not rules:
            return None
        text_sha256 = state.same_capture(
            pages_sha256(check.pages), rules_to_json(rules[0]), EXTRACTOR_VERSION
        )
        return (rules[0], text_sha256) if text_sha256 is not None else None

    def has_pending_candidate(self, document: TrackedDocument) -> bool:
        """A new text of an earlier crawl still waits for its confirming fetch."""
        state = self.state(document)
        return state is not None and state.pending_candidate

    def is_due(self, document: TrackedDocument, due_hours: float, now: datetime) -> bool:
        state = self.state(document)
        last = state.last_success_at if state else None
        return not (due_hours and last and (now - last).total_seconds() < due_hours * 3600)
