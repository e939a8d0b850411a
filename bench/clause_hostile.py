"""Clause classification of hostile provision texts: seconds per text of about a
megabyte that no policy would hold (no spaces, no sentence ends, pipes, web addresses).

    .venv/bin/python bench/clause_hostile.py [--code DIR]

``--code`` reads the classifier of another checkout (say an older commit's worktree),
so the two are measured side by side on the same texts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TEXTS = {
    "one word, 1 MB": "a" * 1_000_000,
    "'You may ' x 130,000": "You may " * 130_000,
    "quoted terms x 60,000": "“Personal data” " * 60_000,
    "'Term means ' x 90,000": "Term means " * 90_000,
    "table rows x 100,000": "| a | b |\n" * 100_000,
    "web addresses x 50,000": "https://example.com/" * 50_000,
    "50,000 sentences, 2.2 MB": " ".join(
        f"We may share your data with partner {i} at any time without notice."
        for i in range(50_000)
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    from atlas_crawl.clauses.classify import classify

    classify(["warm the model up"])
    result = {}
    for name, text in TEXTS.items():
        started = time.perf_counter()
        classify([text])
        result[name] = round(time.perf_counter() - started, 2)
    print(json.dumps({"code": str(args.code), "seconds": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
