"""Diff of a large policy with a few changed paragraphs: time and stored size.

.venv/bin/python bench/diff_speed.py [--kilobytes 600] [--changes 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atlas_crawl.diff.patch import apply_patch, make_diff


def policy(kilobytes: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    vocabulary = [
        "data",
        "personal",
        "process",
        "share",
        "partner",
        "consent",
        "account",
        "retain",
        "delete",
        "law",
        "request",
        "rights",
        "service",
        "cookies",
        "transfer",
        "security",
        "notice",
        "update",
    ]
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < kilobytes * 1000:
        words = [rng.choice(vocabulary) for _ in range(rng.randint(40, 120))]
        paragraphs.append(" ".join(words).capitalize() + ".")
    return paragraphs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kilobytes", type=int, default=600)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    old = policy(args.kilobytes)
    new = list(old)
    rng = random.Random(1)
    for i in rng.sample(range(len(new)), args.changes):
        new[i] = new[i].replace(" data ", " personal information ", 1) + " We may also sell it."
    a, b = "\n\n".join(old) + "\n", "\n\n".join(new) + "\n"
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        diff = make_diff(a, b)
        times.append(time.perf_counter() - started)
    assert apply_patch(a, diff.patch) == b
    print(
        json.dumps(
            {
                "text_kilobytes": round(len(a) / 1000),
                "changed_paragraphs": args.changes,
                "median_ms": round(statistics.median(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
                "patch_bytes": len(diff.patch),
                "chars_added": diff.chars_added,
                "chars_removed": diff.chars_removed,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
