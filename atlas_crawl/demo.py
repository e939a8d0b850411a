"""The offline demo: a sample policy served from 127.0.0.1, crawled twice.

The first crawl records version 1. Between the crawls the policy's AI-training clause
changes, and so does page noise (build hash, nonce, build time, tracking parameters):
the second crawl records exactly one change, whose diff shows the clause only.
Everything goes into a fresh ``atlas_demo`` database of the embedded PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import psycopg

from atlas_crawl.cli import main as cli_main
from atlas_crawl.localsite import LocalSite
from atlas_crawl.storage.database import EMBEDDED_DATABASE, embedded_url

DEMO_DATABASE = "atlas_demo"
PLATFORM = "Example Social"


class _PolicySite:
    """Serves the current version of the sample policy, with fresh noise each time."""

    def __init__(self) -> None:
        self.version = 1
        self.served = 0
        self.site = LocalSite()
        self.url = self.site.render("/legal/privacy", self.page)

    def page(self) -> str:
        self.served += 1
        template = (
            resources.files("atlas_crawl")
            .joinpath(f"demo_pages/privacy-v{self.version}.html")
            .read_text(encoding="utf-8")
        )
        return (
            template.replace("{build}", os.urandom(6).hex())
            .replace("{nonce}", os.urandom(8).hex())
            .replace("{built_at}", f"2026-11-0{self.served % 9 + 1}T12:00:00Z")
        )

    def close(self) -> None:
        self.site.close()


def _fresh_database() -> str:
    admin = embedded_url(EMBEDDED_DATABASE).replace(f"/{EMBEDDED_DATABASE}?", "/postgres?")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DEMO_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DEMO_DATABASE}")
    return embedded_url(DEMO_DATABASE)


def _crawl(declarations: Path, env: dict[str, str]) -> None:
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "declarations",
        "-a",
        f"path={declarations}",
        "-s",
        "LOG_LEVEL=WARNING",
    ]
    subprocess.run(command, env=env, check=True)


def run_demo(color: bool = False) -> int:
    print("atlas-crawl demo: starting the embedded PostgreSQL ...", flush=True)
    url = _fresh_database()
    site = _PolicySite()
    env = {
        **os.environ,
        "ATLAS_DATABASE_URL": url,
        "SCRAPY_SETTINGS_MODULE": "atlas_crawl.settings",
    }
    previous_url = os.environ.get("ATLAS_DATABASE_URL")
    os.environ["ATLAS_DATABASE_URL"] = url
    try:
        with tempfile.TemporaryDirectory(prefix="atlas-demo-") as tmp:
            folder = Path(tmp)
            declaration = {
                "name": PLATFORM,
                "terms": {"Privacy Policy": {"fetch": site.url, "select": "main"}},
            }
            (folder / f"{PLATFORM}.json").write_text(json.dumps(declaration, indent=2))
            print(f"serving a sample privacy policy at {site.url}\n")
            print("crawl 1: scrapy crawl declarations (version 1 of the policy)", flush=True)
            _crawl(folder, env)
            site.version = 2
            print(
                "crawl 2: the AI-training clause changed, and so did every build hash, "
                "nonce and timestamp of the page",
                flush=True,
            )
            _crawl(folder, env)
        print()
        cli_main(["history", "--platform", PLATFORM, "--document", "Privacy Policy"])
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT max(change_id) FROM document_changes").fetchone()
        if not row or row[0] is None:
            print("no change was detected: the demo failed", file=sys.stderr)
            return 1
        print(f"\n$ atlas-crawl diff {row[0]}")
        cli_main(["diff", str(row[0]), "--color", "always" if color else "never"])
        print(
            f"\nThe demo database is {DEMO_DATABASE} in the embedded server; "
            "query it with the SQL views described in the README."
        )
    finally:
        site.close()
        if previous_url is None:
            os.environ.pop("ATLAS_DATABASE_URL", None)
        else:
            os.environ["ATLAS_DATABASE_URL"] = previous_url
    return 0
