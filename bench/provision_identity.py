"""Identity accuracy of provision tracking on scripted edits with a known answer.

Real policy texts (the demo corpus's latest capture of each document, read by today's
extractor, and the recorded platform pages in tests/fixtures/spiders, which include
the seed platforms' captures) are cut into provisions; each trial applies one scripted
edit whose answer is known (which old provision each new one continues, or none), then
matches the edited text's provisions to the original's.

    .venv/bin/python bench/provision_identity.py [CORPUS_DIR] [--trials N] [--seed S]

Prints, per edit and overall, the share of provisions given the right identity, and
the share of unchanged provisions that kept theirs (must be 100%).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.declarations import load_ota_folder  # noqa: E402
from atlas_crawl.extraction import ExtractionError, extract_document  # noqa: E402
from atlas_crawl.provisions import match_provisions, segment  # noqa: E402
from atlas_crawl.provisions.match import words  # noqa: E402
from atlas_crawl.provisions.segment import HEADING_SEPARATOR  # noqa: E402

# One item: (heading path as a tuple, text, identity). Identity None: new in this edit.
Item = tuple[tuple[str, ...], str, int | None]


def real_texts(corpus: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    if (corpus / "manifest.jsonl").exists():
        docs = {(d.platform, d.document_type): d for d in load_ota_folder(corpus / "declarations")}
        latest: dict[tuple[str, str], dict] = {}
        for line in (corpus / "manifest.jsonl").read_text().splitlines():
            row = json.loads(line)
            latest[(row["service"], row["terms_type"])] = row
        for key, row in sorted(latest.items()):
            body = gzip.decompress((corpus / row["file"]).read_bytes())
            rules = docs[key].rules_in_force(datetime.fromisoformat(row["captured_at"]))
            try:
                texts[" / ".join(key)] = extract_document([(body, "")] * len(rules.sources), rules)
            except ExtractionError:
                continue
    for md in sorted((ROOT / "tests/fixtures/spiders").glob("*/*.md")):
        texts[f"fixture {md.parent.name}/{md.stem}"] = md.read_text(encoding="utf-8")
    return texts


def render(items: list[Item]) -> str:
    """Markdown whose segmentation gives back ``items`` (headings from their paths)."""
    out: list[str] = []
    open_path: tuple[str, ...] = ()
    for path, text, _ in items:
        if path != open_path:
            common = 0
            while common < min(len(path), len(open_path)) and path[common] == open_path[common]:
                common += 1
            if common == len(path) and len(path) < len(open_path):
                common = max(len(path) - 1, 0)  # back to a parent: repeat its heading
                path_to_write = path[common:] if path else ()
            else:
                path_to_write = path[common:]
            for depth, label in enumerate(path_to_write, start=len(path) - len(path_to_write)):
                out.append("#" * min(depth + 1, 6) + " " + label)
            open_path = path
        out.append(text)
    return "\n\n".join(out) + "\n"


def items_of(text: str) -> list[Item]:
    return [
        (tuple(p.heading.split(HEADING_SEPARATOR)) if p.heading else (), p.text, i)
        for i, p in enumerate(segment(text))
    ]


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORDS = [
    "policy",
    "data",
    "service",
    "account",
    "information",
    "user",
    "rights",
    "notice",
    "law",
    "party",
]


def _long(items: list[Item], rng: random.Random, words: int = 12) -> int | None:
    options = [k for k, (_, t, _) in enumerate(items) if len(t.split()) >= words]
    return rng.choice(options) if options else None


def edit(kind: str, items: list[Item], rng: random.Random, donor: list[Item]) -> list[Item] | None:
    new = list(items)
    if kind == "unchanged":
        return new
    if kind == "reorder sections":
        tops = sorted({p[0] for p, _, _ in new if p})
        if len(tops) < 3:
            return None
        moved = rng.choice(tops)
        block = [it for it in new if it[0][:1] == (moved,)]
        rest = [it for it in new if it[0][:1] != (moved,)]
        starts = [
            k for k, it in enumerate(rest) if it[0] and (k == 0 or rest[k - 1][0][:1] != it[0][:1])
        ]
        at = rng.choice(starts)
        return rest[:at] + block + rest[at:]
    if kind in ("rename a heading", "renumber headings"):
        paths = sorted({p[:d] for p, _, _ in new for d in range(1, len(p) + 1)})
        if not paths:
            return None
        if kind == "rename a heading":
            target = rng.choice(paths)
            label = target[-1] + " and related matters"
            renamed = {target: label}
        else:
            renamed = {
                p: f"{k + 1}. {p[-1]}" for k, p in enumerate(q for q in paths if len(q) == 1)
            }
        out = []
        for path, text, ident in new:
            path = tuple(renamed.get(path[: d + 1], label) for d, label in enumerate(path))
            out.append((path, text, ident))
        return out
    if kind == "edit a word":
        k = _long(new, rng, 6)
        if k is None:
            return None
        path, text, ident = new[k]
        toks = text.split(" ")
        w = rng.randrange(len(toks))
        toks[w] = rng.choice(_WORDS)
        new[k] = (path, " ".join(toks), ident)
        return new
    if kind == "edit a sentence":
        k = _long(new, rng, 20)
        if k is None:
            return None
        path, text, ident = new[k]
        sentences = _SENTENCE.split(text)
        if len(sentences) < 2:
            return None
        s = rng.randrange(len(sentences))
        sentences[s] = "We may also change this part of the notice at any time without telling you."
        new[k] = (path, " ".join(sentences), ident)
        return new
    if kind == "rewrite half a paragraph":
        k = _long(new, rng, 24)
        if k is None:
            return None
        path, text, ident = new[k]
        toks = text.split(" ")
        half = len(toks) // 2
        start = rng.randrange(0, len(toks) - half + 1)
        toks[start : start + half] = [rng.choice(_WORDS) for _ in range(half)]
        new[k] = (path, " ".join(toks), ident)
        return new
    if kind == "insert":
        candidates = [t for _, t, _ in donor if len(t.split()) >= 8]
        if not candidates:
            return None
        k = rng.randrange(len(new) + 1)
        path = new[k - 1][0] if k else (new[0][0] if new else ())
        new.insert(k, (path, rng.choice(candidates), None))
        return new
    if kind == "delete":
        if len(new) < 2:
            return None
        del new[rng.randrange(len(new))]
        return new
    if kind == "split":
        options = [
            k
            for k, (_, t, _) in enumerate(new)
            if "\n" not in t and len(_SENTENCE.split(t)) >= 2 and len(t.split()) >= 16
        ]
        if not options:
            return None
        k = rng.choice(options)
        path, text, ident = new[k]
        sentences = _SENTENCE.split(text)
        cut = rng.randrange(1, len(sentences))
        a, b = " ".join(sentences[:cut]), " ".join(sentences[cut:])
        # The larger part (in words; the first on a tie) keeps the identity.
        first = len(words(a)) >= len(words(b))
        parts = [(path, a, ident if first else None), (path, b, None if first else ident)]
        new[k : k + 1] = parts
        return new
    if kind == "merge":
        options = [k for k in range(len(new) - 1)
                   if new[k][0] == new[k + 1][0] and "\n" not in new[k][1] + new[k + 1][1]
                   and not new[k][1].startswith(("|", "-", "```", ">"))
                   and not new[k + 1][1].startswith(("|", "-", "```", ">"))
                   and not re.match(r"\d+[.)] ", new[k][1] + " " + new[k + 1][1])
                   and not new[k][1].rstrip().endswith(":")]  # fmt: skip
        if not options:
            return None
        k = rng.choice(options)
        (path, a, ia), (_, b, ib) = new[k], new[k + 1]
        new[k : k + 2] = [(path, a + " " + b, ia if len(words(a)) >= len(words(b)) else ib)]
        return new
    if kind == "whitespace and punctuation":
        out = []
        for path, text, ident in new:
            if rng.random() < 0.3 and "\n" not in text:
                # Inside the sentence: a list marker ("1. ") is structure, not punctuation.
                head, body = text[:5], text[5:]
                text = head + body.replace(", ", " , ", 1).replace(". ", "; ", 1)
            out.append((path, text, ident))
        return out
    raise ValueError(kind)


EDITS = ("unchanged", "reorder sections", "rename a heading", "renumber headings", "edit a word",
         "edit a sentence", "rewrite half a paragraph", "insert", "delete", "split", "merge",
         "whitespace and punctuation")  # fmt: skip


def score(texts: dict[str, str], trials: int, seed: int, show: int = 0) -> dict:
    """Apply every scripted edit ``trials`` times to each text; the identity scores."""
    rng = random.Random(seed)
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    kept = kept_total = done = shown = 0
    names = sorted(texts)
    for name in names:
        base = items_of(render(items_of(texts[name])))
        old = segment(render(base))
        donor = items_of(texts[names[(names.index(name) + 1) % len(names)]])
        for kind in EDITS:
            for _ in range(trials if kind != "unchanged" else 1):
                edited = edit(kind, base, rng, donor)
                if edited is None:
                    continue
                new = segment(render(edited))
                if len(new) != len(edited):
                    continue  # the edit changed the structure itself (not scored)
                done += 1
                found = match_provisions(old, new).continues
                for j, (_, text, truth) in enumerate(edited):
                    total[kind] += 1
                    ok = found[j] == truth
                    right[kind] += ok
                    unchanged = truth is not None and old[truth].text == text
                    kept_total += unchanged
                    kept += unchanged and ok
                    if not ok and shown < show:
                        shown += 1
                        print(
                            f"[{kind}] {name} #{j}: truth {truth} found {found[j]}: {text[:90]!r}"
                        )
    return {
        "texts": len(texts), "trials": done, "provisions_scored": sum(total.values()),
        "correct": round(sum(right.values()) / max(sum(total.values()), 1), 4),
        "unchanged_kept": kept, "unchanged": kept_total,
        "per_edit": {k: round(right[k] / total[k], 4) for k in EDITS if total[k]},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(ROOT.parent / "shared/corpus/demo"))
    parser.add_argument("--trials", type=int, default=5, help="trials per edit and text")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--show", type=int, default=0, help="print this many wrong answers")
    args = parser.parse_args()
    started = time.perf_counter()
    result = score(real_texts(Path(args.corpus)), args.trials, args.seed, args.show)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
