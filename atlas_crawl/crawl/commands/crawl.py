"""``scrapy crawl NAME``, with the exit status of ``atlas-crawl crawl``.

Scrapy's own command exits 0 whenever the crawler started, even after a crawl that lost
its database; a scheduled job sees only the status, so it must say how the crawl ended.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from atlas_crawl.crawl.outcome import crawler_stats, exit_status


class Command(ScrapyCrawl):
    def long_desc(self) -> str:
        return (
            "Run a spider of the project. Exits 0 when the crawl ran, 1 when it stopped "
            "before its end (a database lost, an interruption), 2 when it could not start, "
            "3 with --strict when a check failed, 4 when every check failed."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--strict", action="store_true", help="exit 3 when any check failed")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError(
                "running 'scrapy crawl' with more than one spider is not supported"
                if args
                else None
            )
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        failed_start = self.crawler_process.bootstrap_failed
        code, message = exit_status([crawler_stats(crawler)], failed_start, opts.strict)
        if message:
            print(message, file=sys.stderr)
        self.exitcode = code
