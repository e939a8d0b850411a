"""The Merkle tree of the ledger: roots as RFC 6962 defines them, and every inclusion
and consistency proof of small trees verifies, while altered ones do not."""

from __future__ import annotations

import hashlib

from atlas_crawl.evidence.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"record {i}".encode()) for i in range(40)]


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962's recursive definition, written out for comparison."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def test_roots_follow_the_recursive_definition() -> None:
    for n in range(41):
        assert root(LEAVES[:n]) == _mth(LEAVES[:n]), n


def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not() -> None:
    for n in range(1, 41):
        tree = LEAVES[:n]
        head = root(tree)
        for i in range(n):
            proof = inclusion_proof(i, tree)
            assert verify_inclusion(tree[i], i, n, proof, head), (i, n)
            assert not verify_inclusion(leaf_hash(b"forged"), i, n, proof, head)
            if n > 1:
                assert not verify_inclusion(tree[i], (i + 1) % n, n, proof, head)


def test_every_consistency_proof_verifies_and_rewritten_history_does_not() -> None:
    for n in range(1, 41):
        for m in range(1, n + 1):
            proof = consistency_proof(m, LEAVES[:n])
            old, new = root(LEAVES[:m]), root(LEAVES[:n])
            assert verify_consistency(m, n, old, new, proof), (m, n)
            if m < n:
                rewritten = LEAVES[:n].copy()
                rewritten[m - 1] = leaf_hash(b"rewritten")
                forged = consistency_proof(m, rewritten)
                assert not verify_consistency(m, n, old, root(rewritten), forged), (m, n)
