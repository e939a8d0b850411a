"""Stable text: the same policy text always gives the same bytes, hence the same hash."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

# Invisible characters that pages sprinkle in or drop between builds.
# NUL too: a glyph a PDF does not map; PostgreSQL text cannot hold it.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\x00"
_BLANK_RUNS = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, no invisible characters, no trailing spaces, single blank lines, one final newline."""
    text = unicodedata.normalize("NFC", text)
    for invisible in _INVISIBLE:
        if invisible in text:  # str.replace: far faster than str.translate with a table
            text = text.replace(invisible, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Line by line: a multiline "spaces at end of line" regex is quadratic on long lines.
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_RUNS.sub("\n\n", text).strip("\n")
    return text + "\n" if text else ""


# Query parameters that identify a visit or a campaign, never a document.
_TRACKING_PARAMS = re.compile(
    r"^(?:utm_\w+|gclid|gclsrc|dclid|fbclid|msclkid|mc_cid|mc_eid|_ga|_gl|_hsenc|_hsmi|"
    r"hsctatracking|trk|trkcampaign|trackingid|igshid|yclid|ref_src|ref_url|s_cid|"
    r"cmpid|icid|mkt_tok|oly_anon_id|oly_enc_id|vero_id|wt\.\w+|__hs\w+)$",
    re.I,
)


@lru_cache(maxsize=8192)  # pure; pages and their next captures repeat their links
def clean_url(href: str, base: str) -> str | None:
    """An absolute link target without tracking parameters; None for non-links.

    A same-document link stays a fragment (``#section-3``), however it was written: it
    names a place in the policy, not an address, and reads the same in a capture from
    a mirror, an archive or a replay."""
    href = href.strip()
    if "&" in href:
        # Entity-encoded targets (a common mailto: obfuscation) encode differently per build.
        href = html.unescape(href)
    if not href or href.startswith(("javascript:", "data:")) or href == "#":
        return None
    if href.startswith("#"):
        return href
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:
        return href
    if parts.fragment and urldefrag(absolute).url == urldefrag(base).url:
        return "#" + parts.fragment
    if parts.query:
        kept = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
        parts = parts._replace(query=urlencode(kept, doseq=True))
    return urlunsplit(parts)
