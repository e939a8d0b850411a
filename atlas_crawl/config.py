"""Every ``ATLAS_*`` setting, its type and default: one channel for configuration.

They are Scrapy settings. The environment fills them once (``from_environment``, used by
``atlas_crawl.settings``); ``scrapy crawl ... -s ATLAS_X=...`` overrides any of them;
the CLI passes its options as settings. Components read them from the settings they are
built with, never from ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from scrapy.settings import BaseSettings, Settings

from atlas_crawl import __version__

SETTINGS_MODULE = "atlas_crawl.settings"

# name: (type, default). bool accepts 1/0, true/false, yes/no, on/off.
ATLAS_SETTINGS: dict[str, tuple[type, Any]] = {
    # Where the history goes: a PostgreSQL URL, else an embedded server in the data folder.
    "ATLAS_DATABASE_URL": (str, ""),
    "ATLAS_DATA_DIR": (str, ""),
    # WARC files of the checks that make, propose or confirm a version.
    "ATLAS_EVIDENCE_DIR": (str, ""),
    "ATLAS_WARC": (bool, True),
    "ATLAS_WARC_MAX_BYTES": (int, 100 << 20),
    "ATLAS_SCREENSHOTS": (bool, True),
    # Fetching.
    "ATLAS_USER_AGENT": (
        str,
        f"Mozilla/5.0 (compatible; atlas-crawl/{__version__}; +policy change tracking)",
    ),
    "ATLAS_DOWNLOAD_TIMEOUT": (float, 60.0),
    # A page larger than this once decompressed, or a text longer than this, is a failed
    # check ("too large"), decided while the body is read. The largest real policies are
    # a few MB of HTML and a few hundred thousand characters of text.
    "ATLAS_MAX_PAGE_BYTES": (int, 32 << 20),
    "ATLAS_MAX_TEXT_CHARS": (int, 2_000_000),
    "ATLAS_ROBOTSTXT_OBEY": (bool, True),
    "ATLAS_AUTOTHROTTLE": (bool, True),
    "ATLAS_CONDITIONAL_REQUESTS": (bool, True),
    "ATLAS_DUE_HOURS": (float, 0.0),
    "ATLAS_LOG_LEVEL": (str, "INFO"),
    # Seconds between progress lines in the log while a crawl runs (0: none).
    "ATLAS_PROGRESS_INTERVAL": (float, 30.0),
    # Rendering (documents that need JavaScript).
    "ATLAS_CHROMIUM_PATH": (str, ""),
    "ATLAS_RENDER_PAGES": (int, 4),
    "ATLAS_RENDER_WAIT_UNTIL": (str, "load"),
    # Seconds a rendered page may take, after loading, to show its declared selectors.
    "ATLAS_RENDER_SELECTOR_WAIT": (float, 30.0),
    # Recording.
    "ATLAS_DB_CONNECTIONS": (int, 4),
    # Seconds a crawl waits for a database that went away before it stops, non-zero.
    "ATLAS_DB_OUTAGE_WAIT": (float, 30.0),
    "ATLAS_MIN_LENGTH_RATIO": (float, 0.25),
    "ATLAS_VERIFY_CHANGES": (bool, True),
    "ATLAS_VERIFY_DELAY": (float, 0.0),
    # Distributed rounds.
    "ATLAS_REDIS_URL": (str, ""),
    "ATLAS_REDIS_LEASE": (float, 30.0),
    "ATLAS_ROUND": (str, ""),
    # The Ed25519 key that signs ledger checkpoints (atlas-crawl keygen makes one).
    "ATLAS_SIGNING_KEY": (str, ""),
    # Archived copies (Wayback Machine, Save Page Now 2).
    "ATLAS_WAYBACK_ENABLED": (bool, False),
    "ATLAS_WAYBACK_ACCESS_KEY": (str, ""),
    "ATLAS_WAYBACK_SECRET_KEY": (str, ""),
    "ATLAS_WAYBACK_BASE_URL": (str, "https://web.archive.org"),
    "ATLAS_WAYBACK_MAX_POLLS": (int, 10),
    "ATLAS_WAYBACK_POLL_INTERVAL": (float, 5.0),
    "ATLAS_ARCHIVE_WAIT": (float, 60.0),
    # Alerts: e-mail over SMTP (STARTTLS and login when a user is set).
    "ATLAS_SMTP_HOST": (str, ""),
    "ATLAS_SMTP_PORT": (int, 587),
    "ATLAS_SMTP_STARTTLS": (bool, True),
    "ATLAS_SMTP_USER": (str, ""),
    "ATLAS_SMTP_PASSWORD": (str, ""),
    "ATLAS_SMTP_FROM": (str, "atlas-crawl@localhost"),
    # A CA certificate (PEM) the SMTP server's certificate is checked against, for a
    # server with a private CA; the system's CAs otherwise.
    "ATLAS_SMTP_CA_FILE": (str, ""),
    # Delivery: seconds per try, tries before the dead-letter view, the first retry's
    # delay in seconds (doubled each time, with jitter, at most an hour).
    "ATLAS_NOTIFY_TIMEOUT": (float, 10.0),
    "ATLAS_NOTIFY_MAX_ATTEMPTS": (int, 8),
    "ATLAS_NOTIFY_BACKOFF": (float, 30.0),
    # Where notify keeps the Atom feeds of atom: watches (else "feeds" in the data folder).
    "ATLAS_FEEDS_DIR": (str, ""),
    # atlas-crawl crawl delivers pending alerts when it ends.
    "ATLAS_NOTIFY_AFTER_CRAWL": (bool, True),
    # E-mail subscriptions from the web view: the address readers reach it at (for the
    # links in e-mails), the key that signs those links and the forms' tokens (both
    # needed: without them the web view offers no subscription), the confirmation
    # messages allowed per address and per client address in an hour, and the hours a
    # confirmation link stays valid.
    "ATLAS_PUBLIC_URL": (str, ""),
    "ATLAS_SUBSCRIBE_SECRET": (str, ""),
    "ATLAS_SUBSCRIBE_PER_ADDRESS": (int, 3),
    "ATLAS_SUBSCRIBE_PER_CLIENT": (int, 10),
    "ATLAS_SUBSCRIBE_HOURS": (float, 48.0),
    # The web view: megabytes of answers each server process keeps, and the seconds a
    # kept answer lasts at most (what changes without a new check shows by then).
    "ATLAS_WEB_CACHE_MB": (float, 64.0),
    "ATLAS_WEB_CACHE_SECONDS": (float, 60.0),
}

# Read when its ATLAS_ name is not set: the usual name of a database URL.
FALLBACKS = {"ATLAS_DATABASE_URL": "DATABASE_URL"}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting with a value of the wrong form; the message names it."""


def parse(name: str, raw: str) -> Any:
    kind, _ = ATLAS_SETTINGS[name]
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name}={raw!r}: expected 1 or 0 (true/false, yes/no)")
    if kind is str:
        return raw
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number ({kind.__name__})") from None


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every ATLAS_* setting: from the environment when set there, else its default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (_, default) in ATLAS_SETTINGS.items():
        raw = environ.get(name)
        if raw is None and name in FALLBACKS:
            raw = environ.get(FALLBACKS[name])
        values[name] = default if raw is None else parse(name, raw)
    return values


def project_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """The project's Scrapy settings (environment included), with ``overrides`` at the
    command line's priority: what the CLI hands to a crawl or reads itself."""
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    if overrides:
        settings.setdict(dict(overrides), priority="cmdline")
    return settings


def source_of(settings: BaseSettings, name: str) -> str:
    """Where a setting's value came from, for messages: ``-s``/option or environment."""
    priority = settings.getpriority(name) or 0
    if priority >= 40:
        return f"{name} (command line)"
    fallback = FALLBACKS.get(name)
    if fallback and not os.environ.get(name) and os.environ.get(fallback):
        return fallback
    return name
