"""A crawl refused before it starts (no database, a bad declarations folder): said in
one line, and the process exits non-zero, without the tracebacks Scrapy and asyncio
would add for an exception raised while a crawler starts."""

from __future__ import annotations

import logging


class CrawlRefused(RuntimeError):
    """Raised once its reason is logged: Scrapy then counts the crawl as failed to start
    (``scrapy crawl`` exits 1) and nothing else is printed about it."""


class _OneLine(logging.Filter):
    """Drops asyncio's report of a refused crawl, and shortens tracebacks of fetch
    errors (robots.txt offline) to their one-line message."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, CrawlRefused):
            return False
        if record.name.startswith("scrapy.downloadermiddlewares.robotstxt") and record.exc_info:
            record.msg = f"{record.getMessage()}: {record.exc_info[1]}"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


_FILTER = _OneLine()


def install_filters() -> None:
    """Once per process (idempotent)."""
    for name in ("asyncio", "scrapy.downloadermiddlewares.robotstxt"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def refuse(log: logging.Logger, message: str) -> CrawlRefused:
    """Log why the crawl cannot start; the exception to raise."""
    install_filters()
    log.error(message)
    return CrawlRefused(message)
