"""How a crawl ended, as an exit status: one rule for ``atlas-crawl crawl`` and
``scrapy crawl``, since cron and systemd see nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from atlas_crawl.crawl.progress import summary

# 0 ran; 1 stopped before its end (a database lost, checks that could not be recorded,
# an interruption: Ctrl-C's graceful stop closes with "shutdown", a second Ctrl-C stops
# the reactor before the spider closes at all); 2 could not start (as every atlas-crawl
# command whose input or database cannot be used); 3 with --strict when a check failed;
# 4 when every check failed.
STOPPED, NOT_STARTED, STRICT_FAILED, ALL_FAILED = 1, 2, 3, 4


def crawler_stats(crawler: Any) -> dict[str, Any]:
    """A crawler's stats, empty for one that never started."""
    try:
        stats = crawler.stats
    except RuntimeError:  # Scrapy sets them when the crawl starts
        return {}
    return stats.get_stats() if stats is not None else {}


def summary_line(name: str, stats: Mapping[str, Any]) -> str | None:
    """The crawl's summary line; for one stopped before its spider closed (a second
    Ctrl-C), made here from what its stats hold so far."""
    if stats.get("atlas/summary"):
        return str(stats["atlas/summary"])
    started = stats.get("start_time")
    if started is None:
        return None
    seconds = (datetime.now(UTC) - started).total_seconds()
    return summary(name, dict(stats), seconds) + " (interrupted)"


def exit_status(
    stats: Iterable[Mapping[str, Any]], bootstrap_failed: bool, strict: bool
) -> tuple[int, str | None]:
    """The exit status of a crawl from its crawlers' stats, and the line that says why."""
    stats = list(stats)
    stopped = [
        str(v.get("atlas/stop_reason") or v.get("finish_reason") or "interrupted")
        for v in stats
        if (v and v.get("finish_reason") != "finished") or v.get("atlas/unrecorded")
    ]
    if bootstrap_failed:
        return NOT_STARTED, "atlas-crawl: the crawl could not start"
    if stopped:
        return STOPPED, f"atlas-crawl: the crawl stopped before its end ({', '.join(stopped)})"
    checks = sum(v.get(k, 0) for v in stats for k in v if k.startswith("atlas/checks/"))
    failed = sum(v.get("atlas/checks/failed", 0) for v in stats)
    if checks and failed == checks:
        return ALL_FAILED, f"atlas-crawl: every check failed ({failed})"
    if failed and strict:
        return STRICT_FAILED, f"atlas-crawl: {failed} check(s) failed (--strict)"
    return 0, None
