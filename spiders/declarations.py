"""``scrapy crawl declarations -a path=DIR [-a services=A,B]``: every document declared
in a folder of Open Terms Archive declarations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from atlas_crawl.crawl.refusal import refuse
from atlas_crawl.crawl.spider import TrackingSpider
from atlas_crawl.declarations import (
    DeclarationError,
    TrackedDocument,
    load_ota_folder,
    service_names,
)

log = logging.getLogger(__name__)


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
            raise refuse(log, "the declarations spider needs -a path=DIR (a declarations folder)")
        # Loaded (and checked) here, so a bad declaration stops the run before any fetch.
        try:
            self._documents = load_ota_folder(Path(path), service_names(services))
        except DeclarationError as exc:
            raise refuse(log, str(exc)) from None

    def tracked_documents(self) -> list[TrackedDocument]:
        return self._documents
