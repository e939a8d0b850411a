"""Browser-side helpers for scrapy-playwright: what is never downloaded, and waiting for
a document that a script puts in place after the page's ``load`` event."""

from __future__ import annotations

from typing import Any

from scrapy_playwright.page import PageMethod

from atlas_crawl.declarations import Range, Source

_SKIPPED = frozenset({"image", "font", "media"})

# Resolves true once every selector matches, false when ``ms`` have passed first. A
# selector the browser cannot parse is not waited for (declarations are checked with
# lexbor, whose selector grammar may differ from Chromium's at the edges).
_WAIT_FOR_SELECTORS = """async ({selectors, ms}) => {
  const found = (s) => { try { return document.querySelector(s) !== null; }
                         catch (e) { return true; } };
  const end = Date.now() + ms;
  while (!selectors.every(found)) {
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}"""


def abort_media(request: Any) -> bool:
    """Abort image, font and media requests: they never change a policy's text."""
    return request.resource_type in _SKIPPED


def declared_selectors(source: Source) -> list[str]:
    """The CSS selectors a page must hold before its text can be read."""
    out: list[str] = []
    for selector in source.select:
        out += [selector.start, selector.end] if isinstance(selector, Range) else [selector]
    return out


def wait_for_selectors(source: Source, seconds: float) -> PageMethod | None:
    """The page method that waits (at most ``seconds``) for the declared selectors."""
    selectors = declared_selectors(source)
    if not selectors or seconds <= 0:
        return None
    return PageMethod(
        "evaluate", _WAIT_FOR_SELECTORS, {"selectors": selectors, "ms": int(seconds * 1000)}
    )


def selectors_missing(meta: dict[str, Any]) -> bool:
    """Whether the wait for the declared selectors ran out (they never appeared)."""
    methods = meta.get("playwright_page_methods") or []
    return any(getattr(m, "method", None) == "evaluate" and m.result is False for m in methods)
