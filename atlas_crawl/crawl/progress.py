"""Progress while a crawl runs (documents done of those set out, failures so far) and a
summary when it ends (checked, unchanged, changed, failed by reason, time), in the log;
the summary is also left in the crawl's stats (``atlas/summary``) for the CLI."""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from atlas_crawl.crawl.plan import CrawlPlan

log = logging.getLogger(__name__)

_OUTCOMES = (
    ("first", "first"),
    ("unchanged", "unchanged"),
    ("changed", "changed"),
    ("candidate", "new text awaiting confirmation"),
    ("duplicate", "already checked in this round"),
)


def summary(name: str, stats: dict[str, Any], seconds: float) -> str:
    """One line: what a crawl did."""

    def count(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    checks = sum(v for k, v in stats.items() if k.startswith("atlas/checks/"))
    parts = [f"{label} {count(f'atlas/checks/{key}')}" for key, label in _OUTCOMES]
    parts = [p for p in parts if not p.endswith(" 0")]
    changes = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("atlas/changes/")}
    if changes:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(changes.items()))
        parts.append(f"changes recorded {sum(changes.values())} ({kinds})")
    failed = count("atlas/checks/failed")
    if failed:
        reasons = {k.split("/", 2)[2]: v for k, v in stats.items() if k.startswith("atlas/failed/")}
        detail = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        parts.append(f"failed {failed} ({detail})")
    return f"{name}: {checks} checks in {seconds:.1f} s: " + (", ".join(parts) or "nothing to do")


class CrawlProgress:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.plan = CrawlPlan.of(crawler)
        self.interval = interval
        self.started = time.monotonic()
        self.last_report = self.started
        self.done = 0
        self.failed = 0
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        return cls(crawler, crawler.settings.getfloat("ATLAS_PROGRESS_INTERVAL", 30.0))

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        if getattr(item, "verifying", False):
            return
        self.done += 1
        result = getattr(item, "result", None)
        self.failed += bool(result is not None and result.outcome == "failed")
        now = time.monotonic()
        if self.interval > 0 and now - self.last_report >= self.interval:
            self.last_report = now
            log.info(
                "progress: %d of %d documents checked, %d failed, %.0f s",
                self.done,
                self.plan.documents_total,
                self.failed,
                now - self.started,
            )

    def spider_closed(self, spider: Any, reason: str) -> None:
        stats = self.crawler.stats
        values = stats.get_stats() if stats is not None else {}
        line = summary(spider.name, values, time.monotonic() - self.started)
        if reason != "finished":
            line += f" (closed: {reason})"
        log.info(line)
        if stats is not None:
            stats.set_value("atlas/summary", line)
