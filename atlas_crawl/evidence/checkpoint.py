"""Signed checkpoints of the ledger: its size, the Merkle root of its entries, the time,
and an Ed25519 signature by the operator's key (``cryptography``). Published outside the
database (a git repository, a web page, an archive), a checkpoint lets anyone prove
later that the history it covered was not rewritten, even by whoever runs the database.

The checkpoint also carries the root of every block of ``BLOCK`` entries, so a rewrite
that recomputed every hash can still be placed within one block.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "atlas-crawl checkpoint v1"
BLOCK = 256


class CheckpointError(ValueError):
    """A checkpoint or key that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str  # hex
    made_at: str  # ISO 8601, UTC
    public_key: str  # Ed25519, raw, hex
    signature: str  # hex, over signed_text()
    block_roots: list[str] = field(default_factory=list)  # hex, one per BLOCK entries

    def signed_text(self) -> bytes:
        blocks = ",".join(self.block_roots)
        return (f"{FORMAT}\n{self.tree_size}\n{self.root_hash}\n{self.made_at}\n{blocks}\n").encode(
            "ascii"
        )

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "checkpoint") -> Checkpoint:
        try:
            data = json.loads(text)
            if data.pop("format", None) != FORMAT:
                raise ValueError(f"not an {FORMAT!r} file")
            cp = cls(**data)
            int(cp.root_hash, 16), bytes.fromhex(cp.public_key), bytes.fromhex(cp.signature)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{where}: not a readable checkpoint: {exc}") from None
        return cp


def generate_key(path: Path) -> str:
    """A new Ed25519 key in ``path`` (PEM, readable by its owner only), its public half in
    ``path.pub``; returns the public key (hex). Refuses to overwrite a key."""
    if path.exists():
        raise CheckpointError(f"{path}: a key is there already; it is not overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = public_hex(key)
    path.with_name(path.name + ".pub").write_text(public + "\n")
    return public


def public_hex(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a readable Ed25519 private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 key")
    return key


def sign(
    key: Ed25519PrivateKey, tree_size: int, root_hash: str, made_at: str, blocks: list[str]
) -> Checkpoint:
    unsigned = Checkpoint(tree_size, root_hash, made_at, public_hex(key), "", blocks)
    return Checkpoint(
        tree_size,
        root_hash,
        made_at,
        unsigned.public_key,
        key.sign(unsigned.signed_text()).hex(),
        blocks,
    )


def signature_problem(cp: Checkpoint, trusted_key: str | None) -> str | None:
    """Why the checkpoint's signature does not hold (None when it does). With a trusted
    public key, the checkpoint must be signed by it; without, by the key it names."""
    if trusted_key is not None and trusted_key.strip().lower() != cp.public_key.lower():
        return "signed by another key than the one trusted"
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp.public_key))
        public.verify(bytes.fromhex(cp.signature), cp.signed_text())
    except (ValueError, InvalidSignature):
        return "its signature does not match its contents (forged or altered)"
    return None


def as_dict(cp: Checkpoint) -> dict[str, Any]:
    return {"format": FORMAT, **asdict(cp)}
