"""PDF memos of a provision and of a change: the page's own HTML (the same template, the
same facts) with its print stylesheet, laid out by WeasyPrint, which needs no browser.

Nothing is fetched while a memo is made: the page's stylesheets are read from the
package and every other address is refused, so a policy's links stay links and nothing
in a page can make the server reach another host. Policy text reaches the memo escaped,
as it reaches the page.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib import resources
from typing import Any

BASE = "http://atlas-crawl.invalid/"  # the memo's own origin: only its static files exist
_STATIC = ("site.css", "print.css")


class MemoUnavailable(RuntimeError):
    """WeasyPrint, or the Pango library it lays text out with, is not installed."""


def memo_context(record_id: str, capture_sha256: str, version_record_id: str) -> dict[str, Any]:
    """What the memo's heading line says: which record, when, from which capture."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {"record_id": record_id, "made_at": made, "capture_sha256": capture_sha256,
            "version_record_id": version_record_id}  # fmt: skip


def _fetch_static(url: str, headers: Any = None) -> Any:
    from weasyprint.urls import URLFetcherResponse

    name = url.removeprefix(BASE + "static/")
    if not url.startswith(BASE + "static/") or name not in _STATIC:
        raise ValueError(f"a memo fetches nothing: {url[:200]}")
    body = (resources.files("atlas_crawl.web") / "static" / name).read_bytes()
    return URLFetcherResponse(url, body=body, headers={"Content-Type": "text/css"})


def html_to_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise MemoUnavailable(
            f"PDF memos need WeasyPrint and the Pango library ({exc}); "
            "on Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0"
        ) from None

    class StaticOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            return _fetch_static(url, headers)

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # refused links are no news
    document = HTML(string=html, base_url=BASE, url_fetcher=StaticOnly())
    return bytes(document.write_pdf())
