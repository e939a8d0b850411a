"""Scrapy settings of atlas-crawl. Every ``ATLAS_*`` setting can also be set in the
environment of the same name."""

from __future__ import annotations

import os
import shutil

from atlas_crawl import __version__

BOT_NAME = "atlas-crawl"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = os.environ.get(
    "ATLAS_USER_AGENT",
    f"Mozilla/5.0 (compatible; atlas-crawl/{__version__}; +policy change tracking)",
)
ROBOTSTXT_OBEY = os.environ.get("ATLAS_ROBOTSTXT_OBEY", "1") not in ("0", "false", "no")
# Non-2xx answers reach the spider, which records them as failed checks.
HTTPERROR_ALLOW_ALL = True
DOWNLOAD_TIMEOUT = int(os.environ.get("ATLAS_DOWNLOAD_TIMEOUT", "60"))
RETRY_TIMES = 2
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# A response gives at most one check: the default (100) only starts idle tasks.
CONCURRENT_ITEMS = 4
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = os.environ.get("ATLAS_LOG_LEVEL", "INFO")
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.store.StorePipeline": 300,
}

# Rendering: only requests with meta["playwright"] go through the browser.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"


def chromium_path() -> str | None:
    """ATLAS_CHROMIUM_PATH, else Debian's Chromium, else Playwright's own browser."""
    configured = os.environ.get("ATLAS_CHROMIUM_PATH")
    if configured:
        return configured
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


PLAYWRIGHT_LAUNCH_OPTIONS = {
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ],
    **({"executable_path": path} if (path := chromium_path()) else {}),
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 60_000
# Pages rendered at once. Chromium is CPU-bound laying out long policy pages: on two
# cores 4 gave 5.0-5.4 rechecks per second, 8 gave 5.0, no limit (16) 4.7, 2 gave 4.6
# (bench/recheck.py --browser 200). About two per core.
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = int(os.environ.get("ATLAS_RENDER_PAGES", "4"))
# Images, fonts and media never decide a policy's text: do not download them.
PLAYWRIGHT_ABORT_REQUEST = "atlas_crawl.rendering.abort_media"
ATLAS_RENDER_WAIT_UNTIL = os.environ.get("ATLAS_RENDER_WAIT_UNTIL", "load")

# Database connections (and threads) the store pipeline records checks on.
ATLAS_DB_CONNECTIONS = int(os.environ.get("ATLAS_DB_CONNECTIONS", "4"))

# A new text under this share of the current version's length is a failed check.
ATLAS_MIN_LENGTH_RATIO = float(os.environ.get("ATLAS_MIN_LENGTH_RATIO", "0.25"))

# A new text is fetched again before it is recorded as a change; after this many
# seconds once the first pass of the crawl is over.
ATLAS_VERIFY_CHANGES = os.environ.get("ATLAS_VERIFY_CHANGES", "1") not in ("0", "false", "no")
ATLAS_VERIFY_DELAY = float(os.environ.get("ATLAS_VERIFY_DELAY", "0"))
# WARC files of the checks that make, propose or confirm a version.
ATLAS_EVIDENCE_DIR = os.environ.get("ATLAS_EVIDENCE_DIR", "")
ATLAS_WARC_MAX_BYTES = int(os.environ.get("ATLAS_WARC_MAX_BYTES", str(100 << 20)))
ATLAS_SCREENSHOTS = os.environ.get("ATLAS_SCREENSHOTS", "1") not in ("0", "false", "no")
# Seconds the end of a crawl waits for Wayback Machine submissions still running.
ATLAS_ARCHIVE_WAIT = float(os.environ.get("ATLAS_ARCHIVE_WAIT", "60"))

# Politeness: per-domain delays that follow the servers' response times.
AUTOTHROTTLE_ENABLED = os.environ.get("ATLAS_AUTOTHROTTLE", "1") not in ("0", "false", "no")
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# Send the last capture's ETag / Last-Modified; a 304 is recorded as an unchanged check.
ATLAS_CONDITIONAL_REQUESTS = os.environ.get("ATLAS_CONDITIONAL_REQUESTS", "1") not in (
    "0",
    "false",
    "no",
)
# Skip documents successfully checked less than this many hours ago (0: check all).
ATLAS_DUE_HOURS = float(os.environ.get("ATLAS_DUE_HOURS", "0"))

# Distributed crawling: processes that share ATLAS_REDIS_URL share one queue per round.
if os.environ.get("ATLAS_REDIS_URL"):
    from atlas_crawl.distributed import distributed_settings

    globals().update(distributed_settings(os.environ["ATLAS_REDIS_URL"]))
ATLAS_REDIS_LEASE = float(os.environ.get("ATLAS_REDIS_LEASE", "30"))
