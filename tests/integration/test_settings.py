"""Settings reach a crawl through one channel: ``-s`` wins over the environment, for
the database URL as for every ATLAS_* setting."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from tests.helpers import Site, page, run_scrapy, write_declarations


def _declare(site: Site, tmp_path: Path) -> Path:
    url = site.serve("/privacy", page("We keep your data safe and never sell it. " * 4))
    return write_declarations(
        tmp_path / "decl", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )


def test_dash_s_database_url_is_honoured_over_the_environment(
    db_url: str, tmp_path: Path, site: Site
) -> None:
    folder = _declare(site, tmp_path)
    env = {
        **os.environ,
        # The environment names a server nobody listens on: -s must win.
        "ATLAS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "ATLAS_EVIDENCE_DIR": str(tmp_path / "evidence"),
    }
    result = run_scrapy(
        ["crawl", "declarations", "-a", f"path={folder}", "-s", f"ATLAS_DATABASE_URL={db_url}"],
        env,
    )
    assert result.returncode == 0, result.output[-3000:]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT outcome FROM checks").fetchall() == [("first",)]


def test_dash_s_switches_pipelines_and_evidence_settings(
    db_url: str, tmp_path: Path, site: Site
) -> None:
    folder = _declare(site, tmp_path)
    evidence = tmp_path / "evidence"
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "ATLAS_EVIDENCE_DIR": str(evidence)}
    args = ["crawl", "declarations", "-a", f"path={folder}"]
    result = run_scrapy([*args, "-s", "ATLAS_WARC=0", "-s", "ATLAS_USER_AGENT=probe/1"], env)
    assert result.returncode == 0, result.output[-3000:]
    assert not evidence.exists() or not any(evidence.rglob("*.warc.gz"))
    with psycopg.connect(db_url) as conn:
        agent = conn.execute("SELECT user_agent FROM crawls").fetchone()
        digest = conn.execute("SELECT warc_digest FROM checks").fetchone()
    assert agent == ("probe/1",)
    assert digest == (None,)
