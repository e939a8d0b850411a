"""The Scrapy add-on that turns the ``ATLAS_*`` settings into Scrapy's own.

Add-ons run when a crawler is built, after the command line's ``-s`` settings are in,
so an ``ATLAS_*`` setting from the environment, ``settings.py`` or ``-s`` all reach
Scrapy the same way. A setting given to Scrapy directly (``-s USER_AGENT=...``) or by a
spider (``custom_settings``) still wins: add-on values have a lower priority.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from scrapy.settings import BaseSettings

from atlas_crawl.crawl.distributed import distributed_settings
from atlas_crawl.crawl.refusal import install_filters

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path(configured: str | None) -> str | None:
    """The configured browser, else Debian's Chromium, else Playwright's own browser."""
    if configured:
        return configured
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


BROWSER_HELP = (
    "install Debian's chromium (python3 dev.py browser, or apt-get install chromium) "
    "or set ATLAS_CHROMIUM_PATH to a Chromium executable"
)


def _playwright_browser() -> bool:
    """Whether Playwright's own Chromium was downloaded (where it can be)."""
    folder = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser(
        "~/.cache/ms-playwright"
    )
    try:
        return any(name.startswith("chromium") for name in os.listdir(folder))
    except OSError:
        return False


def browser_problem(configured: str | None) -> str | None:
    """Why documents that need JavaScript cannot be rendered here, in one line, or None."""
    if configured and not os.access(configured, os.X_OK):
        return f"ATLAS_CHROMIUM_PATH={configured}: no such executable; {BROWSER_HELP}"
    if chromium_path(configured) or _playwright_browser():
        return None
    return f"Chromium is missing: {BROWSER_HELP}"


def derived_settings(settings: BaseSettings) -> dict[str, Any]:
    """Scrapy's settings as the ATLAS_* ones ask for them."""
    launch: dict[str, Any] = {"headless": True, "args": CHROMIUM_ARGS}
    if path := chromium_path(settings.get("ATLAS_CHROMIUM_PATH")):
        launch["executable_path"] = path
    max_page = settings.getint("ATLAS_MAX_PAGE_BYTES", 32 << 20)
    derived: dict[str, Any] = {
        "USER_AGENT": settings.get("ATLAS_USER_AGENT"),
        "DOWNLOAD_TIMEOUT": settings.getfloat("ATLAS_DOWNLOAD_TIMEOUT", 60),
        # Scrapy stops reading a body over DOWNLOAD_MAXSIZE (announced or received) and
        # stops decompressing one past it: a gzip bomb costs at most this much.
        "DOWNLOAD_MAXSIZE": max_page,
        "DOWNLOAD_WARNSIZE": max_page // 4,
        "ROBOTSTXT_OBEY": settings.getbool("ATLAS_ROBOTSTXT_OBEY", True),
        "AUTOTHROTTLE_ENABLED": settings.getbool("ATLAS_AUTOTHROTTLE", True),
        # Pages rendered at once. Chromium is CPU-bound laying out long policy pages: on
        # two cores 4 gave 5.0-5.4 rechecks per second, 8 gave 5.0, 16 gave 4.7, 2 gave
        # 4.6 (bench/recheck.py --browser 200). About two per core.
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": settings.getint("ATLAS_RENDER_PAGES", 4),
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
    }
    if settings.get("ATLAS_REDIS_URL"):
        derived.update(distributed_settings(settings["ATLAS_REDIS_URL"]))
    return derived


class AtlasAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        install_filters()  # one line per robots.txt failure, no traceback
        settings.setdict(derived_settings(settings), priority="addon")
