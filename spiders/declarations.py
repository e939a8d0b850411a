"""``scrapy crawl declarations -a path=DIR [-a services=A,B]``: every document declared
in a folder of Open Terms Archive declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atlas_crawl.crawl.spider import TrackingSpider
from atlas_crawl.declarations import TrackedDocument, load_ota_folder, service_names


class DeclarationsSpider(TrackingSpider):
    name = "declarations"

    def __init__(
        self,
        path: str | None = None,
        services: str | None = None,
        documents: list[TrackedDocument] | None = None,
        **kwargs: Any,
    ):
        """``documents``: the folder's documents, already loaded (by ``atlas-crawl
        crawl``, which checks them before Scrapy starts)."""
        super().__init__(**kwargs)
        if documents is not None:
            self._documents = documents
            return
        if not path:
            raise ValueError("the declarations spider needs -a path=DIR (a declarations folder)")
        # Loaded (and checked) here, so a bad declaration stops the run before any fetch.
        self._documents = load_ota_folder(Path(path), service_names(services))

    def tracked_documents(self) -> list[TrackedDocument]:
        return self._documents
