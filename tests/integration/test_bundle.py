"""The evidence bundle checks itself whole: ``python3 verify_bundle.py`` in a real export,
then the same bundle tampered with file by file, each mismatch named."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import A, B, CrawlRunner, Site, cli, page, write_declarations


def _crawled_change(crawl: CrawlRunner, site: Site, tmp_path: Path) -> None:
    """A change of a real crawl: fetched, then confirmed by a second fetch."""
    site.serve("/p", page(A))
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": site.url("/p"), "select": "main"}}
    )
    crawl("declarations", path=decl)
    site.serve("/p", page(B))
    crawl("declarations", path=decl)


@pytest.fixture
def bundle(crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str) -> Path:
    """A change of a real crawl, a signed checkpoint, its export."""
    _crawled_change(crawl, site, tmp_path)
    key = tmp_path / "key.pem"
    assert cli("keygen", "--key", str(key), db_url=db_url).returncode == 0
    assert cli("checkpoint", "--key", str(key), db_url=db_url).returncode == 0
    out = tmp_path / "change.zip"
    exported = cli("export", "AC-C-000001", "--out", str(out), db_url=db_url)
    assert exported.returncode == 0, exported.stderr
    folder = tmp_path / "bundle"
    zipfile.ZipFile(out).extractall(folder)
    return folder


def _verify(folder: Path) -> subprocess.CompletedProcess[str]:
    # As a recipient runs it: isolated mode, from the bundle's folder, no project.
    return subprocess.run(
        [sys.executable, "-I", "verify_bundle.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_untouched_bundle_verifies(bundle: Path) -> None:
    result = _verify(bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK: every file, hash, diff and ledger entry holds")
    assert "checkpoint signature: valid" in result.stdout


def _edit_text(folder: Path, name: str) -> None:
    path = folder / name
    path.write_text(path.read_text().replace("email", "e-mail", 1))


def _edit_bytes(folder: Path, name: str) -> None:
    path = folder / name
    path.write_bytes(path.read_bytes().replace(b"We collect", b"We gather", 1))


def _edit_warc(folder: Path, name: str) -> None:
    path = folder / name
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()).replace(
        b"We collect", b"We gather")))  # fmt: skip


def _edit_provisions(folder: Path, name: str) -> None:
    path = folder / name
    provisions = json.loads(path.read_text())
    for p in provisions:
        if p.get("to_text"):
            p["to_text"] = p["to_text"].replace("your", "all your", 1)
    path.write_text(json.dumps(provisions))


def _edit_entries(folder: Path, name: str) -> None:
    path = folder / name
    evidence = json.loads(path.read_text())
    for check in evidence["checks"]:
        check["fields"]["captured_at"] = check["fields"]["captured_at"].replace("T", "T0")[:-1]
    path.write_text(json.dumps(evidence))


TAMPERING: dict[str, Callable[[Path, str], None]] = {
    "after/text.md": _edit_text,
    "before/text.md": _edit_text,
    "after/capture-0.html": _edit_bytes,
    "before/capture-0.html": _edit_bytes,
    "diff/patch.txt": _edit_text,
    "evidence.warc.gz": _edit_warc,
    "provisions.json": _edit_provisions,
    "ledger/entries.json": _edit_entries,
}


@pytest.mark.parametrize("rehash", [False, True], ids=["file", "file-and-manifest"])
def test_each_kind_of_file_tampered_with_is_named(
    bundle: Path, tmp_path: Path, rehash: bool
) -> None:
    """A file edited alone fails its manifest hash; edited with the manifest rehashed
    to match, it fails against the signed ledger (or the texts, for derived files)."""
    for name, tamper in TAMPERING.items():
        copy = tmp_path / f"copy-{rehash}-{name.replace('/', '-')}"
        shutil.copytree(bundle, copy)
        tamper(copy, name)
        if rehash:
            manifest = json.loads((copy / "manifest.json").read_text())
            data = (copy / name).read_bytes()
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(),
                                       "bytes": len(data)}  # fmt: skip
            (copy / "manifest.json").write_text(json.dumps(manifest))
        result = _verify(copy)
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        mismatches = [line for line in result.stdout.splitlines() if line.startswith("MISMATCH")]
        assert mismatches and any(name in line for line in mismatches), (name, result.stdout)
        assert result.stdout.strip().endswith("NOT VERIFIED")
        assert "Traceback" not in result.stderr


def test_a_file_added_or_removed_is_named(bundle: Path) -> None:
    (bundle / "after" / "note.txt").write_text("slipped in")
    (bundle / "diff" / "readable.txt").unlink()
    result = _verify(bundle)
    assert result.returncode == 1
    assert "MISMATCH after/note.txt: not in the manifest" in result.stdout
    assert "MISMATCH diff/readable.txt: missing" in result.stdout


def test_a_bundle_exported_before_any_checkpoint_says_it_cannot_be_proven(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawled_change(crawl, site, tmp_path)
    out = tmp_path / "change.zip"
    assert cli("export", "AC-C-000001", "--out", str(out), db_url=db_url).returncode == 0
    zipfile.ZipFile(out).extractall(tmp_path / "b")
    result = _verify(tmp_path / "b")
    assert result.returncode == 1
    assert "not yet covered by a checkpoint" in result.stdout
