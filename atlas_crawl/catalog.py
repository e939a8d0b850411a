"""Every tracked document: the platform spiders', or an Open Terms Archive folder's."""

from __future__ import annotations

import os
from pathlib import Path

from atlas_crawl.declarations import TrackedDocument, load_ota_folder


def platform_documents() -> list[TrackedDocument]:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    from atlas_crawl.spider import PolicySpider

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "atlas_crawl.settings")
    loader = SpiderLoader.from_settings(get_project_settings())
    documents: list[TrackedDocument] = []
    for name in loader.list():
        cls = loader.load(name)
        if issubclass(cls, PolicySpider):
            documents.extend(cls._tracked)
    return documents


def load_documents(declarations: Path | None = None) -> list[TrackedDocument]:
    return load_ota_folder(declarations) if declarations else platform_documents()
