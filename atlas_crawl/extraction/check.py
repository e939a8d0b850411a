"""A check's text from its fetched pages: the one reading of a ``PolicyCheck`` that the
extraction pipeline and the recorder's stale-plan fallback share."""

from __future__ import annotations

from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.extraction.extract import extract_at
from atlas_crawl.model import PolicyCheck


def extract_check(check: PolicyCheck) -> None:
    """Sets the check's rules and text, read with the rules of its time (or later ones
    that work); a page nothing can be extracted from makes it a failed check."""
    pages = [(p.body or b"", p.content_type) for p in check.pages]
    try:
        check.rules, check.text = extract_at(check.document, pages, check.captured_at)
    except ExtractionError as exc:
        check.fail(exc.reason, exc.detail)
