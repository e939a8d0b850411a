"""What every command shares: the settings, the database, and how a user error is said."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import psycopg
from scrapy.settings import Settings

from atlas_crawl.config import project_settings
from atlas_crawl.storage.database import Database, database


class UsageError(Exception):
    """Bad input from the user: printed as-is, exit status 2."""


def settings_of(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The project's settings with the command's options (``--database-url``) on top."""
    if getattr(args, "database_url", None):
        overrides["ATLAS_DATABASE_URL"] = args.database_url
    return project_settings({k: v for k, v in overrides.items() if v is not None})


def database_of(args: argparse.Namespace) -> Database:
    return database(settings_of(args))


def connect(args: argparse.Namespace, **kwargs: Any) -> psycopg.Connection:
    return database_of(args).connect(**kwargs)


def use_color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def command_name() -> str:
    """How the user can run atlas-crawl again from where they stand, for the commands a
    command suggests: ``python3 dev.py`` when started through it, ``atlas-crawl`` when
    that is on the PATH, else the path of this very executable."""
    import shutil
    from pathlib import Path

    if started_as := os.environ.get("ATLAS_COMMAND"):
        return started_as
    running = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    found = shutil.which("atlas-crawl")
    if found and (running is None or Path(found).resolve() == running):
        return "atlas-crawl"
    if running is not None and running.name == "atlas-crawl":
        try:
            return os.path.relpath(running)
        except ValueError:
            return str(running)
    return f"{Path(sys.executable).name} -m atlas_crawl.cli"


def positive_int(value: str) -> int:
    """An argument that counts something: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number
