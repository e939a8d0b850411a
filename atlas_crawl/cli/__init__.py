"""``atlas-crawl``: upgrade the database, crawl, and read the change history."""

from atlas_crawl.cli.main import main

__all__ = ["main"]
