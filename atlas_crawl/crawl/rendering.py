"""Browser-side helpers for scrapy-playwright: what is never downloaded, waiting for a
document that a script puts in place after the page's ``load`` event, and the documents
that wait when there is no browser."""

from __future__ import annotations

import functools
from typing import Any

from scrapy_playwright.page import PageMethod

from atlas_crawl.crawl.responses import keep_document_response
from atlas_crawl.declarations import Range, Source, TrackedDocument

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


def waiting_for_browser(
    documents: list[TrackedDocument], problem: str | None, logger: Any
) -> list[TrackedDocument]:
    """The documents that need a browser when there is none (``problem`` says why), said
    in one line for the whole crawl."""
    if problem is None:
        return []
    waiting = [d for d in documents if any(s.render for s in d.rules.sources)]
    if waiting:
        names = ", ".join(f"{d.platform} / {d.document_type}" for d in waiting[:5])
        more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        logger.error(
            "%d document(s) need a browser and were not checked (%s%s): %s",
            len(waiting),
            names,
            more,
            problem,
        )
    return waiting


def render_meta(source: Source, wait_until: str, selector_wait: float) -> dict[str, Any]:
    """The request meta that sends a page through the browser: loaded until
    ``wait_until``, then waited for its declared selectors, the main document's response
    kept (``atlas_served``) for the bytes as served."""
    served: dict[str, Any] = {}
    meta: dict[str, Any] = {
        "playwright": True,
        "playwright_include_page": True,
        "playwright_page_goto_kwargs": {"wait_until": wait_until},
        "playwright_page_event_handlers": {
            "response": functools.partial(keep_document_response, served)
        },
        "atlas_served": served,
    }
    wait = wait_for_selectors(source, selector_wait)
    if wait is not None:
        meta["playwright_page_methods"] = [wait]
    return meta
