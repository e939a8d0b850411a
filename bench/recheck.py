"""Recheck throughput and memory: a real ``scrapy crawl declarations`` of N unchanged
documents served from loopback addresses (127.0.0.1 ... 127.0.0.S stand for S sites,
so per-site politeness stays on), pages of 100-600 KB shaped like policy pages (menus,
inline scripts, a long main text, a footer).

The first crawl records every document (not timed); the second is the recheck: every
page is fetched and read again and nothing has changed. The crawl's wall time, its
rate and the crawler process's peak memory (max RSS) are printed.

    .venv/bin/python bench/recheck.py                        # 1,000 and 5,000 documents
    .venv/bin/python bench/recheck.py --documents 5000 --sites 20
    .venv/bin/python bench/recheck.py --browser 200          # rendered pages, Chromium

Uses ATLAS_DATABASE_URL when set (emptied first!), else a fresh database on the local
server or the embedded one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.localsite import LocalSite, Route  # noqa: E402
from bench.replay import _fresh_database  # noqa: E402

_WORDS = [
    "data",
    "personal",
    "information",
    "we",
    "you",
    "your",
    "use",
    "share",
    "process",
    "collect",
    "service",
    "account",
    "provide",
    "rights",
    "access",
    "request",
    "delete",
    "retain",
    "third",
    "parties",
    "partners",
    "advertising",
    "cookies",
    "security",
    "law",
    "may",
    "including",
    "purposes",
    "consent",
    "legitimate",
    "interests",
    "transfer",
]

# Runs scrapy in this process and reports its own peak memory on exit.
# (VmHWM: ru_maxrss would include the RSS this process had when it was forked.)
_MEASURED = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "    print('ATLAS_MAXRSS_KB', hwm[0].split()[1] if hwm else 0, file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['scrapy', *sys.argv[1:]]\n"
    "runpy.run_module('scrapy', run_name='__main__')\n"
)


def _paragraphs(rng: random.Random, size: int) -> str:
    out, total, section = [], 0, 0
    while total < size:
        if total // 6000 >= section:
            section += 1
            out.append(f"<h2>{section}. {rng.choice(_WORDS).title()} and {rng.choice(_WORDS)}</h2>")
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(25, 60)))
        out.append(f"<p>{sentence.capitalize()}. <a href='/more/{total}'>Learn more</a>.</p>")
        total += len(out[-1])
    return "\n".join(out)


def page_parts(count: int = 40, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """``count`` page templates from 100 to 600 KB, cut where a document's own title goes."""
    rng = random.Random(seed)
    parts = []
    for i in range(count):
        size = 100_000 + (500_000 * i) // max(count - 1, 1)
        nav = "".join(f"<li><a href='/n/{k}'>{rng.choice(_WORDS)}</a></li>" for k in range(150))
        script = "var config = " + json.dumps({str(k): rng.random() for k in range(size // 60)})
        head = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Policy</title>"
            f"<script>{script}</script><style>body{{font:16px sans-serif}}</style></head>"
            f"<body><header><nav><ul>{nav}</ul></nav></header><main><h1>"
        )
        body = _paragraphs(rng, int(size * 0.7))
        tail = f"</h1>{body}</main><footer><ul>{nav}</ul><p>(c) Example</p></footer></body></html>"
        parts.append((head.encode(), tail.encode()))
    return parts


def serve(documents: int, sites: int, folder: Path, render: bool = False) -> list[LocalSite]:
    """Serve ``documents`` pages over ``sites`` loopback addresses and declare them."""
    servers = [LocalSite(f"127.0.0.{i + 1}") for i in range(sites)]
    parts = page_parts()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        site = servers[n % sites]
        head, tail = parts[n % len(parts)]
        title = f"Privacy Policy of Service {n}".encode()
        path = f"/s{n}/privacy"
        # Put together per request: 5,000 pages of 350 KB are not kept in memory here.
        site.routes[path] = Route(render=lambda h=head, t=title, z=tail: h + t + z)
        source = {"fetch": site.url(path), "select": "main"}
        if render:
            source["executeClientScripts"] = True
        declaration = {"name": f"Service {n}", "terms": {"Privacy Policy": source}}
        (folder / f"Service{n:05d}.json").write_text(json.dumps(declaration))
    return servers


def crawl(folder: Path, db_url: str, evidence: Path, extra: list[str]) -> tuple[float, int, str]:
    """One crawl: (seconds, peak RSS in KB of the crawler process, its log)."""
    env = {
        **os.environ,
        "ATLAS_DATABASE_URL": db_url,
        "ATLAS_EVIDENCE_DIR": str(evidence),
        "ATLAS_ROBOTSTXT_OBEY": "0",
    }
    command = [
        sys.executable, "-c", _MEASURED, "crawl", "declarations", "-a", f"path={folder}",
        "-s", "LOG_LEVEL=WARNING", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"crawl failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rss = [int(line.split()[1]) for line in proc.stderr.splitlines() if "ATLAS_MAXRSS_KB" in line]
    return seconds, rss[-1] if rss else 0, proc.stderr


def run(documents: int, sites: int, render: bool, extra: list[str]) -> dict[str, float]:
    import psycopg

    db_url = _fresh_database()
    with tempfile.TemporaryDirectory(prefix="atlas-recheck-") as tmp:
        folder = Path(tmp) / "declarations"
        servers = serve(documents, sites, folder, render)
        try:
            first, first_rss, _ = crawl(folder, db_url, Path(tmp) / "evidence", extra)
            again, rss, _ = crawl(folder, db_url, Path(tmp) / "evidence", extra)
        finally:
            for server in servers:
                server.close()
    with psycopg.connect(db_url) as conn:
        outcomes = dict(
            conn.execute(
                """SELECT outcome, count(*) FROM checks WHERE check_id > (
                       SELECT max(check_id) FROM checks) - %s GROUP BY 1""",
                (documents,),
            ).fetchall()
        )
    if outcomes.get("unchanged") != documents:
        raise RuntimeError(f"the recheck should find {documents} unchanged, found {outcomes}")
    return {
        "documents": documents,
        "first_seconds": round(first, 1),
        "first_peak_mb": round(first_rss / 1024),
        "recheck_seconds": round(again, 1),
        "recheck_per_second": round(documents / again, 1),
        "recheck_peak_mb": round(rss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, action="append", help="default: 1000 and 5000")
    parser.add_argument("--sites", type=int, default=20, help="loopback addresses used")
    parser.add_argument("--browser", type=int, help="this many rendered pages instead")
    parser.add_argument("-s", dest="settings", action="append", default=[], help="Scrapy setting")
    args = parser.parse_args()
    extra = [x for s in args.settings for x in ("-s", s)]
    if args.browser:
        sizes, render = [args.browser], True
    else:
        sizes, render = args.documents or [1000, 5000], False
    for documents in sizes:
        result = run(documents, args.sites, render, extra)
        print(json.dumps({"render": render, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
