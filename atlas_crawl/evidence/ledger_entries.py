"""The ledger's entries: each check, version and change as one line of text made only
of the fields that never change once written (sql/migrations/010_ledger.sql builds the
same for the history before it). The Merkle leaf of an entry is its RFC 6962 leaf hash.
"""

from __future__ import annotations

import hashlib

from atlas_crawl.evidence.merkle import leaf_hash


def check_entry(check_id: int, evidence_hash: str | None) -> str:
    # The evidence hash covers the check's fields and its predecessor in the document.
    return f"check|{check_id}|{evidence_hash or ''}"


def version_entry(
    version_id: int, document_id: int, number: int, text_sha256: str, check_id: int
) -> str:
    return f"version|{version_id}|{document_id}|{number}|{text_sha256}|{check_id}"


def change_entry(
    change_id: int, from_version: int, to_version: int, diff: str, added: int, removed: int
) -> str:
    digest = hashlib.sha256(diff.encode("utf-8")).hexdigest()
    return f"change|{change_id}|{from_version}|{to_version}|{digest}|{added}|{removed}"


def entry_leaf(entry: str) -> bytes:
    return leaf_hash(entry.encode("utf-8"))
