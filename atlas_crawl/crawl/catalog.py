"""Every tracked document: the platform spiders', or an Open Terms Archive folder's."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import BaseSettings
from scrapy.spiderloader import SpiderLoader

from atlas_crawl.crawl.spider import PolicySpider
from atlas_crawl.declarations import TrackedDocument, load_ota_folder


def platform_spiders(settings: BaseSettings) -> dict[str, type[PolicySpider]]:
    """The platform spiders by name."""
    loader = SpiderLoader.from_settings(settings)
    found = {name: loader.load(name) for name in loader.list()}
    return {name: cls for name, cls in found.items() if issubclass(cls, PolicySpider)}


def platform_documents(settings: BaseSettings) -> list[TrackedDocument]:
    return [d for cls in platform_spiders(settings).values() for d in cls.tracked()]


def load_documents(
    settings: BaseSettings, declarations: Path | None = None
) -> list[TrackedDocument]:
    return load_ota_folder(declarations) if declarations else platform_documents(settings)
