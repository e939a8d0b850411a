"""The extraction pipeline works beside the reactor, never on its thread: a long PDF
takes seconds to read, and on the reactor's thread it stalled every timer of the crawl
(the recorder's watchdog took such a stall for a lost database)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from atlas_crawl.pipelines import extract as pipeline_module
from atlas_crawl.pipelines.extract import ExtractPipeline
from atlas_crawl.spiders.npm import NpmSpider
from scrapy.utils.test import get_crawler


def test_the_reactor_keeps_running_while_a_page_is_extracted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def slow_extraction(check: Any) -> None:
        seen["thread"] = threading.current_thread().name
        time.sleep(0.5)  # as a long PDF's text layer
        check.text = "text\n"

    monkeypatch.setattr(pipeline_module, "extract_check", slow_extraction)
    crawler = get_crawler(NpmSpider, {})
    pipeline = ExtractPipeline.from_crawler(crawler)
    spider = NpmSpider.from_crawler(crawler)
    check = spider._new_check(NpmSpider.tracked()[0])

    async def run() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        await pipeline.process_item(check)
        task.cancel()
        return ticks

    ticks = asyncio.run(run())
    assert seen["thread"].startswith("atlas-extract")
    assert ticks >= 5, "the loop's timers stood still during the extraction"
    assert check.text == "text\n"
