"""bytes + declaration -> normalized Markdown text, or an ``ExtractionError`` saying why not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from atlas_crawl.declarations import Rules, Source, TrackedDocument
from atlas_crawl.extraction.cleaning import clean
from atlas_crawl.extraction.dom import parse_html, root_of
from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.extraction.markdown import to_markdown
from atlas_crawl.extraction.normalize import normalize_text
from atlas_crawl.extraction.pdf import is_pdf, pdf_text
from atlas_crawl.extraction.selection import apply_remove, apply_select
from atlas_crawl.extraction.walls import placeholder_reason, wall_reason

# Bump when a change to extraction can change the text of an unchanged page: versions
# record it, so re-extraction can tell technical changes from content changes.
EXTRACTOR_VERSION = "2"  # 2: HTML5 tree construction (lexbor), links as a browser resolves them


def _base_url(doc: LexborHTMLParser, declared: str) -> str:
    """What relative links resolve against, as in a browser: the page's ``<base href>``
    read against the document's declared location (never the address the bytes came
    from, which differs for mirrors, archives and replays)."""
    base = doc.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    if not href or not href.strip():
        return declared
    try:
        return urljoin(declared, href.strip())
    except ValueError:
        return declared


def extract_source(body: bytes, source: Source, content_type: str = "") -> str:
    """The normalized text of one page under one source's rules."""
    if not body.strip():
        raise ExtractionError("empty response", "the response body is empty")
    if is_pdf(body, content_type):
        text = normalize_text(pdf_text(body))
    else:
        doc = parse_html(body, content_type)
        # Most pages have no <base>: two byte searches spare a selector query.
        maybe_base = b"<base" in body or b"<BASE" in body
        declared = source.declared_location
        base_url = _base_url(doc, declared) if maybe_base else declared
        try:
            apply_remove(doc, source.remove)
            parts = apply_select(doc, source.select)
        except ExtractionError:
            wall = wall_reason(body, normalize_text(root_of(doc).text(separator=" ")))
            if wall:
                raise ExtractionError("blocked", wall) from None
            raise
        for part in parts:
            clean(part)
        text = normalize_text(to_markdown(parts, base_url))
    wall = wall_reason(body, text)
    if wall:
        raise ExtractionError("blocked", wall)
    if not text.strip():
        raise ExtractionError("empty extraction", "the selected content has no text")
    placeholder = placeholder_reason(text)
    if placeholder:
        raise ExtractionError("placeholder", placeholder)
    return text


def extract_document(pages: Sequence[tuple[bytes, str]], rules: Rules) -> str:
    """The text of a document from its pages (``(body, content_type)`` per source)."""
    if len(pages) != len(rules.sources):
        raise ValueError(f"{len(pages)} pages for {len(rules.sources)} sources")
    texts = [
        extract_source(body, source, content_type)
        for (body, content_type), source in zip(pages, rules.sources, strict=True)
    ]
    # Each text is normalized already; joined ones need it again where they meet.
    return texts[0] if len(texts) == 1 else normalize_text("\n\n".join(texts))


def readable_rules(document: TrackedDocument, captured_at: datetime, pages: int) -> list[Rules]:
    """The rules a capture of ``pages`` pages taken at ``captured_at`` may be read with:
    those in force then, followed by the later ones."""
    return [r for r in document.rules_since(captured_at) if len(r.sources) == pages]


def extract_at(
    document: TrackedDocument, pages: Sequence[tuple[bytes, str]], captured_at: datetime
) -> tuple[Rules, str]:
    """The rules used and the text of a capture taken at ``captured_at``.

    Old captures (replays, backfills) are read with the rules of their time; when those
    find nothing, with the later ones (``validUntil`` is when a declaration was fixed,
    which can be after the page changed). Only rules for as many pages as were fetched
    apply. Raises the first rules' ``ExtractionError`` when none works.
    """
    candidates = readable_rules(document, captured_at, len(pages))
    if not candidates:
        raise ExtractionError("no rules", f"no declaration rules for {len(pages)} page(s)")
    first_error: ExtractionError | None = None
    for rules in candidates:
        try:
            return rules, extract_document(pages, rules)
        except ExtractionError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def reextract_stored(pages: Sequence[tuple[bytes, str]], declaration: dict[str, Any]) -> str:
    """Stored pages read with a stored (JSON) declaration: technical-change detection."""
    from atlas_crawl.declarations import parse_ota_rules

    rules = parse_ota_rules(declaration, "stored declaration")
    if len(rules.sources) != len(pages):
        raise ExtractionError(
            "no rules",
            f"the declaration has {len(rules.sources)} page(s), the capture {len(pages)}",
        )
    return extract_document(pages, rules)
