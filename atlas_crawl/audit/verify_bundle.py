"""Check a change's evidence bundle, whole, with nothing but Python: ``python3
verify_bundle.py`` in the unzipped bundle (or ``python -m atlas_crawl.audit.verify_bundle
FOLDER``). Exit 0 when every check holds, 1 naming each file that does not.

What is checked, and against what:

1. every file against the SHA-256 the manifest gives it (a changed, added or missing file);
2. the two texts against the text hashes of the versions' ledger entries;
3. each capture against the raw hash of the check that fetched it, and each check's
   fields against its evidence hash in the ledger (the capture, its time and address);
4. the diff: the patch's hash against the change's ledger entry, and the patch applied
   strictly to the old text must give exactly the new text, with the counts the entry
   gives;
5. the WARC records' payloads against the captures, the provisions against the texts;
6. every ledger entry (change, both versions, their checks) in the Merkle tree of the
   signed checkpoint, and the checkpoint's signature (when the ``cryptography`` package
   is there; otherwise said "not checked"), ``--key HEX`` to require the operator's key.

A bundle whose change came after the last checkpoint cannot be proven: it says so.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "ledger"))
try:  # in an exported bundle, the ledger checker lies in ledger/
    import check_proof  # type: ignore[import-not-found]
except ImportError:
    from atlas_crawl.audit import check_proof

# The fields of a check's evidence hash, in the order the crawler hashes them.
FIELDS = ("document_id", "checked_at", "captured_at", "requested_url", "final_url",
          "http_status", "fetcher", "raw_sha256", "text_sha256", "warc_digest")  # fmt: skip
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evidence_hash(fields: dict, previous: str | None) -> str:
    payload = {name: fields.get(name) for name in FIELDS}
    payload["previous"] = previous or ""
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(data.encode("utf-8"))


def combined(hashes: list[str]) -> str:
    """A check's raw hash: its page's, or the hash of its pages' hashes."""
    return hashes[0] if len(hashes) == 1 else sha256("\n".join(hashes).encode("ascii"))


def apply_strictly(old: str, patch: str) -> tuple[str, int, int]:
    """The text a diff-match-patch patch makes of ``old``, applied where it says (no
    fuzzy search), and the characters it adds and removes; ValueError if it does not
    apply."""
    text, added, removed = old, 0, 0
    lines = patch.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        hunk = _HUNK.match(lines[i])
        if hunk is None:
            raise ValueError(f"not a patch line: {lines[i][:60]!r}")
        start, length = int(hunk.group(3)), hunk.group(4)
        at = start if length == "0" else start - 1
        before, after = [], []
        i += 1
        while i < len(lines) and lines[i][:1] in (" ", "-", "+"):
            sign, part = lines[i][0], unquote(lines[i][1:])
            if sign in " -":
                before.append(part)
            if sign in " +":
                after.append(part)
            added += len(part) if sign == "+" else 0
            removed += len(part) if sign == "-" else 0
            i += 1
        old_part, new_part = "".join(before), "".join(after)
        if text[at : at + len(old_part)] != old_part:
            raise ValueError(f"a hunk does not match the text at character {at}")
        text = text[:at] + new_part + text[at + len(old_part) :]
    return text, added, removed


def warc_payloads(data: bytes) -> dict[str, list[str]]:
    """The SHA-256 of each WARC response record's HTTP body, by target URI."""
    raw = gzip.decompress(data)
    found: dict[str, list[str]] = {}
    at = 0
    while at < len(raw):
        head_end = raw.index(b"\r\n\r\n", at)
        headers = {}
        for line in raw[at:head_end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().decode("utf-8", "replace")
        start = head_end + 4
        block = raw[start : start + int(headers[b"content-length"])]
        at = start + len(block) + 4  # the record ends with two CRLF
        if headers.get(b"warc-type") == "response":
            body = block.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in block else b""
            found.setdefault(headers.get(b"warc-target-uri", ""), []).append(sha256(body))
    return found


class Bundle:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.notes: list[str] = []

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def fail(self, name: str, why: str) -> None:
        self.problems.append(f"{name}: {why}")

    def files(self, manifest: dict) -> None:
        listed = manifest.get("files", {})
        for name, expected in sorted(listed.items()):
            path = self.folder / name
            if not path.is_file():
                self.fail(name, "missing")
            elif sha256(path.read_bytes()) != expected["sha256"]:
                self.fail(name, "its SHA-256 is not the manifest's (the file was changed)")
        known = set(listed) | {"manifest.json", "MANIFEST.txt", "verify_bundle.py"}
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            name = path.relative_to(self.folder).as_posix()
            if name not in known and "__pycache__" not in name:
                self.fail(name, "not in the manifest (added to the bundle)")

    def ledger(self, evidence: dict, key: str | None) -> dict[str, dict]:
        """Each entry of ledger/entries.json proven under the signed checkpoint."""
        if evidence.get("status") != "covered":
            self.fail("ledger/entries.json", f"not proven: {evidence.get('status')}")
            return {}
        proven = {}
        for item in evidence["entries"]:
            proof = {**item, "checkpoint": evidence["checkpoint"]}
            ok, lines = check_proof.check(proof, key)
            if not ok:
                self.fail("ledger/entries.json", f"{item['entry']}: {lines[-1]} ({lines[1]})")
            proven[item["role"]] = dict(zip(("kind", "id", *_ENTRY_PARTS[item["kind"]]),
                                            item["entry"].split("|"), strict=True))  # fmt: skip
        signature = check_proof._signature_ok(evidence["checkpoint"], key)
        self.notes.append(f"checkpoint signature: {signature}")
        return proven

    def texts_and_diff(self, proven: dict[str, dict]) -> None:
        texts = {}
        for side in ("before", "after"):
            name = f"{side}/text.md"
            texts[side] = self.read(name)
            if sha256(texts[side]) != proven[f"{side} version"]["text_sha256"]:
                self.fail(name, "its SHA-256 is not the text hash of its version in the ledger")
        change, patch = proven["change"], self.read("diff/patch.txt")
        if sha256(patch) != change["diff_sha256"]:
            self.fail("diff/patch.txt", "its SHA-256 is not the change's in the ledger")
        try:
            new, added, removed = apply_strictly(texts["before"].decode(), patch.decode())
        except (ValueError, UnicodeDecodeError) as exc:
            self.fail("diff/patch.txt", f"does not apply to before/text.md ({exc})")
            return
        if new.encode("utf-8") != texts["after"]:
            self.fail("diff/patch.txt", "applied to before/text.md, it does not give after/text.md")
        if (str(added), str(removed)) != (change["added"], change["removed"]):
            self.fail("diff/patch.txt", "adds or removes other counts than the ledger's")
        for side in ("before", "after"):
            if proven[f"{side} version"]["id"] != change[f"{'from' if side == 'before' else 'to'}"]:
                self.fail("ledger/entries.json", f"the change does not lead from/to the {side} "
                                                 "version")  # fmt: skip

    def captures(self, evidence: dict, proven: dict[str, dict]) -> dict[str, str]:
        """Captures against their checks, checks against their evidence hash."""
        hashes: dict[str, str] = {}
        for check in evidence["checks"]:
            role, fields = check["role"], check["fields"]
            entry = proven.get(f"{role} check")
            if entry is None or int(entry["id"]) != check["check_id"]:
                self.fail("ledger/entries.json", f"no ledger entry for the {role} check")
                continue
            if evidence_hash(fields, check["previous"]) != entry["evidence"]:
                self.fail("ledger/entries.json",
                          f"the {role} check's fields do not give its evidence hash")  # fmt: skip
            names = check["captures"]
            page_hashes = [sha256(self.read(n)) for n in names]
            hashes.update(zip(names, page_hashes, strict=True))
            if names and combined(page_hashes) != fields["raw_sha256"]:
                self.fail(", ".join(names),
                          f"not the capture the {role} check recorded (raw SHA-256)")  # fmt: skip
            version = proven.get(f"{role} version")
            if version is not None and version["check"] != str(check["check_id"]):
                self.fail("ledger/entries.json", f"the {role} version is not the {role} check's")
            if version is not None and fields["text_sha256"] != version["text_sha256"]:
                self.fail("ledger/entries.json", f"the {role} check read another text")
        return hashes

    def derived(self, captures: dict[str, str]) -> None:
        """The WARC records and the provisions, against the captures and the texts."""
        in_warc = {h for hs in warc_payloads(self.read("evidence.warc.gz")).values() for h in hs}
        for name, digest in captures.items():
            if digest not in in_warc:
                self.fail("evidence.warc.gz", f"holds no record of {name}")
        before = self.read("before/text.md").decode("utf-8")
        after = self.read("after/text.md").decode("utf-8")
        for p in json.loads(self.read("provisions.json")):
            for field, text in (("from_text", before), ("to_text", after)):
                if p.get(field) and p[field].strip() not in text:
                    self.fail("provisions.json", f"{p['record_id']}: its {field} is not in the "
                                                 "version's text")  # fmt: skip


_ENTRY_PARTS = {
    "check": ("evidence",),
    "version": ("document", "number", "text_sha256", "check"),
    "change": ("from", "to", "diff_sha256", "added", "removed"),
}


def verify(folder: Path, key: str | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes) of the bundle in ``folder``."""
    bundle = Bundle(folder)
    manifest = json.loads(bundle.read("manifest.json"))
    bundle.files(manifest)
    evidence = json.loads(bundle.read("ledger/entries.json"))
    proven = bundle.ledger(evidence, key)
    if proven:
        bundle.texts_and_diff(proven)
        bundle.derived(bundle.captures(evidence, proven))
    return bundle.problems, bundle.notes


def main(argv: list[str]) -> int:
    key = argv[argv.index("--key") + 1] if "--key" in argv else None
    rest = [a for a in argv if a not in ("--key", key)]
    folder = Path(rest[0]) if rest else HERE
    try:
        problems, notes = verify(folder, key)
    except (OSError, ValueError, KeyError) as exc:
        print(f"NOT VERIFIED: the bundle cannot be read ({type(exc).__name__}: {exc})")
        return 1
    for line in notes:
        print(line)
    for line in problems:
        print(f"MISMATCH {line}")
    print("NOT VERIFIED" if problems else "OK: every file, hash, diff and ledger entry holds")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
