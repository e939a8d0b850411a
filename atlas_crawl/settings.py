"""Scrapy settings of atlas-crawl (``SCRAPY_SETTINGS_MODULE``).

The ``ATLAS_*`` settings (``atlas_crawl.config``) are filled from the environment here,
once; the add-on ``atlas_crawl.crawl.addon`` turns them into Scrapy's own settings when
a crawler starts, so ``-s ATLAS_X=...`` works as well as the environment.
"""

from __future__ import annotations

from atlas_crawl.config import from_environment

globals().update(from_environment())

BOT_NAME = "atlas-crawl"
SPIDER_MODULES = ["atlas_crawl.spiders"]
NEWSPIDER_MODULE = "atlas_crawl.spiders"
# `scrapy crawl` exits non-zero as `atlas-crawl crawl` does (a lost database, --strict).
COMMANDS_MODULE = "atlas_crawl.crawl.commands"
ADDONS = {"atlas_crawl.crawl.addon.AtlasAddon": 0}
# Progress while a crawl runs and a summary at its end.
EXTENSIONS = {"atlas_crawl.crawl.progress.CrawlProgress": 500}

# Non-2xx answers reach the spider, which records them as failed checks.
HTTPERROR_ALLOW_ALL = True
RETRY_TIMES = 2
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# A response gives at most one check: the default (100) only starts idle tasks.
CONCURRENT_ITEMS = 4
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Logging is set up before add-ons run: the level is taken here (or -s LOG_LEVEL=...).
LOG_LEVEL = globals()["ATLAS_LOG_LEVEL"]
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"

# In order: cut the text out, prepare WARC evidence, record, archive what changed. Each
# switches itself off (NotConfigured) when its settings say so.
ITEM_PIPELINES = {
    "atlas_crawl.pipelines.extract.ExtractPipeline": 100,
    "atlas_crawl.pipelines.warc.WarcPipeline": 200,
    "atlas_crawl.pipelines.store.StorePipeline": 300,
    "atlas_crawl.pipelines.archive.ArchivePipeline": 400,
}

# Rendering: only requests with meta["playwright"] go through the browser.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 60_000
# Images, fonts and media never decide a policy's text: do not download them.
PLAYWRIGHT_ABORT_REQUEST = "atlas_crawl.crawl.rendering.abort_media"

# Politeness: per-domain delays that follow the servers' response times.
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
