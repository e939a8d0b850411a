"""Recognize pages that stand in for the document: captchas, bot checks, consent walls.

Such a page must never become a version, but a real policy must never be taken for one.
A wall is judged by what its reader sees: a known challenge title, a challenge widget in
the page (a captcha box, a challenge form, a captcha frame), or a challenge phrase in its
text; and only when the page holds little text, since a real policy may mention
"captcha". Scripts are not evidence: bot-protection services load theirs into ordinary
pages (Cloudflare's ``/cdn-cgi/challenge-platform/`` script on every page it serves), so
``<script>`` elements are set aside before the markup is searched.
"""

from __future__ import annotations

import re

# Challenge widgets, as they stand in the markup a reader is shown (class or id of the
# widget, address of its frame). Found by plain substring search in the lowered markup
# without scripts: a case-insensitive regular expression of alternatives took 30 ms on
# a 340 KB page, this takes well under one.
_MARKERS = (
    b"g-recaptcha",
    b"h-captcha",
    b"hcaptcha.com",
    b"cf-challenge",
    b"challenge-form",
    b"challenge-stage",
    b"cf-turnstile",
    b"_incapsula_resource",
    b"px-captcha",
    b"captcha-delivery.com",
    b"/distil_r_captcha",
    b"awswaf-captcha",
    b"captcha-container",
)
# Titles of the challenge and block pages of the common services.
_TITLES = re.compile(
    rb"<title[^>]*>\s*(just a moment\.*|attention required!?[^<]*|access denied|"
    rb"are you a robot\??|robot or human\??|human verification|verify you are human|"
    rb"checking your browser[^<]*|pardon our interruption\.*|ddos-guard|"
    rb"request unsuccessful[^<]*|security check[^<]*|one more step[^<]*)\s*</title",
    re.I,
)
_PHRASES = re.compile(
    r"verify (?:that )?you are (?:a )?human|are you a robot|not a robot|unusual traffic|"
    r"checking your browser|enable javascript and cookies to continue|access denied|"
    r"request (?:was )?blocked|attention required|just a moment\.\.\.|"
    r"please (?:complete|solve) the (?:security check|captcha)|"
    r"before you continue to|accept (?:all )?cookies to continue",
    re.I,
)
_SCRIPTS = re.compile(rb"<script\b[^>]*>.*?(?:</script\s*>|\Z)", re.I | re.S)
# Below this many characters of text a page is too thin to be a policy.
THIN_TEXT = 2000
# What is searched of a page: challenge pages are small, and their widget comes early.
_HEAD = 500_000


def _visible_markup(body: bytes) -> bytes:
    """The page's markup without its scripts (their addresses and code), lowered."""
    return _SCRIPTS.sub(b" ", body[:_HEAD]).lower()


def wall_reason(body: bytes, text: str) -> str | None:
    """A short description of the wall this page is, and the evidence, or None."""
    if len(text) >= THIN_TEXT:
        return None
    markup = _visible_markup(body)
    title = _TITLES.search(markup)
    if title:
        named = " ".join(title.group(1).decode("utf-8", "replace").split())
        return f"bot or captcha wall (page title {named!r})"
    found = [(at, len(m)) for m in _MARKERS if (at := markup.find(m)) >= 0]
    if found:
        at, length = min(found)
        return f"bot or captcha wall (challenge widget {markup[at : at + length].decode()!r})"
    phrase = _PHRASES.search(text)
    if phrase:
        return f"bot, captcha or consent wall (the page says {phrase.group(0)!r})"
    return None


# What a page shows while its scripts have not run: never a document's text.
_PLACEHOLDER = re.compile(
    r"^\W*(?:loading|chargement|wird geladen|cargando|caricamento|please wait)\b|"
    r"(?:enable|activate|turn on) javascript|javascript (?:is )?(?:required|disabled)|"
    r"you need to enable javascript",
    re.I | re.M,
)
# A placeholder is a line or two: a longer text that says so is a policy mentioning it.
PLACEHOLDER_TEXT = 300


def placeholder_reason(text: str) -> str | None:
    """What the page shows instead of a document when its text is only a script's
    placeholder ("Loading…", "Please enable JavaScript"), or None."""
    if len(text) >= PLACEHOLDER_TEXT:
        return None
    found = _PLACEHOLDER.search(text)
    if found is None:
        return None
    return (
        f"the page shows {found.group(0).strip()!r} instead of a document: its text is "
        "made by scripts (declare executeClientScripts to render it)"
    )
