"""What the spider reads off a response: headers, an archive's capture time, whether a
redirect means the document was not served, and the main document of a rendered page."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

_LOGIN_WORDS = (
    "login",
    "signin",
    "sign-in",
    "sign_in",
    "logon",
    "auth",
    "sso",
    "captcha",
    "consent",
    "checkpoint",
    "challenge",
)


def redirect_failure(requested: str, final: str) -> str | None:
    """Why a redirect from ``requested`` to ``final`` means the document was not served."""
    if requested == final:
        return None
    req, fin = urlsplit(requested), urlsplit(final)
    req_path, fin_path = req.path.rstrip("/"), fin.path.rstrip("/")
    if fin_path == "" and req_path != "":
        return f"redirected to the home page {final}"
    lowered_final, lowered_req = final.lower(), requested.lower()
    for word in _LOGIN_WORDS:
        if word in lowered_final and word not in lowered_req:
            return f"redirected to a {word} page {final}"
    return None


def decoded_headers(message: Response | scrapy.Request | None) -> dict[str, list[str]] | None:
    """A response's or request's headers as text (None without a message)."""
    if message is None:
        return None
    return {
        k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in message.headers.items()
    }


def keep_document_response(holder: dict[str, Any], response: Any) -> None:
    """Playwright response handler: keep the main document's response, whose bytes as
    served are read only for a check that may make a version (they go to its WARC)."""
    request = response.request
    if (
        "response" not in holder
        and request.is_navigation_request()
        and request.frame.parent_frame is None
    ):
        holder["response"] = response


def memento_time(response: Response) -> datetime | None:
    """The capture time an archive states for a replayed page (RFC 7089)."""
    value = response.headers.get(b"Memento-Datetime")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value.decode("latin-1")).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def was_not_modified(response: Response) -> bool:
    """A 304 answer to a request that asked conditionally."""
    asked = response.request.headers if response.request is not None else {}
    return response.status == 304 and (b"If-None-Match" in asked or b"If-Modified-Since" in asked)


def too_large(error: BaseException, limit: int) -> str | None:
    """Why a failed download was a page over the size limit, if it was: Scrapy cancels a
    body announced or received over ``DOWNLOAD_MAXSIZE``, and stops decompressing one that
    grows past it (a gzip bomb), each with its own message."""
    message = str(error)
    over_limit = isinstance(error, DownloadCancelledError) and "download max size" in message
    bomb = isinstance(error, IgnoreRequest) and "DOWNLOAD_MAXSIZE" in message
    if not (over_limit or bomb):
        return None
    how = "once decompressed" if bomb else "as sent"
    return (
        f"the page is larger than ATLAS_MAX_PAGE_BYTES ({limit} bytes) {how}; "
        f"reading stopped there ({message.split(' in request ')[0].split(' because ')[-1]})"
    )


def fetch_failure(failure: Failure, limit: int) -> tuple[str, str]:
    """The reason and detail of a failed check from a download that failed."""
    oversize = too_large(failure.value, limit)
    if oversize is not None:
        return "too large", oversize
    if failure.check(TimeoutError, TCPTimedOutError):
        return "timeout", str(failure.value)
    if failure.check(DNSLookupError):
        return "dns error", str(failure.value)
    if failure.check(IgnoreRequest):
        return "not fetched", str(failure.value) or "request ignored (robots.txt?)"
    name = type(failure.value).__name__
    reason = "timeout" if "timeout" in name.lower() else "fetch error"
    return reason, f"{name}: {failure.value}"
