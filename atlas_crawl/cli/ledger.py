"""Commands of the ledger: ``keygen`` (the operator's signing key) and ``checkpoint``
(a signed tree head to publish)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from atlas_crawl.cli.common import UsageError, connect, settings_of
from atlas_crawl.evidence.checkpoint import CheckpointError, generate_key, load_key
from atlas_crawl.storage.database import data_dir


def key_path(args: argparse.Namespace) -> Path:
    """--key, else ATLAS_SIGNING_KEY, else ledger-key.pem in the data folder."""
    settings = settings_of(args)
    chosen = getattr(args, "key", None) or settings.get("ATLAS_SIGNING_KEY")
    return Path(chosen).expanduser() if chosen else data_dir(settings) / "ledger-key.pem"


def cmd_keygen(args: argparse.Namespace) -> int:
    path = key_path(args)
    try:
        public = generate_key(path)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote the private key {path} (keep it secret) and {path}.pub")
    print(f"public key: {public}")
    print(f"checkpoints sign with it through --key {path} or ATLAS_SIGNING_KEY={path}")
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from atlas_crawl.audit.ledger_proofs import LedgerMismatch, make_checkpoint

    path = key_path(args)
    named = getattr(args, "key", None) or settings_of(args).get("ATLAS_SIGNING_KEY")
    if not path.exists() and named:
        raise UsageError(f"no signing key at {path}: make one with atlas-crawl keygen --key {path}")
    if not path.exists():
        # The first checkpoint of a default setup makes the operator's key, and says so.
        try:
            public = generate_key(path)
        except CheckpointError as exc:
            raise UsageError(str(exc)) from None
        print(
            f"atlas-crawl: made the signing key {path} (keep it secret, back it up; "
            f"public key {public}, also in {path}.pub: publish it with your checkpoints)",
            file=sys.stderr,
        )
    try:
        key = load_key(path)
        with connect(args, autocommit=True) as conn:
            cp = make_checkpoint(conn, key)
    except (CheckpointError, LedgerMismatch) as exc:
        raise UsageError(str(exc)) from None
    if args.out:
        Path(args.out).write_text(cp.to_json())
        print(f"checkpoint of {cp.tree_size} entries, root {cp.root_hash}: {args.out}")
    else:
        sys.stdout.write(cp.to_json())
    return 0
