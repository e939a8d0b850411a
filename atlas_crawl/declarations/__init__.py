"""Tracked documents: what is fetched and how its text is cut out of the pages.

Two ways in give the same objects: a platform spider's ``Document`` list and an Open
Terms Archive declaration folder. Every declaration is checked when it is read, so a
wrong one fails at load time with the file and the field named.
"""

from atlas_crawl.declarations.model import (
    DOCUMENT_TYPES,
    DeclarationError,
    Document,
    Range,
    Rules,
    Selector,
    Source,
    TrackedDocument,
)
from atlas_crawl.declarations.ota import load_ota_file, load_ota_folder, service_names
from atlas_crawl.declarations.parse import from_spider_document, parse_ota_rules
from atlas_crawl.declarations.rules_json import rules_to_json

__all__ = [
    "DOCUMENT_TYPES",
    "DeclarationError",
    "Document",
    "Range",
    "Rules",
    "Selector",
    "Source",
    "TrackedDocument",
    "from_spider_document",
    "load_ota_file",
    "load_ota_folder",
    "parse_ota_rules",
    "rules_to_json",
    "service_names",
]
