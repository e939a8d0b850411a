"""Recognize pages that stand in for the document: captchas, bot checks, consent walls.

Such a page must never become a version. The markers are those of the common
bot-protection and consent services, plus the phrases their pages show; they are only
believed when the page holds little text, since a real policy may mention "captcha".
"""

from __future__ import annotations

import re

_MARKERS = re.compile(
    rb"g-recaptcha|h-captcha|hcaptcha\.com|cf-challenge|challenge-platform|cf-turnstile|"
    rb"_incapsula_|px-captcha|captcha-delivery|datadome|/distil_r_captcha|"
    rb"awswaf|perimeterx",
    re.I,
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
    marker = _MARKERS.search(body[:500_000])
    if marker:
        return f"bot or captcha wall ({marker.group(0).decode('latin-1')})"
    phrase = _PHRASES.search(text)
    if phrase:
        return f"bot, captcha or consent wall ({phrase.group(0)!r})"
    return None
