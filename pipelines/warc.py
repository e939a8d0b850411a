"""WARC evidence: gives each check a writer of its pages as WARC 1.1 records. The
recorder calls it, inside the check's transaction, only for checks that make, propose or
confirm a version. ``ATLAS_WARC=0`` switches it off."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from atlas_crawl.evidence.warc import WarcPage, WarcRef, WarcStore
from atlas_crawl.model import PolicyCheck
from atlas_crawl.storage.database import evidence_dir


def warc_pages(check: Any) -> list[WarcPage]:
    """The pages of a check (or of its record) that have a body, as WARC pages."""
    return [
        WarcPage(
            url=page.final_url or page.requested_url,
            status=page.http_status or 0,
            response_headers=page.headers,
            body=page.body,
            fetched_at=check.checked_at,
            request_headers=page.request_headers,
            rendered=page.rendered,
            network_body=page.network_body,
            screenshot=page.screenshot,
        )
        for page in check.pages
        if page.body is not None
    ]


class WarcPipeline:
    def __init__(self, store: WarcStore) -> None:
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcPipeline:
        settings = crawler.settings
        if not settings.getbool("ATLAS_WARC", True):
            raise NotConfigured("ATLAS_WARC is off: no WARC evidence is written")
        return cls(
            WarcStore(evidence_dir(settings), settings.getint("ATLAS_WARC_MAX_BYTES", 100 << 20))
        )

    def write(self, check: Any) -> list[WarcRef]:
        return [self.store.write(page) for page in warc_pages(check)]

    def process_item(self, item: PolicyCheck) -> PolicyCheck:
        check: PolicyCheck = ItemAdapter(item).item
        check.write_warc = self.write
        return check
