"""Check a citation's ledger proof without the database: ``python check_proof.py
proof.json`` in an exported bundle (beside ``merkle.py``), or ``python -m
atlas_crawl.audit.check_proof proof.json``. Exit 0 when the entry is in the signed tree.

The proof file holds the cited record's ledger entry (a line of text), its position,
the audit path and the signed checkpoint. The entry's leaf is recomputed, the path is
followed to the root, and the root must be the checkpoint's; the checkpoint's signature
is checked too when the ``cryptography`` package is there (pass ``--key HEX`` to require
the operator's published key).
"""

from __future__ import annotations

import hashlib
import json
import sys

try:  # in an exported bundle, merkle.py lies beside this file
    import merkle  # type: ignore[import-not-found]
except ImportError:
    from atlas_crawl.evidence import merkle


def _signature_ok(cp: dict, trusted: str | None) -> str:
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return "not checked (the cryptography package is not installed)"
    if trusted and trusted.lower() != cp["public_key"].lower():
        return "FAILED: signed by another key than the one given"
    text = (
        f"{cp['format']}\n{cp['tree_size']}\n{cp['root_hash']}\n{cp['made_at']}\n"
        f"{','.join(cp['block_roots'])}\n"
    ).encode("ascii")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp["public_key"])).verify(
            bytes.fromhex(cp["signature"]), text
        )
    except Exception:
        return "FAILED: the checkpoint's signature does not match it"
    return f"valid, key {cp['public_key']}"


def check(proof: dict, trusted: str | None = None) -> tuple[bool, list[str]]:
    lines = []
    cp = proof["checkpoint"]
    leaf = hashlib.sha256(b"\x00" + proof["entry"].encode("utf-8")).digest()
    included = merkle.verify_inclusion(
        leaf,
        proof["position"],
        cp["tree_size"],
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(cp["root_hash"]),
    )
    lines.append(f"entry: {proof['entry']}")
    lines.append(
        f"inclusion in the tree of {cp['tree_size']} entries (root {cp['root_hash']}): "
        + ("valid" if included else "FAILED")
    )
    signature = _signature_ok(cp, trusted)
    lines.append(f"checkpoint signature: {signature}")
    return included and not signature.startswith("FAILED"), lines


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    trusted = argv[argv.index("--key") + 1] if "--key" in argv else None
    with open(argv[0], encoding="utf-8") as fh:
        data = json.load(fh)
    proof = data.get("ledger", data)
    if proof.get("status") != "covered":
        print(f"no proof: {proof.get('status')}")
        return 1
    ok, lines = check(proof, trusted)
    print("\n".join(lines))
    print("OK" if ok else "NOT PROVEN")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
