"""The tamper-evident ledger: a hash per check over its evidence and its predecessor.

Each check's ``evidence_hash`` is the SHA-256 of a canonical JSON of the fields that
say what was fetched and what came of it, plus the ``evidence_hash`` of the previous
check of the same document. Changing, inserting or deleting any check breaks the chain
from there on; ``atlas-crawl verify`` recomputes it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# The fields covered, in this order. Outcomes are not: a candidate becomes 'changed'
# or 'unconfirmed' when it is resolved, without any evidence changing.
FIELDS = (
    "document_id",
    "checked_at",
    "captured_at",
    "requested_url",
    "final_url",
    "http_status",
    "fetcher",
    "raw_sha256",
    "text_sha256",
    "warc_digest",
)


def canonical(value: Any) -> Any:
    """A field as it is hashed (times in UTC, to the microsecond)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def evidence_hash(fields: dict[str, Any], previous: str | None) -> str:
    payload = {name: canonical(fields.get(name)) for name in FIELDS}
    payload["previous"] = previous or ""
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
