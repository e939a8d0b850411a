"""Record IDs: one reader for every command that takes one."""

from __future__ import annotations

import re

import pytest

from atlas_crawl.record_ids import parse_record_id


def test_record_ids_of_every_kind_and_bare_numbers() -> None:
    assert parse_record_id(" ac-c-000003 ") == ("change", 3)
    assert parse_record_id("AC-P-000123") == ("provision", 123)
    assert parse_record_id("12") == ("version", 12)  # a bare number cites a version
    assert parse_record_id("12", "change") == ("change", 12)  # or what the command reads
    assert parse_record_id("AC-C-7", "change") == ("change", 7)


@pytest.mark.parametrize(
    ("value", "expected", "message"),
    [
        ("AC-V-000001", "change", "'AC-V-000001' is not a change (like AC-C-000003, or 3)"),
        ("AC-X-1", None, "not a version, change or provision record ID: 'AC-X-1'"),
        ("twelve", "provision", "'twelve' is not a provision (like AC-P-000003, or 3)"),
    ],
)
def test_a_wrong_record_id_is_named(value: str, expected: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_record_id(value, expected)


def test_platforms_have_a_prefix_of_their_own_and_their_former_ids_stay_readable() -> None:
    assert parse_record_id("AC-PL-00001") == ("platform", 1)
    assert parse_record_id("AC-D-00003") == ("document", 3)
    # Five digits after AC-P- were a platform's: never read as provision 1.
    assert parse_record_id("AC-P-00001") == ("platform", 1)
    assert parse_record_id("AC-P-00001", "platform") == ("platform", 1)
    assert parse_record_id("AC-P-000001") == ("provision", 1)
    with pytest.raises(ValueError, match="platform's former record ID \\(now AC-PL-00001\\)"):
        parse_record_id("AC-P-00001", "provision")
