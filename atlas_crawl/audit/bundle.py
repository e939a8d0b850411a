"""Stored captures as WARC on demand, and a change's evidence bundle (one zip file).

The bundle is checkable without the database: both raw captures, both texts, the
diff, WARC records of both captures, and a manifest with every SHA-256, as JSON for
tools and as text for people.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from atlas_crawl.audit.citation import citation, citation_text
from atlas_crawl.audit.ledger_proofs import inclusion, inclusions
from atlas_crawl.diff.render import render_diff
from atlas_crawl.evidence.ledger import FIELDS, canonical
from atlas_crawl.evidence.warc import WarcPage, write_page, write_warcinfo
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.archive_checks import archived_in
from atlas_crawl.storage.captures import load_capture
from atlas_crawl.storage.queries import run


def check_pages(conn: psycopg.Connection, check_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        """SELECT p.position, coalesce(p.final_url, p.requested_url), p.http_status,
                  p.response_headers, k.checked_at, p.raw_sha256, k.fetcher
           FROM all_check_pages p JOIN checks k USING (check_id)
           JOIN captures c ON c.raw_sha256 = p.raw_sha256
           WHERE p.check_id = %s ORDER BY p.position""",
        (check_id,),
    ).fetchall()
    return [
        {
            "position": r[0],
            "url": r[1],
            "status": r[2] or 0,
            "headers": r[3] or {},
            "body": load_capture(conn, r[5]),
            "checked_at": r[4],
            "raw_sha256": r[5],
            "rendered": r[6].startswith("browser"),
        }
        for r in rows
    ]


def checks_of(conn: psycopg.Connection, value: str) -> list[int]:
    """The checks a record stands on: a check number as it is; a version's (AC-V-...)
    the check that found its text and the one that confirmed it; a change's (AC-C-...)
    those of both its versions."""
    from atlas_crawl.record_ids import parse_record_id

    if value.strip().isdigit():
        return [int(value)]
    try:
        kind, number = parse_record_id(value)
    except ValueError:
        raise NotFound(
            f"{value!r}: expected a check number, a version (AC-V-...) or a change (AC-C-...)"
        ) from None
    if kind not in ("version", "change"):
        raise NotFound(f"{value}: a {kind} has no capture of its own; name a version or change")
    versions = [number]
    if kind == "change":
        row = conn.execute(
            "SELECT from_version_id, to_version_id FROM changes WHERE change_id = %s", (number,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no change {value}")
        versions = [row[0], row[1]]
    checks: list[int] = []
    for version_id in versions:
        row = conn.execute(
            """SELECT v.check_id, c.verified_check_id FROM versions v
               LEFT JOIN changes c ON c.to_version_id = v.version_id
               WHERE v.version_id = %s""",
            (version_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no version {value}")
        checks += [c for c in row if c is not None and c not in checks]
    return checks


def write_checks_warc(conn: psycopg.Connection, check_ids: list[int], fh: BinaryIO) -> int:
    """Every stored page of these checks as WARC records; returns how many pages."""
    write_warcinfo(fh, getattr(fh, "name", "atlas-export.warc.gz"))
    count = 0
    for check_id in check_ids:
        pages = check_pages(conn, check_id)
        if not pages:
            raise NotFound(archived_in(conn, check_id) or f"check {check_id} has no stored capture")
        for page in pages:
            write_page(
                fh,
                WarcPage(
                    page["url"],
                    page["status"],
                    page["headers"],
                    page["body"],
                    page["checked_at"],
                    rendered=page["rendered"],
                ),
            )
            count += 1
    return count


def export_change(conn: psycopg.Connection, change_id: int, out: Path) -> dict[str, Any]:
    row = conn.execute(
        """SELECT c.change_id, c.record_id, ov.check_id, nv.check_id, ov.text, nv.text, c.diff,
                  ov.version_number, nv.version_number, c.verified_check_id
           FROM changes c JOIN versions ov ON ov.version_id = c.from_version_id
           JOIN versions nv ON nv.version_id = c.to_version_id WHERE c.change_id = %s""",
        (change_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no change with id {change_id}")
    _, record_id, old_check, new_check, old_text, new_text, patch, old_n, new_n, verifier = row
    files: dict[str, bytes] = {}
    captures: dict[int, list[str]] = {}
    for side, check_id in (("before", old_check), ("after", new_check)):
        for page in check_pages(conn, check_id):
            name = f"{side}/capture-{page['position']}.html"
            files[name] = page["body"]
            captures.setdefault(check_id, []).append(name)
    files["before/text.md"] = old_text.encode("utf-8")
    files["after/text.md"] = new_text.encode("utf-8")
    files["diff/patch.txt"] = patch.encode("utf-8")
    files["diff/readable.txt"] = render_diff(old_text, new_text).encode("utf-8")
    # What the change did to each provision it touched (hashes checkable in the texts).
    provisions = run(conn, "change_provision_changes", change=change_id)
    files["provisions.json"] = (json.dumps(provisions, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )
    warc = io.BytesIO()
    checks = [old_check, new_check] + ([verifier] if verifier else [])
    write_checks_warc(conn, checks, warc)
    files["evidence.warc.gz"] = warc.getvalue()
    # The change's place in the signed ledger, checkable without the database.
    proof = inclusion(conn, "change", change_id)
    if proof is not None:
        files["ledger/proof.json"] = (json.dumps(proof, indent=2) + "\n").encode("utf-8")
    # Every record the bundle rests on, with its proof: verify_bundle.py ties the files
    # to them.
    files["ledger/entries.json"] = (
        json.dumps(_ledger_evidence(conn, change_id, old_check, new_check, verifier, captures),
                   indent=2) + "\n").encode("utf-8")  # fmt: skip
    for module, name in (("atlas_crawl.evidence", "merkle.py"),
                         ("atlas_crawl.audit", "check_proof.py")):  # fmt: skip
        files[f"ledger/{name}"] = resources.files(module).joinpath(name).read_bytes()
    cite = citation(conn, f"AC-C-{change_id}")
    manifest = {
        "change": record_id,
        "provision_changes": len(provisions),
        "from_version": old_n,
        "to_version": new_n,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "citation": cite,
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(files.items())
        },
        "how_to_check": "python3 verify_bundle.py: every file's SHA-256, the texts, "
        "captures and diff against the ledger entries of the change, its versions and "
        "checks, and those entries against the operator's signed checkpoint (Python's "
        "standard library; the signature with the cryptography package). "
        "evidence.warc.gz opens in any WARC tool.",
    }
    lines = [citation_text(cite), "", "Files (SHA-256):"]
    lines += [f"  {v['sha256']}  {name}" for name, v in manifest["files"].items()]
    checker = resources.files("atlas_crawl.audit").joinpath("verify_bundle.py").read_bytes()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
        bundle.writestr("verify_bundle.py", checker)
        bundle.writestr("manifest.json", json.dumps(manifest, indent=2))
        bundle.writestr("MANIFEST.txt", "\n".join(lines) + "\n")
    return manifest


def _ledger_evidence(
    conn: psycopg.Connection,
    change_id: int,
    old_check: int,
    new_check: int,
    verifier: int | None,
    captures: dict[int, list[str]],
) -> dict[str, Any]:
    """The ledger entries of the change, its two versions and their checks with their
    proofs, and each check's hashed fields with its predecessor's hash: what ties the
    bundle's files to the signed ledger."""
    versions = conn.execute(
        "SELECT from_version_id, to_version_id FROM changes WHERE change_id = %s", (change_id,)
    ).fetchone()
    assert versions is not None
    checks = [("before", old_check), ("after", new_check)]
    checks += [("verifier", verifier)] if verifier else []
    wanted = [("change", "change", change_id), ("before version", "version", versions[0]),
              ("after version", "version", versions[1])]  # fmt: skip
    wanted += [(f"{role} check", "check", check_id) for role, check_id in checks]
    evidence = inclusions(conn, wanted)
    columns = ", ".join(FIELDS)
    evidence["checks"] = []
    for role, check_id in checks:
        row = conn.execute(
            f"SELECT {columns} FROM checks WHERE check_id = %s", (check_id,)
        ).fetchone()
        previous = conn.execute(
            "SELECT previous_evidence_hash FROM document_checks WHERE check_id = %s", (check_id,)
        ).fetchone()
        assert row is not None and previous is not None
        fields = {name: canonical(value) for name, value in zip(FIELDS, row, strict=True)}
        evidence["checks"].append({"role": role, "check_id": check_id, "fields": fields,
                                   "previous": previous[0],
                                   "captures": captures.get(check_id, [])})  # fmt: skip
    return evidence
