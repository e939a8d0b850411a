"""Alerts without a database: what a watch may name, retry delays, signatures, feeds."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest

from atlas_crawl.alerts.atom import feed_xml
from atlas_crawl.alerts.notify import MAX_DELAY, retry_delay
from atlas_crawl.alerts.payload import signature
from atlas_crawl.alerts.targets import feed_file_name, parse_destination, parse_target
from atlas_crawl.history.summary import Summary

ATOM = "{http://www.w3.org/2005/Atom}"


def _change(record_id: str, **fields: object) -> dict[str, object]:
    """A change row as history/summary.py reads it."""
    row = {
        "record_id": record_id, "platform": "P", "document_type": "Terms",
        "detected_at": datetime(2026, 11, 29, tzinfo=UTC), "url": "http://x.example/",
        "kind": "content", "kind_reason": None, "silent": True, "old_stated_date": None,
        "new_stated_date": None, "version_record_id": "AC-V-000002",
        "capture_sha256": "ab" * 32, "archive_url": None,
    }  # fmt: skip
    return {**row, **fields}


def test_targets_and_destinations_as_typed() -> None:
    assert parse_target("document:LinkedIn/Privacy Policy").document == "Privacy Policy"
    assert parse_target("type:ai-training").clause_type == "ai-training"
    assert parse_destination("https://h.example/x").channel == "webhook"
    assert parse_destination("mailto:legal@example.com").address == "legal@example.com"
    assert parse_destination("json://127.0.0.1:8080/x").channel == "apprise"
    assert parse_destination("atom:AI training").address == "AI training"
    assert feed_file_name("AI training") == "ai-training.xml"
    assert feed_file_name("a..b") == "a-b.xml"


@pytest.mark.parametrize(
    ("target", "says"),
    [("linkedin", "expected platform:NAME"), ("type:nope", "no clause type 'nope'"),
     ("document:LinkedIn", "expected document:PLATFORM/DOCUMENT TYPE"),
     ("platform:", "expected platform:NAME")],
)  # fmt: skip
def test_bad_targets(target: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_target(target)


@pytest.mark.parametrize(
    ("destination", "says"),
    [("ftp://x.example/", "bad destination"), ("https://", "names no host"),
     ("https://x.example:port/", "port is not a number"),
     ("mailto:someone", "bad e-mail address"), ("mailto:a@b.com\nBcc: c@d.e", "control"),
     ("https://x.example/a b", "spaces or control characters"),
     ("atom:../../etc", "bad feed name")],
)  # fmt: skip
def test_bad_destinations(destination: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_destination(destination)


def test_retries_double_with_jitter_up_to_an_hour() -> None:
    rng = random.Random(1)
    delays = [retry_delay(n, 30, rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        assert 0.5 * 30 * 2 ** (n - 1) <= delay <= 1.5 * 30 * 2 ** (n - 1)
    assert retry_delay(30, 30, rng) == MAX_DELAY
    assert retry_delay(1, 0, rng) == 0


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"schema": "atlas-crawl.alert/1"}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature("k", body) == f"sha256={expected}"


def test_a_feed_stays_valid_xml_whatever_the_page_held() -> None:
    change = _change("AC-C-000007", platform="Hostile", document_type="Terms\x0b",
                     url="http://x.example/?a=1&b=<2>", silent=False)  # fmt: skip
    summary = Summary(change, [], [], ["New </content> text \x00 with \x1f controls"], [], None)
    root = ET.fromstring(feed_xml("platform:Hostile", "Hostile & co", [summary]))
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}id").text == "urn:atlas-crawl:change:AC-C-000007"
    assert "New &lt;/content&gt; text  with  controls" in entry.find(f"{ATOM}content").text
    assert root.find(f"{ATOM}title").text == "Hostile & co"
    empty = ET.fromstring(feed_xml("type:arbitration", "arbitration", []))
    assert empty.find(f"{ATOM}updated").text == "1970-01-01T00:00:00Z"


def test_a_large_rewrite_names_its_weightiest_provisions_first() -> None:
    change = _change("AC-C-000001")
    plain = {"kind": "modified", "related_record_id": None, "heading": "", "clause_types": []}
    provisions = [{**plain, "record_id": f"AC-P-{n:06d}"} for n in range(1, 41)]
    provisions[35]["clause_types"] = [{"type": "arbitration", "severity": "high"}]
    text = Summary(change, provisions, [], [], [], "high").text()
    assert "modified AC-P-000036 [arbitration high]" in text  # past the first 30, kept
    assert "modified AC-P-000030" not in text and "  - and 10 more" in text
    assert "Provisions: 0 added, 0 removed, 40 modified, 0 moved." in text
