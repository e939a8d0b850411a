"""Recognize pages that stand in for the document: captchas, bot checks, consent walls.

Such a page must never become a version. The markers are those of the common
bot-protection and consent services, plus the phrases their pages show; they are only
believed when the page holds little text, since a real policy may mention "captcha".
"""

from __future__ import annotations

import re

# Found by plain substring search in the lowered body: a case-insensitive regular
# expression of alternatives took 30 ms on a 340 KB page, this takes well under one.
_MARKERS = (
    b"g-recaptcha",
    b"h-captcha",
    b"hcaptcha.com",
    b"cf-challenge",
    b"challenge-platform",
    b"cf-turnstile",
    b"_incapsula_",
    b"px-captcha",
    b"captcha-delivery",
    b"datadome",
    b"/distil_r_captcha",
    b"awswaf",
    b"perimeterx",
)
_PHRASES = re.compile(
    r"verify (?:that )?you are (?:a )?human|are you a robot|not a robot|unusual traffic|"
    r"checking your browser|enable javascript and cookies to continue|access denied|"
    r"request (?:was )?blocked|attention required|just a moment\.\.\.|"
    r"please (?:complete|solve) the (?:security check|captcha)|"
    r"before you continue to|we value your privacy|accept (?:all )?cookies to continue",
    re.I,
)
# Below this many characters of text a page is too thin to be a policy.
THIN_TEXT = 2000


def wall_reason(body: bytes, text: str) -> str | None:
    """A short description of the wall this page is, or None."""
    if len(text) >= THIN_TEXT:
        return None
    head = body[:500_000]
    lowered = head.lower()
    found = [(at, len(m)) for m in _MARKERS if (at := lowered.find(m)) >= 0]
    if found:
        at, length = min(found)
        return f"bot or captcha wall ({head[at : at + length].decode('latin-1')})"
    phrase = _PHRASES.search(text)
    if phrase:
        return f"bot, captcha or consent wall ({phrase.group(0)!r})"
    return None
