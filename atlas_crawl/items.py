"""The item that flows through the pipelines: one check of one document."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from atlas_crawl.declarations import Rules, TrackedDocument
from atlas_crawl.storage.recorder import Page


@dataclass
class PolicyCheck:
    document: TrackedDocument
    checked_at: datetime
    captured_at: datetime
    fetcher: str
    user_agent: str | None
    pages: list[Page] = field(default_factory=list)
    crawl_id: str | None = None
    verifying: bool = False  # a second fetch to confirm a candidate change
    not_modified: bool = False  # the server answered 304 to a conditional request
    # Set by the extraction pipeline, or by the spider when fetching failed.
    rules: Rules | None = None
    text: str | None = None
    # Instead of a text: the pages are the last settled capture's (storage.plan).
    same_capture_text_sha256: str | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None

    def fail(self, reason: str, detail: str = "") -> None:
        if self.failure_reason is None:
            self.failure_reason, self.failure_detail = reason, detail or None
