"""What a tracked document is: where its pages are and how its text is cut out of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Document types as Open Terms Archive names them (its terms types, 2.2.0, and the older
# names still found in declarations); every declaration must use one.
DOCUMENT_TYPES: frozenset[str] = frozenset(
    {
        "Acceptable Use Policy",
        "Accessibility Statement",
        "Advertising Content Policy",
        "Affiliate Agreement",
        "Anti-corruption Policy",
        "Brand Guidelines",
        "Business Mediation Policy",
        "Business Privacy Policy",
        "Business Terms of Service",
        "Closed Captioning Policy",
        "Commercial Terms",
        "Community Guidelines",
        "Complaints Policy",
        "Conditions of Carriage",
        "Content Monetisation Policy",
        "Cookies Policy",
        "Copyright Claims Policy",
        "Data Controller Agreement",
        "Data Processor Agreement",
        "Deceased Users",
        "Developer Terms",
        "Editorial Policy",
        "Financial Information",
        "General Conditions of Sale",
        "Human Rights Policy",
        "Hyperlinks Policy",
        "Imprint",
        "In-App Purchases Policy",
        "Law Enforcement Guidelines",
        "Live Policy",
        "Marketplace Buyers Conditions",
        "Marketplace Sellers Conditions",
        "Platform to Business Notice",
        "Premium Partner Conditions",
        "Privacy Policy",
        "Quality Guidelines",
        "Ranking Parameters Description",
        "Restricted Use Policy",
        "Review Guidelines",
        "Seller Warranty",
        "Service Level Agreement",
        "Single Sign-On Policy",
        "Terms of Service",
        "Trackers Policy",
        "User Consent Policy",
        "Vulnerability Disclosure Policy",
        "Warranty Terms",
        "Whistleblower Policy",
    }
)

RANGE_KEYS = ("startBefore", "startAfter", "endBefore", "endAfter")


class DeclarationError(ValueError):
    """A declaration that cannot be used; the message names where and which field."""


@dataclass(frozen=True)
class Range:
    """Content between two elements, as Open Terms Archive's range selectors."""

    start: str
    start_inclusive: bool  # startBefore: the start element is part of the range
    end: str
    end_inclusive: bool  # endAfter: the end element is part of the range


Selector = str | Range


@dataclass(frozen=True)
class Source:
    """One page to fetch and how to cut the document out of it."""

    url: str
    select: tuple[Selector, ...] = ()
    remove: tuple[Selector, ...] = ()
    render: bool = False
    filters: tuple[str, ...] = ()
    # The address the document stands for when it is fetched from elsewhere (a mirror,
    # an archive's replay): links are resolved against it. Empty: ``url`` itself.
    location: str = ""

    @property
    def declared_location(self) -> str:
        return self.location or self.url


@dataclass(frozen=True)
class Rules:
    """The pages of a document (several when combined) and until when these rules held."""

    sources: tuple[Source, ...]
    valid_until: datetime | None = None


@dataclass(frozen=True)
class TrackedDocument:
    """A document the crawler checks: current rules plus older ones for old captures."""

    platform: str
    document_type: str
    rules: Rules
    history: tuple[Rules, ...] = ()
    origin: str = ""  # the file that declared it, for messages

    @property
    def url(self) -> str:
        return self.rules.sources[0].url

    @property
    def key(self) -> str:
        """``platform/document type``: names the document in queues and round records."""
        return f"{self.platform}/{self.document_type}"

    def rules_in_force(self, captured_at: datetime) -> Rules:
        """The rules in force for a capture taken at ``captured_at``."""
        return self.rules_since(captured_at)[0]

    def rules_since(self, captured_at: datetime) -> list[Rules]:
        """The rules in force at ``captured_at``, then every later set, newest last.

        A page redesigned a little before its declaration was updated is read by the
        next rules; ``validUntil`` is when the fix was made, not when the page changed.
        """
        dated = sorted(
            (r for r in self.history if r.valid_until is not None),
            key=lambda r: r.valid_until or datetime.max,
        )
        return [r for r in dated if captured_at < (r.valid_until or datetime.max)] + [self.rules]


@dataclass(frozen=True)
class Document:
    """A document as a platform spider declares it (see ``PolicySpider``)."""

    document_type: str
    url: str | None = None
    select: Any = None
    remove: Any = None
    render: bool = False
    combine: list[Mapping[str, Any]] = field(default_factory=list)
