"""``scrapy crawl declarations -a path=DIR [-a services=A,B]``: every document declared
in a folder of Open Terms Archive declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atlas_crawl.declarations import TrackedDocument, load_ota_folder
from atlas_crawl.spider import TrackingSpider


class DeclarationsSpider(TrackingSpider):
    name = "declarations"

    def __init__(self, path: str | None = None, services: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not path:
            raise ValueError("the declarations spider needs -a path=DIR (a declarations folder)")
        wanted = [s for s in services.split(",") if s.strip()] if services else None
        # Loaded (and checked) here, so a bad declaration stops the run before any fetch.
        self._documents = load_ota_folder(Path(path), wanted)

    def tracked_documents(self) -> list[TrackedDocument]:
        return self._documents
