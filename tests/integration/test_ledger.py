"""The ledger against its own operator: checkpoints signed with an Ed25519 key prove
later that the history they covered was not rewritten, even with every hash in the
database recomputed; a citation's inclusion proof checks without the database."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg

from atlas_crawl.diff.patch import make_diff
from atlas_crawl.evidence.ledger import FIELDS, evidence_hash
from atlas_crawl.evidence.ledger_entries import change_entry, check_entry, entry_leaf, version_entry
from atlas_crawl.model import sha256_hex
from atlas_crawl.storage.provisions import ensure_history
from tests.helpers import A, B, C, CrawlRunner, Site, cli, page, write_declarations


def _history(crawl: CrawlRunner, site: Site, tmp_path: Path) -> Path:
    site.serve("/p", page(A))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": site.url("/p"), "select": "main"}}
    )
    crawl("declarations", path=decl)
    site.serve("/p", page(B))
    crawl("declarations", path=decl)  # change 1, verified
    return decl


def _checkpoint(db_url: str, tmp_path: Path, name: str) -> Path:
    key = tmp_path / "ledger-key.pem"
    if not key.exists():
        made = cli("keygen", "--key", str(key), db_url=db_url)
        assert made.returncode == 0, made.stderr
    out = tmp_path / name
    result = cli("checkpoint", "--key", str(key), "--out", str(out), db_url=db_url)
    assert result.returncode == 0, result.stderr
    return out


def _rewrite_version_2(db_url: str, recompute_leaves: bool) -> None:
    """An operator rewrites version 2's text and recomputes every hash that covers it:
    the version's, its checks' text hashes and the chain after them, the diffs, the
    provisions cut from it, and (unless told not to) the ledger's stored leaves."""
    with psycopg.connect(db_url, autocommit=True) as conn, conn.transaction():
        version_id, check_id, document_id, number, text = conn.execute(
            """SELECT version_id, check_id, document_id, version_number, text FROM versions
               WHERE version_number = 2"""
        ).fetchone()
        forged = text.replace("phone number", "postal address")
        digest = sha256_hex(forged)
        conn.execute(
            "UPDATE versions SET text = %s, text_sha256 = %s WHERE version_id = %s",
            (forged, digest, version_id),
        )
        conn.execute(
            "UPDATE checks SET text_sha256 = %s WHERE document_id = %s AND text_sha256 = %s",
            (digest, document_id, sha256_hex(text)),
        )
        leaves: list[tuple[bytes, str, int]] = []
        changes = conn.execute(
            """SELECT c.change_id, c.from_version_id, c.to_version_id, f.text, t.text
               FROM changes c JOIN versions f ON f.version_id = c.from_version_id
               JOIN versions t ON t.version_id = c.to_version_id ORDER BY c.change_id"""
        ).fetchall()
        for change_id, from_id, to_id, from_text, to_text in changes:
            diff = make_diff(from_text, to_text)
            conn.execute(
                """UPDATE changes SET diff = %s, chars_added = %s, chars_removed = %s
                   WHERE change_id = %s""",
                (diff.patch, diff.chars_added, diff.chars_removed, change_id),
            )
            entry = change_entry(
                change_id, from_id, to_id, diff.patch, diff.chars_added, diff.chars_removed
            )
            leaves.append((entry_leaf(entry), "change", change_id))
        previous = None
        columns = ", ".join(FIELDS)
        rows = conn.execute(
            f"SELECT check_id, {columns} FROM checks WHERE document_id = %s ORDER BY check_id",
            (document_id,),
        ).fetchall()
        for row in rows:
            chained = evidence_hash(dict(zip(FIELDS, row[1:], strict=True)), previous)
            conn.execute(
                "UPDATE checks SET evidence_hash = %s WHERE check_id = %s", (chained, row[0])
            )
            previous = chained
            leaves.append((entry_leaf(check_entry(row[0], chained)), "check", row[0]))
        entry = version_entry(version_id, document_id, number, digest, check_id)
        leaves.append((entry_leaf(entry), "version", version_id))
        # The provisions, cut again from the forged texts.
        for statement in (
            "DELETE FROM provision_edits",
            "DELETE FROM version_provisions",
            "DELETE FROM version_segmentations",
            "DELETE FROM provision_records",
        ):
            conn.execute(statement)
        ensure_history(conn, document_id)
        if recompute_leaves:
            for leaf, kind, record in leaves:
                conn.execute(
                    # a check's leaf is not stored (rebuilt from it): nothing to forge
                    "UPDATE ledger_store SET leaf = %s "
                    "WHERE kind = %s AND record = %s AND leaf IS NOT NULL",
                    (leaf, kind, record),
                )


def test_checkpoints_hold_as_history_grows_and_catch_a_recomputed_rewrite(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _history(crawl, site, tmp_path)
    first = _checkpoint(db_url, tmp_path, "cp1.json")
    site.serve("/p", page(C))
    crawl("declarations", path=decl)  # more history: change 2
    crawl("declarations", path=decl)
    second = _checkpoint(db_url, tmp_path, "cp2.json")
    key = (tmp_path / "ledger-key.pem.pub").read_text().strip()
    ok = cli("verify", "--checkpoint", str(first), str(second), "--public-key", key,
             db_url=db_url)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "still holds the" in ok.stdout and "consistent with today's" in ok.stdout

    _rewrite_version_2(db_url, recompute_leaves=True)
    plain = cli("verify", db_url=db_url, evidence=tmp_path / "evidence")
    assert plain.returncode == 0, plain.stdout  # every hash in the database agrees
    caught = cli("verify", "--checkpoint", str(first), "--public-key", key, db_url=db_url)
    assert caught.returncode == 1
    assert "rewritten, every hash recomputed, between ledger entry 0" in caught.stdout


def test_a_rewrite_that_left_the_stored_leaves_is_named_exactly(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _history(crawl, site, tmp_path)
    first = _checkpoint(db_url, tmp_path, "cp1.json")
    _rewrite_version_2(db_url, recompute_leaves=False)
    caught = cli("verify", "--checkpoint", str(first), db_url=db_url)
    assert caught.returncode == 1
    # The first entry whose stored leaf the rewrite left is the forged version's (the
    # checks' leaves are not stored: their rewritten chain is caught by the checkpoint).
    with psycopg.connect(db_url) as conn:
        position, version_id = conn.execute(
            """SELECT l.position, l.record FROM ledger l
               JOIN versions v ON l.kind = 'version' AND v.version_id = l.record
               WHERE v.version_number = 2"""
        ).fetchone()
    assert f"ledger entry {position}: version {version_id} no longer matches" in caught.stdout


def test_a_forged_checkpoint_is_refused(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _history(crawl, site, tmp_path)
    cp = _checkpoint(db_url, tmp_path, "cp.json")
    data = json.loads(cp.read_text())
    data["tree_size"] -= 1  # a shorter history, claimed under the operator's signature
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    result = cli("verify", "--checkpoint", str(forged), db_url=db_url)
    assert result.returncode == 1 and "signature does not match" in result.stdout
    other = tmp_path / "other-key.pem"
    assert cli("keygen", "--key", str(other), db_url=db_url).returncode == 0
    stranger = (tmp_path / "other-key.pem.pub").read_text().strip()
    wrong = cli("verify", "--checkpoint", str(cp), "--public-key", stranger, db_url=db_url)
    assert wrong.returncode == 1 and "another key than the one trusted" in wrong.stdout


def test_an_inclusion_proof_checks_offline(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _history(crawl, site, tmp_path)
    before = json.loads(cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout)
    assert before["ledger"]["status"].startswith("not yet covered")
    _checkpoint(db_url, tmp_path, "cp.json")
    cited = json.loads(cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout)
    assert cited["ledger"]["status"] == "covered"
    bundle = tmp_path / "change.zip"
    assert cli("export", "AC-C-000001", "--out", str(bundle), db_url=db_url,
               evidence=tmp_path / "evidence").returncode == 0  # fmt: skip
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(bundle).extractall(unpacked)
    # Only the bundle: isolated mode, run from the bundle's folder, no database.
    check = subprocess.run(
        [sys.executable, "-I", "ledger/check_proof.py", "ledger/proof.json"],
        cwd=unpacked, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "inclusion in the tree of" in check.stdout and check.stdout.strip().endswith("OK")
    proof = json.loads((unpacked / "ledger/proof.json").read_text())
    proof["entry"] = proof["entry"].replace("|1|", "|9|", 1)
    (unpacked / "ledger/forged.json").write_text(json.dumps(proof))
    forged = subprocess.run(
        [sys.executable, "-I", "ledger/check_proof.py", "ledger/forged.json"],
        cwd=unpacked, capture_output=True, text=True,
    )  # fmt: skip
    assert forged.returncode == 1 and "NOT PROVEN" in forged.stdout


def test_the_first_checkpoint_makes_the_key_and_says_where(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _history(crawl, site, tmp_path)
    data = tmp_path / "data"
    first = cli("checkpoint", db_url=db_url, env={"ATLAS_DATA_DIR": str(data)})
    assert first.returncode == 0, first.stderr
    assert f"made the signing key {data / 'ledger-key.pem'}" in first.stderr
    assert (data / "ledger-key.pem").exists() and (data / "ledger-key.pem.pub").exists()
    again = cli("checkpoint", db_url=db_url, env={"ATLAS_DATA_DIR": str(data)})
    assert again.returncode == 0 and "made the signing key" not in again.stderr
    named = cli("checkpoint", "--key", str(tmp_path / "typo.pem"), db_url=db_url)
    assert named.returncode == 2 and "no signing key at" in named.stderr
