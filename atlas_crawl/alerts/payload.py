"""The webhook payload: a versioned JSON document about one change for one watch.

Schema ``atlas-crawl.alert/1`` (documented in the README): ``schema``,
``idempotency_key`` (the same on every retry), ``watch`` {id, target}, ``change``
{record_id, detected_at, kind, kind_reason, silent, verified, severity, chars_added,
chars_removed}, ``document`` {platform, document_type, record_id, url, stated_date,
previous_stated_date}, ``provisions`` [{record_id, kind, related_record_id, heading,
clause_types [{type, severity}]}], ``severity_marks`` [{record_id, type, mark,
from_severity, to_severity}], ``summary`` {title, text, html}, ``evidence``
{version_record_id, capture_sha256, source_url, archive_url}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from atlas_crawl.history.summary import Summary

SCHEMA = "atlas-crawl.alert/1"
SIGNATURE_HEADER = "X-Atlas-Signature-256"  # "sha256=" + HMAC-SHA256(secret, body), hex


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def payload(summary: Summary, key: str, watch_id: int, target: str) -> dict[str, Any]:
    c = summary.change
    return {
        "schema": SCHEMA,
        "idempotency_key": key,
        "watch": {"id": watch_id, "target": target},
        "change": {
            "record_id": c["record_id"],
            "detected_at": _iso(c["detected_at"]),
            "kind": c["kind"],
            "kind_reason": c["kind_reason"],
            "silent": bool(c["silent"]),
            "verified": bool(c["verified"]),
            "severity": summary.severity,
            "chars_added": c["chars_added"],
            "chars_removed": c["chars_removed"],
        },
        "document": {
            "platform": c["platform"],
            "document_type": c["document_type"],
            "record_id": c["document_record_id"],
            "url": c["url"],
            "stated_date": _iso(c["new_stated_date"]),
            "previous_stated_date": _iso(c["old_stated_date"]),
        },
        "provisions": [
            {
                "record_id": p["record_id"],
                "kind": p["kind"],
                "related_record_id": p["related_record_id"],
                "heading": p["heading"],
                "clause_types": p["clause_types"],
            }
            for p in summary.provisions
        ],
        "severity_marks": [
            {k: m[k] for k in ("record_id", "type", "mark", "from_severity", "to_severity")}
            for m in summary.marks
        ],
        "summary": {"title": summary.title, "text": summary.text(), "html": summary.html()},
        "evidence": {
            "version_record_id": c["version_record_id"],
            "capture_sha256": c["capture_sha256"],
            "source_url": c["url"],
            "archive_url": c["archive_url"],
        },
    }


def body_of(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
