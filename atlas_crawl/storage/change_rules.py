"""The rules that decide what a new text is: a content or a technical change, a text too
short to be believed, a change of the stated date only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from atlas_crawl.evidence.dates import ANNOUNCEMENT, stated_date
from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.storage.records import CheckRecord, Reextract

# A new text shorter than this share of the current version is taken as a broken
# extraction (a half-rendered page, a placeholder, a selector now matching a fragment),
# not a change, until the next check finds the very same text again: a policy that
# really was cut down is then recorded, one check late, and never lost.
DEFAULT_MIN_LENGTH_RATIO = 0.25


def new_extractor(old: str | None, new: str) -> bool:
    """Whether the new text was extracted by another extractor than the old one (both
    known)."""
    return bool(old) and bool(new) and old != new


def change_kind(
    old_pages: Sequence[tuple[bytes, str]],
    old_declaration: dict[str, Any],
    old_extractor: str | None,
    rec: CheckRecord,
    reextract: Reextract | None,
) -> tuple[str, str | None]:
    """The change's kind and, for a technical one, its reason (see migration 006).

    Under the same rules and extractor a new text is a content change. Under new rules
    or a new extractor (a parser upgrade) the previous capture is read again as the new
    text was: the new text again means only the reading changed. When
    the new rules cannot read the previous capture and the old rules cannot read the
    new one, the page was redesigned with its rules and no like-for-like comparison
    exists; as in Open Terms Archive's technical upgrades the change is technical, with
    its reason, so it is not announced as a policy change on a layout's word.
    """
    same_rules = old_declaration == rec.declaration
    if reextract is None or not old_pages:
        return "content", None
    if same_rules and not new_extractor(old_extractor, rec.extractor_version):
        return "content", None
    try:
        again = reextract(old_pages, rec.declaration)
    except ExtractionError:
        again = None
    if again is not None:
        return ("technical", "reread") if again == rec.text else ("content", None)
    if same_rules:
        return "content", None  # today's extractor cannot read the old capture at all
    try:
        reextract(rec.page_bodies, old_declaration)
    except ExtractionError:
        return "technical", "redesign"
    return "content", None


def too_short(text: str, current: str, min_length_ratio: float) -> str | None:
    """Why ``text`` is not believed as the successor of ``current``, if it is not."""
    if len(text) >= min_length_ratio * len(current):
        return None
    return (
        f"extracted {len(text)} characters, the current version has "
        f"{len(current)} (under {min_length_ratio:.0%})"
    )


_HTML_ENDS = (b"</html", b"</body")
# How much of a PDF's end may follow its last %%EOF (trailing bytes some servers add).
_PDF_TAIL = 4096


def ends_properly(body: bytes, content_type: str = "") -> bool:
    """Whether a page's bytes hold the end of a whole document: an HTML page its closing
    ``</body>`` or ``</html>`` (anywhere: scripts and comments may follow them), a PDF its
    ``%%EOF`` near the end."""
    if body[:5] == b"%PDF-" or "pdf" in content_type.lower():
        return b"%%eof" in body[-_PDF_TAIL:].lower()
    lowered = body.lower()  # only for a new text: never on a routine recheck
    return any(end in lowered for end in _HTML_ENDS)


def truncation(
    new_pages: Sequence[tuple[bytes, str]],
    old_pages: Callable[[], Sequence[tuple[bytes, str]]],
) -> str | None:
    """Why the new capture is taken as cut off, if it is: a page that holds no end of
    document at all, is smaller than the same page of the current version's capture, and
    that capture did end properly (a connection cut short, a server that sent part of
    the page with a matching length). A page that merely ends oddly (scripts or comments
    after ``</html>``, markup without closing tags as the previous capture had them too)
    is no evidence. The current capture (``old_pages``) is read only when a new page
    has no end."""
    cut = [i for i, (body, ctype) in enumerate(new_pages) if not ends_properly(body, ctype)]
    if not cut:
        return None
    old = old_pages()
    for position in cut:
        if position >= len(old):
            continue
        new_size, old_size = len(new_pages[position][0]), len(old[position][0])
        if new_size < old_size and ends_properly(*old[position]):
            return (
                f"page {position + 1} ({new_size} bytes, the current version's capture "
                f"{old_size}) stops before the end of the document: no closing </body>, "
                "</html> or %%EOF, where the current version's capture had one"
            )
    return None


def _without_dates(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not ANNOUNCEMENT.search(line))


def date_flags(old_text: str, old_date: Any, new_text: str) -> tuple[bool | None, bool]:
    """(silent, date_only) of a change: the stated date did not move (None when either
    text states none); only the stated date moved."""
    new_date = stated_date(new_text)
    date_only = new_date != old_date and _without_dates(old_text) == _without_dates(new_text)
    silent = None if new_date is None or old_date is None else new_date == old_date
    return silent, date_only
