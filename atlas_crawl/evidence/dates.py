"""The date a policy states about itself: "Last updated", "Effective", "Stand", ...

The date is looked for only on lines that announce it, in English, French and German,
and parsed with dateparser in the matching language, so a date elsewhere in the text
(a law's date, an example) is never taken for it.
"""

from __future__ import annotations

import re
import warnings
from datetime import date

ANNOUNCEMENT = re.compile(
    r"\b(?:(?P<en>last\s+(?:updated|modified|revised|changed)|updated(?:\s+on)?|effective(?:\s+date|"
    r"\s+as\s+of|\s+from|\s+on)?|last\s+update|date\s+of\s+last\s+revision|revised(?:\s+on)?)|"
    r"(?P<fr>derni[èe]re\s+mise\s+[àa]\s+jour|mis(?:e)?\s+[àa]\s+jour\s+le|en\s+vigueur\s+"
    r"(?:le|au|à\s+compter\s+du)|date\s+d['’]entr[ée]e\s+en\s+vigueur|version\s+du)|"
    r"(?P<de>zuletzt\s+(?:aktualisiert|geändert)|letzte\s+(?:aktualisierung|änderung)|stand|"
    r"gültig\s+ab|inkrafttreten|wirksam\s+ab))\b",
    re.I,
)
_LANG = {"en": "en", "fr": "fr", "de": "de"}
# After the announcing words: up to a line's end, where the date must be.
_REST = re.compile(r"[\s:,\-–—*_()]*(?P<rest>[^\n]{4,60})")


def stated_date(text: str, head_lines: int = 60) -> date | None:
    """The first announced date among the first lines (or the last ones, where some
    policies put it), or None."""
    lines = text.splitlines()
    candidates = lines[:head_lines] + lines[-15:]
    for line in candidates:
        for match in ANNOUNCEMENT.finditer(line):
            lang = next(k for k, v in match.groupdict().items() if v)
            rest = _REST.match(line, match.end())
            if not rest:
                continue
            parsed = _parse(rest.group("rest"), _LANG[lang])
            if parsed is not None:
                return parsed
    return None


def _parse(fragment: str, language: str) -> date | None:
    import dateparser
    from dateparser.search import search_dates

    cleaned = re.sub(r"[*_\[\]]", " ", fragment)
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned)
    settings = {"PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["month", "year"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = dateparser.parse(cleaned.strip(" ."), languages=[language], settings=settings)
        if whole is not None:
            return whole.date()
        found = search_dates(cleaned, languages=[language], settings=settings)
    if found:
        return found[0][1].date()
    return None
