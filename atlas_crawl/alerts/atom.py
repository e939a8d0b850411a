"""Atom feeds (RFC 4287) of changes: each entry a change's summary, its id the change's
record ID, so a reader never sees one change twice. ``feeds --out DIR`` writes one feed
per platform, document, provision and clause type, and the named feeds of ``atom:``
watches; ``notify`` keeps the named feeds current."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import psycopg

from atlas_crawl.alerts.targets import feed_file_name
from atlas_crawl.clauses.taxonomy import RANK
from atlas_crawl.history.summary import Summary, change_summaries, change_summary
from atlas_crawl.storage.queries import run

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50  # per feed, newest first
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the "updated" of a feed with no entry yet


# Characters XML 1.0 cannot carry at all (a hostile page's control characters would make
# the whole feed unreadable): dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def feed_xml(feed_id: str, title: str, summaries: list[Summary]) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(
            parent, f"{{{ATOM}}}{tag}", {k: xml_safe(v) for k, v in attrs.items()}
        )
        child.text = xml_safe(text) if text is not None else None
        return child

    newest = max((s.change["detected_at"] for s in summaries), default=EPOCH)
    add(feed, "id", f"urn:atlas-crawl:feed:{feed_id}")
    add(feed, "title", title)
    add(feed, "updated", _time(newest))
    add(add(feed, "author"), "name", "atlas-crawl")
    add(feed, "generator", "atlas-crawl")
    for s in summaries:
        entry = add(feed, "entry")
        add(entry, "id", f"urn:atlas-crawl:change:{s.change['record_id']}")
        add(entry, "title", s.title)
        add(entry, "updated", _time(s.change["detected_at"]))
        add(entry, "link", rel="alternate", href=s.change["url"])
        add(entry, "summary", s.text().splitlines()[1] if s.marks else s.title, type="text")
        add(entry, "content", s.html(), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Readers (a web server, a feed reader) never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".feed-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


class Summaries:
    """Each change summarized once per run."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.cache: dict[int, Summary] = {}

    def __call__(self, change_id: int) -> Summary:
        if change_id not in self.cache:
            self.cache[change_id] = change_summary(self.conn, change_id)
        return self.cache[change_id]

    def many(self, change_ids: list[int]) -> list[Summary]:
        """These changes' summaries in order, those not made yet read together."""
        missing = [i for i in dict.fromkeys(change_ids) if i not in self.cache]
        self.cache.update(change_summaries(self.conn, missing))
        return [self(i) for i in change_ids]


def write_named_feed(conn: psycopg.Connection, name: str, folder: Path,
                     summaries: Summaries | None = None) -> Path:  # fmt: skip
    """The feed of the ``atom:NAME`` watches (``watch/NAME.xml`` in ``folder``): the
    changes they were notified of."""
    summarize = summaries or Summaries(conn)
    rows = run(conn, "feed_entries", feed=name, limit=ENTRIES)
    path = folder / "watch" / feed_file_name(name)
    entries = summarize.many([r["change_id"] for r in rows])
    write_atomically(path, feed_xml(f"watch:{name}", name, entries))
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-") or "x"


def write_all_feeds(conn: psycopg.Connection, folder: Path) -> list[Path]:
    """Every platform's, document's, clause type's and changed provision's feed (content
    changes only), and every named feed of an atom: watch."""
    summarize = Summaries(conn)
    changes = summarize.many([r["change_id"] for r in run(conn, "feed_changes")])
    feeds: dict[Path, tuple[str, str, list[Summary]]] = {}

    def put(path: str, feed_id: str, title: str, s: Summary) -> None:
        entries = feeds.setdefault(folder / path, (feed_id, title, []))[2]
        if len(entries) < ENTRIES:
            entries.append(s)

    for s in changes:
        c = s.change
        platform, document = c["platform"], c["document_type"]
        put(f"platform/{_slug(platform)}.xml", f"platform:{platform}", platform, s)
        put(f"document/{_slug(platform)}--{_slug(document)}.xml",
            f"document:{platform}/{document}", f"{platform} / {document}", s)  # fmt: skip
        for p in s.provisions:
            put(f"provision/{p['record_id']}.xml", f"provision:{p['record_id']}",
                f"{p['record_id']} ({platform} / {document})", s)  # fmt: skip
        for clause_type in _types_touched(s.provisions):
            put(f"type/{clause_type}.xml", f"type:{clause_type}", clause_type, s)
    written = []
    for path, (feed_id, title, entries) in sorted(feeds.items()):
        write_atomically(path, feed_xml(feed_id, title, entries))
        written.append(path)
    for row in run(conn, "atom_feed_names"):
        written.append(write_named_feed(conn, row["destination"], folder, summarize))
    return written


def _types_touched(provisions: Iterable[dict]) -> list[str]:
    """Types a change brought or rewrote at medium or high: what a type watch sees."""
    return sorted({t["type"] for p in provisions if p["kind"] != "moved"
                   for t in p["clause_types"] if RANK[t["severity"]] >= 1})  # fmt: skip
