"""What a watch names, as typed: ``platform:NAME``, ``document:PLATFORM/DOCUMENT TYPE``,
``provision:AC-P-...``, ``type:CLAUSE_TYPE``; and where its alerts go: an ``http(s)://``
webhook URL, ``mailto:ADDRESS``, ``atom:FEED NAME`` or any Apprise URL. Bad input is a
``ValueError`` whose message is the one line the user sees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from atlas_crawl.clauses.taxonomy import type_id_of

TARGET_KINDS = ("platform", "document", "provision", "type")
ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
_FEED = re.compile(r"^[\w][\w .-]{0,99}$")


@dataclass(frozen=True)
class Target:
    kind: str
    platform: str | None = None
    document: str | None = None
    provision: str | None = None
    clause_type: str | None = None


@dataclass(frozen=True)
class Destination:
    channel: str  # webhook, email, apprise, atom
    address: str  # the URL, the e-mail address, the Apprise URL or the feed name


def parse_target(text: str) -> Target:
    kind, _, rest = text.partition(":")
    rest = rest.strip()
    if kind not in TARGET_KINDS or not rest:
        raise ValueError(
            f"bad target {text!r}: expected platform:NAME, document:PLATFORM/DOCUMENT TYPE, "
            "provision:AC-P-000123 or type:CLAUSE_TYPE"
        )
    if kind == "platform":
        return Target(kind, platform=rest)
    if kind == "document":
        platform, slash, document = rest.partition("/")
        if not slash or not platform.strip() or not document.strip():
            raise ValueError(f"bad target {text!r}: expected document:PLATFORM/DOCUMENT TYPE")
        return Target(kind, platform=platform.strip(), document=document.strip())
    if kind == "provision":
        return Target(kind, provision=rest)
    try:
        return Target(kind, clause_type=type_id_of(rest))
    except KeyError as exc:
        raise ValueError(f"bad target {text!r}: {exc.args[0]}") from None


def feed_file_name(feed: str) -> str:
    """The file a feed is written to: its name, lower case, spaces as dashes."""
    return re.sub(r"[\s.]+", "-", feed.strip().lower()).strip("-") + ".xml"


def parse_destination(text: str) -> Destination:
    text = text.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in text) and not text.lower().startswith("atom:"):
        raise ValueError(f"bad destination {text!r}: it holds spaces or control characters")
    scheme = text.partition(":")[0].lower()
    if scheme in ("http", "https"):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ValueError(f"bad webhook URL {text!r}: it names no host")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError(f"bad webhook URL {text!r}: its port is not a number") from None
        return Destination("webhook", text)
    if scheme == "mailto":
        address = text[len("mailto:") :].strip()
        if not ADDRESS.match(address):
            raise ValueError(f"bad e-mail address {address!r}: expected mailto:NAME@DOMAIN")
        return Destination("email", address)
    if scheme == "atom":
        feed = text[len("atom:") :].strip()
        if not _FEED.match(feed):
            raise ValueError(f"bad feed name {feed!r}: letters, digits, spaces, '.', '-', '_'")
        return Destination("atom", feed)
    return Destination("apprise", _apprise_url(text))


def _apprise_url(text: str) -> str:
    import apprise

    if "://" not in text or apprise.Apprise.instantiate(text) is None:
        raise ValueError(
            f"bad destination {text!r}: not an http(s):// webhook URL, mailto:ADDRESS, "
            "atom:FEED NAME, or an Apprise URL it knows (slack://, discord://, json://, ...)"
        )
    return text
