"""``atlas-crawl``: upgrade the database, crawl, and read the change history."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The command. Its modules (Scrapy, Twisted, the web stack) load here, after the
    console script has started: Ctrl-C while they load stops as quietly as it does later
    (status 130, no traceback)."""
    try:
        from atlas_crawl.cli.main import main as run
    except KeyboardInterrupt:
        print("atlas-crawl: interrupted", file=sys.stderr)
        return 130
    return run(argv)


__all__ = ["main"]
