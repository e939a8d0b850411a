"""What the recorder is handed (``CheckRecord``) and what it answers (``CheckResult``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from atlas_crawl.evidence.warc import WarcRef
from atlas_crawl.model import Page, pages_sha256, sha256_hex


class StalePlan(Exception):
    """A check skipped extraction because its pages were the last settled capture's, but
    the database has moved on since the crawl read its plan: extract and record again."""


@dataclass
class CheckRecord:
    platform: str
    document_type: str
    url: str
    declaration: dict[str, Any]
    checked_at: datetime
    captured_at: datetime
    fetcher: str
    user_agent: str | None
    pages: list[Page]
    text: str | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None
    crawl_id: str | None = None
    extractor_version: str = ""
    source_ref: str | None = None  # where an imported capture came from, or its round
    not_modified: bool = False  # a 304 answer to a conditional request: no new capture
    # The pages are byte for byte the last settled capture's, read with the same rules
    # and extractor: the text is not extracted again, this hash of it stands instead.
    same_capture_text_sha256: str | None = None
    text_sha256_override: str | None = None  # a 304 check stands for the current text
    # A capture imported from an archive (backfill): its changes are history, not news,
    # and raise no alert.
    imported: bool = False

    @property
    def raw_sha256(self) -> str | None:
        """The body's hash; for a combined document, the hash of its pages' hashes."""
        return pages_sha256(self.pages)

    @property
    def page_bodies(self) -> list[tuple[bytes, str]]:
        """``(body, content_type)`` of the pages that have a body, in order."""
        return [(p.body, p.content_type) for p in self.pages if p.body is not None]

    @property
    def primary_raw_sha256(self) -> str | None:
        """The first page's capture: what a version of a combined document points at."""
        return next((p.raw_sha256 for p in self.pages if p.body is not None), None)

    @property
    def text_sha256(self) -> str | None:
        if self.text is None:
            return self.text_sha256_override
        return sha256_hex(self.text)


@dataclass(frozen=True)
class CheckResult:
    check_id: int
    outcome: str
    version_id: int | None = None
    version_number: int | None = None
    change_id: int | None = None
    failure_reason: str | None = None
    change_kind: str | None = None
    verified: bool = False  # this check confirmed a candidate: the change is recorded
    unconfirmed_check_id: int | None = None  # a candidate this check did not confirm
    # A duplicate of a check recorded earlier in the round that is still a candidate:
    # its confirming re-fetch may have died with the process that recorded it.
    pending_candidate: bool = False


# Re-extracts stored pages ``(body, content_type)`` with a stored declaration; used to
# tell a technical change (new rules, same page) from a content change.
Reextract = Callable[[Sequence[tuple[bytes, str]], dict[str, Any]], str]

# Writes the WARC records of a check's pages (those with a body), in order.
WarcWriter = Callable[[CheckRecord], list[WarcRef]]
