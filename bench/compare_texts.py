"""How differently two extractors read the same captures: the JSONL files that
``bench/extract_throughput.py --texts`` writes, one per extractor.

    .venv/bin/python bench/compare_texts.py OLD.jsonl NEW.jsonl [--show N]

Prints how many captures read identically, how many differ, and how many differ by more
than 1% of their characters (changed characters over the longer text, from a
character diff), with the largest differences named.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diff_match_patch import diff_match_patch


def _texts(path: Path) -> dict[str, str | None]:
    return {
        (row := json.loads(line))["file"]: row["text"] for line in path.read_text().splitlines()
    }


def changed_share(old: str, new: str) -> float:
    """Characters added and removed, over the longer text's length."""
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 5
    diffs = dmp.diff_main(old, new, False)
    changed = sum(len(text) for op, text in diffs if op != 0)
    return changed / max(len(old), len(new), 1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args()
    old, new = _texts(args.old), _texts(args.new)
    same = differ = over = only_old = only_new = 0
    worst: list[tuple[float, str]] = []
    for file, before in old.items():
        after = new.get(file)
        if before is None or after is None:
            only_old += before is not None and after is None
            only_new += before is None and after is not None
            continue
        if before == after:
            same += 1
            continue
        differ += 1
        share = changed_share(before, after)
        over += share > 0.01
        worst.append((share, file))
    worst.sort(reverse=True)
    print(json.dumps({"captures": len(old), "identical": same, "different": differ,
                      "different_over_1_percent": over, "read_by_old_only": only_old,
                      "read_by_new_only": only_new,
                      "largest": [f"{s:.2%} {f}" for s, f in worst[: args.show]]},
                     indent=2, ensure_ascii=False))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
