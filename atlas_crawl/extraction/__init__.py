"""Extraction is a pure function: page bytes + declaration -> normalized text."""

from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.extraction.extract import (
    EXTRACTOR_VERSION,
    extract_at,
    extract_document,
    extract_source,
)

__all__ = [
    "EXTRACTOR_VERSION",
    "ExtractionError",
    "extract_at",
    "extract_document",
    "extract_source",
]
