"""Extraction, normalization and hashing of every capture of a corpus, without Scrapy
or a database: the CPU cost of deciding whether a page changed.

    .venv/bin/python bench/extract_throughput.py [CORPUS_DIR] [--workers N]
        [--code CHECKOUT] [--texts OUT.jsonl]

--code runs another checkout's extractor (side by side with an older commit); --texts
writes every capture's text for bench/compare_texts.py.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _code_path() -> str:
    """The checkout whose extractor runs: --code, else this one (workers see it too)."""
    if "--code" in sys.argv:
        return str(Path(sys.argv[sys.argv.index("--code") + 1]).resolve())
    return str(ROOT)


sys.path.insert(0, _code_path())

from atlas_crawl.declarations import load_ota_folder  # noqa: E402
from atlas_crawl.extraction import ExtractionError, extract_document  # noqa: E402


def _work(args: tuple[str, str, str, str, bytes]) -> tuple[bool, str]:
    corpus, service, terms_type, captured_at, body = args
    docs = _documents(corpus)
    rules = docs[(service, terms_type)].rules_in_force(datetime.fromisoformat(captured_at))
    try:
        text = extract_document([(body, "")] * len(rules.sources), rules)
    except ExtractionError:
        return False, ""
    return True, text


_CACHE: dict[str, dict] = {}


def _documents(corpus: str) -> dict:
    if corpus not in _CACHE:
        found = load_ota_folder(Path(corpus) / "declarations")
        _CACHE[corpus] = {(d.platform, d.document_type): d for d in found}
    return _CACHE[corpus]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(ROOT.parent / "shared/corpus/demo"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--code", help="a checkout of atlas-crawl whose extractor to run")
    parser.add_argument("--texts", type=Path, help="write each capture's text here (JSONL)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    jobs = []
    files = []
    for line in (corpus / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        body = gzip.decompress((corpus / row["file"]).read_bytes())
        files.append(row["file"])
        jobs.append((str(corpus), row["service"], row["terms_type"], row["captured_at"], body))
    size = sum(len(j[4]) for j in jobs)
    started = time.perf_counter()
    if args.workers == 1:
        results = [_work(j) for j in jobs]
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(_work, jobs, chunksize=8))
    seconds = time.perf_counter() - started
    ok = sum(1 for r in results if r[0])
    print(json.dumps({"captures": len(jobs), "megabytes": round(size / 1e6, 1),
                      "extracted": ok, "failed": len(jobs) - ok, "workers": args.workers,
                      "seconds": round(seconds, 2),
                      "captures_per_second": round(len(jobs) / seconds, 1),
                      # One hash over every text, in order: a speed-up must not change it.
                      "texts_sha256": hashlib.sha256("\n".join(
                          hashlib.sha256(r[1].encode()).hexdigest() if r[0] else ""
                          for r in results).encode()).hexdigest(),
                      }, indent=2))  # fmt: skip
    if args.texts:
        with args.texts.open("w") as out:
            for file, (ok, text) in zip(files, results, strict=True):
                out.write(json.dumps({"file": file, "text": text if ok else None}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
