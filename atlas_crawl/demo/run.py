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
from psycopg import sql
from scrapy.settings import BaseSettings

from atlas_crawl.config import SETTINGS_MODULE
from atlas_crawl.demo.localsite import LocalSite
from atlas_crawl.history.provision_report import recent_provision_rows, recent_provisions_text
from atlas_crawl.history.report import change_text, document_history
from atlas_crawl.storage.database import data_dir, embedded_url

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
            resources.files("atlas_crawl.demo")
            .joinpath(f"pages/privacy-v{self.version}.html")
            .read_text(encoding="utf-8")
        )
        return (
            template.replace("{build}", os.urandom(6).hex())
            .replace("{nonce}", os.urandom(8).hex())
            .replace("{built_at}", f"2026-11-0{self.served % 9 + 1}T12:00:00Z")
        )

    def close(self) -> None:
        self.site.close()


def _fresh_database(folder: Path) -> str:
    """A new, empty ``atlas_demo`` database in the embedded server kept in ``folder``."""
    admin = embedded_url(folder, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        name = sql.Identifier(DEMO_DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return embedded_url(folder, DEMO_DATABASE)


def _crawl(declarations: Path, url: str) -> None:
    """``scrapy crawl declarations``, as a user runs it, in a process of its own (a
    Twisted reactor runs once per process)."""
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "declarations",
        "-a",
        f"path={declarations}",
        "-s",
        f"ATLAS_DATABASE_URL={url}",
        "-s",
        "LOG_LEVEL=WARNING",
    ]
    # From any folder: the settings module is named, not found through scrapy.cfg.
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": SETTINGS_MODULE}
    subprocess.run(command, env=env, check=True)


def run_demo(settings: BaseSettings, color: bool = False, command: str | None = None) -> int:
    """The demo; ``command`` is how the user runs atlas-crawl, for the commands it
    suggests at its end."""
    print("atlas-crawl demo: starting the embedded PostgreSQL ...", flush=True)
    url = _fresh_database(data_dir(settings))
    site = _PolicySite()
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
            _crawl(folder, url)
            site.version = 2
            print(
                "crawl 2: the AI-training clause changed, and so did every build hash, "
                "nonce and timestamp of the page",
                flush=True,
            )
            _crawl(folder, url)
    finally:
        site.close()
    with psycopg.connect(url) as conn:
        print()
        print(document_history(conn, PLATFORM, "Privacy Policy"))
        row = conn.execute("SELECT max(change_id) FROM document_changes").fetchone()
        if not row or row[0] is None:
            print("no change was detected: the demo failed", file=sys.stderr)
            return 1
        print(f"\n$ atlas-crawl diff {row[0]}")
        print(change_text(conn, row[0], color))
        # The same change, clause by clause: which provision changed, with its record ID.
        print("\n$ atlas-crawl history --provisions")
        print(recent_provisions_text(recent_provision_rows(conn, 1, PLATFORM, None), 1))
    me = f"{command or 'atlas-crawl'} --database-url embedded:{DEMO_DATABASE}"
    print(
        f"\nThe demo database is {DEMO_DATABASE} in the embedded server; query it with the "
        f"SQL views described in the README, or read it with the CLI:\n"
        f"  {me} history\n"
        f"  {me} provisions '{PLATFORM}' 'Privacy Policy'\n"
        f"  {me} compare ai-training\n"
        f"  {me} serve          # the web view: open http://127.0.0.1:8000/\n"
        f"  {me} db stop        # stop the embedded server when done"
    )
    return 0
