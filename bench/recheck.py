"""Recheck throughput and memory: a real ``scrapy crawl declarations`` of N unchanged
documents served from loopback addresses (127.0.0.1 ... 127.0.0.S stand for S sites,
so per-site politeness stays on), pages of 100-600 KB shaped like policy pages (menus,
inline scripts, a long main text, a footer).

The first crawl records every document; then each recheck fetches and reads every page
again and finds nothing changed: once with one crawler process, once with two sharing
the round through Redis (the distributed mode, here on one machine's two cores). Each
crawl's wall time (process start to exit), rate, CPU seconds and the crawler processes'
peak memory (VmHWM) are printed.

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
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.demo.localsite import LocalSite, Route  # noqa: E402
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
        # A link in one paragraph out of ten, as in policy texts.
        link = f" <a href='/more/{total}'>Learn more</a>." if rng.random() < 0.1 else ""
        out.append(f"<p>{sentence.capitalize()}.{link}</p>")
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


CPU: dict[str, float] = {}


def _cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds so far: of finished children (the crawler), of this process (the web
    servers), and of the whole machine (PostgreSQL included)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/stat") as fh:
        fields = fh.readline().split()[1:]
    busy = sum(int(x) for i, x in enumerate(fields[:8]) if i not in (3, 4))  # not idle/iowait
    return (
        children.ru_utime + children.ru_stime,
        own.ru_utime + own.ru_stime,
        busy / os.sysconf("SC_CLK_TCK"),
    )


def crawl(
    folder: Path, db_url: str, evidence: Path, extra: list[str], processes: int = 1
) -> tuple[float, int]:
    """One crawl by ``processes`` crawler processes (sharing a round through Redis when
    more than one): (seconds, highest peak RSS in KB of one crawler process)."""
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
    if processes > 1:
        env["ATLAS_REDIS_URL"] = os.environ.get("ATLAS_REDIS_URL", "redis://127.0.0.1:6379/0")
        command += ["-a", f"round=bench-{time.time_ns()}"]
    started = time.perf_counter()
    before = _cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="atlas-logs-") as logs:
        paths = [Path(logs) / f"crawler-{n}.log" for n in range(processes)]
        running = []
        for path in paths:
            with path.open("w") as log:
                running.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))
        codes = [p.wait() for p in running]
        seconds = time.perf_counter() - started
        outputs = [path.read_text() for path in paths]
    crawler, server, machine = (b - a for a, b in zip(before, _cpu_seconds(), strict=True))
    CPU.update(crawler=round(crawler, 1), server=round(server, 1), machine=round(machine, 1))
    peaks = []
    for code, output in zip(codes, outputs, strict=True):
        if code != 0:
            raise RuntimeError(f"crawl failed ({code}):\n{output[-3000:]}")
        peaks += [int(x.split()[1]) for x in output.splitlines() if "ATLAS_MAXRSS_KB" in x]
    return seconds, max(peaks, default=0)


def _database_bytes(db_url: str) -> int:
    """The database's size on disk, after a VACUUM so that only live rows count."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM")
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def _last_outcomes(db_url: str, documents: int) -> dict[str, int]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        return dict(
            conn.execute(
                """SELECT outcome, count(*) FROM checks WHERE check_id > (
                       SELECT max(check_id) FROM checks) - %s GROUP BY 1""",
                (documents,),
            ).fetchall()
        )


def run(
    documents: int, sites: int, render: bool, extra: list[str], processes: list[int]
) -> dict[str, Any]:
    db_url = _fresh_database()
    result: dict[str, Any] = {"render": render, "documents": documents}
    with tempfile.TemporaryDirectory(prefix="atlas-recheck-") as tmp:
        folder = Path(tmp) / "declarations"
        servers = serve(documents, sites, folder, render)
        try:
            # The first crawl only sets the scene: without full-page screenshots of
            # rendered pages (seconds each for the longest), which rechecks do not take.
            seed = ["-s", "ATLAS_SCREENSHOTS=0"] if render else []
            first, first_rss = crawl(folder, db_url, Path(tmp) / "evidence", extra + seed)
            result.update(first_seconds=round(first, 1), first_peak_mb=round(first_rss / 1024))
            for count in processes:
                size_before = _database_bytes(db_url)
                again, rss = crawl(folder, db_url, Path(tmp) / "evidence", extra, count)
                added = _database_bytes(db_url) - size_before
                outcomes = _last_outcomes(db_url, documents)
                if outcomes.get("unchanged") != documents:
                    raise RuntimeError(f"a recheck should find {documents} unchanged: {outcomes}")
                result[f"recheck_{count}_process"] = {
                    "seconds": round(again, 1),
                    "per_second": round(documents / again, 1),
                    "peak_mb_per_process": round(rss / 1024),
                    "database_bytes_per_check": round(added / documents),
                    "cpu_seconds": dict(CPU),
                }
        finally:
            for server in servers:
                server.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, action="append", help="default: 1000 and 5000")
    parser.add_argument("--sites", type=int, default=20, help="loopback addresses used")
    parser.add_argument("--browser", type=int, help="this many rendered pages instead")
    parser.add_argument(
        "--processes",
        default="1,2",
        help="recheck with each of these numbers of crawler processes (more than one share "
        "a round through Redis at ATLAS_REDIS_URL, default redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("-s", dest="settings", action="append", default=[], help="Scrapy setting")
    args = parser.parse_args()
    extra = [x for s in args.settings for x in ("-s", s)]
    processes = [int(x) for x in args.processes.split(",")]
    if args.browser:
        sizes, render = [args.browser], True
    else:
        sizes, render = args.documents or [1000, 5000], False
    for documents in sizes:
        print(json.dumps(run(documents, args.sites, render, extra, processes)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
