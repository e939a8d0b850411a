"""The data that flows from the spider through the pipelines: one ``PolicyCheck`` per
check of a document, with the ``Page``s it fetched. Plain data, no storage."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atlas_crawl.declarations import Rules, TrackedDocument


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def combined_sha256(hashes: Sequence[str | None]) -> str | None:
    """A check's raw hash: its page's, or for a combined document the hash of its pages'."""
    if not hashes or any(h is None for h in hashes):
        return hashes[0] if len(hashes) == 1 else None
    if len(hashes) == 1:
        return hashes[0]
    return sha256_hex("\n".join(h for h in hashes if h))


@dataclass
class Page:
    """One fetched page of a check, as the evidence keeps it."""

    requested_url: str
    final_url: str | None = None
    http_status: int | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = ""
    # Kept for the WARC capture only (not in the database).
    request_headers: dict[str, list[str]] | None = None
    rendered: bool = False  # body is the browser's rendered DOM
    network_body: bytes | None = None  # for a rendered page, the document as served
    screenshot: bytes | None = None
    # The body last hashed and its hash: a 600 KB body is hashed once, not per use.
    _hashed: tuple[bytes, str] | None = field(default=None, repr=False, compare=False)

    @property
    def raw_sha256(self) -> str | None:
        if self.body is None:
            return None
        if self._hashed is None or self._hashed[0] is not self.body:
            self._hashed = (self.body, sha256_hex(self.body))
        return self._hashed[1]

    def release(self) -> None:
        """Drop the bytes (once stored): the check's record keeps only its hashes."""
        self.body = self.network_body = self.screenshot = None
        self._hashed = None


def pages_sha256(pages: Sequence[Page]) -> str | None:
    """The raw hash of a check made of ``pages``."""
    return combined_sha256([p.raw_sha256 for p in pages])


@dataclass
class PolicyCheck:
    """One check of one document: made by the spider, read by the extraction pipeline,
    recorded by the store pipeline."""

    document: TrackedDocument
    checked_at: datetime
    captured_at: datetime
    fetcher: str
    user_agent: str | None
    pages: list[Page] = field(default_factory=list)
    crawl_id: str | None = None
    verifying: bool = False  # a second fetch to confirm a candidate change
    not_modified: bool = False  # the server answered 304 to a conditional request
    # A check that belongs to a named round is recorded once per round (crawl.plan).
    source_ref: str | None = None
    # Set by the extraction pipeline, or by the spider when fetching failed.
    rules: Rules | None = None
    text: str | None = None
    # Instead of a text: the pages are the last settled capture's (crawl.plan).
    same_capture_text_sha256: str | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None
    # Set by the WARC pipeline: writes the pages of the check's record (anything with
    # ``pages`` and ``checked_at``) as WARC records, when the recorder decides the check
    # makes, proposes or confirms a version.
    write_warc: Callable[[Any], list[Any]] | None = field(default=None, repr=False)
    # Set by the store pipeline: what the recorder made of the check.
    result: Any = None

    def fail(self, reason: str, detail: str = "") -> None:
        if self.failure_reason is None:
            self.failure_reason, self.failure_detail = reason, detail or None
