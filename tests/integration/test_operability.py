"""Running unattended: failures that say so, a CLI that does not trip over itself, and a
status view. Everything through ``atlas-crawl`` or ``scrapy crawl``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.helpers import ROOT, A, B, Site, cli, page, run_scrapy, write_declarations


def _two_documents(site: Site, tmp_path: Path, missing: bool = True) -> Path:
    ok = site.serve("/privacy", page(A))
    terms = site.url("/terms") if missing else site.serve("/terms", page(B))
    return write_declarations(
        tmp_path / "decl",
        "Example",
        {
            "Privacy Policy": {"fetch": ok, "select": "main"},
            "Terms of Service": {"fetch": terms, "select": "main"},
        },
    )


def _crawl(decl: Path, db_url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli("crawl", "--declarations", str(decl), *extra, db_url=db_url,
               evidence=tmp_path / "evidence")  # fmt: skip


def test_strict_exits_non_zero_when_a_check_failed_and_the_summary_says_why(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _two_documents(site, tmp_path)  # /terms answers 404
    every_item = {"ATLAS_PROGRESS_INTERVAL": "0.000001"}
    plain = cli("crawl", "--declarations", str(decl), db_url=db_url,
                evidence=tmp_path / "evidence", env=every_item)  # fmt: skip
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "progress: 2 of 2 documents checked, 1 failed" in plain.stderr
    assert "declarations: 2 checks in" in plain.stdout
    assert "first 1" in plain.stdout and "failed 1 (http error 1)" in plain.stdout
    strict = _crawl(decl, db_url, tmp_path, "--strict")
    assert strict.returncode == 3
    assert "1 check(s) failed (--strict)" in strict.stderr


def test_a_crawl_where_every_check_failed_exits_non_zero(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = write_declarations(
        tmp_path / "decl",
        "Example",
        {"Privacy Policy": {"fetch": site.url("/gone"), "select": "main"}},
    )
    result = _crawl(decl, db_url, tmp_path)
    assert result.returncode == 4 and "every check failed" in result.stderr


def test_read_commands_on_a_database_not_upgraded_say_so_in_one_line(
    empty_db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.warc.gz"
    for args in (
        ["history"],
        ["status"],
        ["diff", "1"],
        ["show", "1"],
        ["verify"],
        ["cite", "AC-C-000001"],
        ["export", "AC-C-000001", "--out", str(tmp_path / "x.zip")],
        ["warc", "1", "--out", str(out)],
    ):
        result = cli(*args, db_url=empty_db_url)
        assert result.returncode == 2, (args, result.stderr)
        assert "run `atlas-crawl db upgrade`" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists(), "a failed warc leaves no partial file"


def test_a_url_in_the_wrong_form_is_named() -> None:
    result = cli("--database-url", "127.0.0.1/atlas", "history", db_url=None)
    assert result.returncode == 2
    assert "expected the form postgresql://user@host:5432/database" in result.stderr
    assert "Traceback" not in result.stderr


def test_output_cut_short_by_a_pipe_is_not_a_traceback(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _two_documents(site, tmp_path, missing=False)
    _crawl(decl, db_url, tmp_path)
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url}
    for command in ("history", "status"):
        piped = subprocess.run(
            f"{sys.executable} -m atlas_crawl.cli {command} | head -c 10",
            shell=True, cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr


def test_record_ids_and_names_are_read_the_forgiving_way(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _two_documents(site, tmp_path, missing=False)
    _crawl(decl, db_url, tmp_path)
    site.serve("/privacy", page(B))
    changed = _crawl(decl, db_url, tmp_path)  # a verified change: AC-C-000001, AC-V-000003
    assert "changes recorded 1 (content 1)" in changed.stdout, changed.stdout

    diff = cli("diff", "AC-C-000001", "--color", "never", db_url=db_url)
    assert diff.returncode == 0 and "change 1 (AC-C-000001)" in diff.stdout
    assert "version 1 -> 2" in diff.stdout
    show = cli("show", "AC-V-000003", db_url=db_url)
    assert show.returncode == 0 and "version 2 (AC-V-000003)" in show.stdout
    wrong = cli("diff", "AC-V-000003", db_url=db_url)
    assert wrong.returncode == 2 and "is not a change (like AC-C-000003" in wrong.stderr

    recent = cli("history", db_url=db_url)
    assert "AC-C-000001" in recent.stdout and "1 -> 2" in recent.stdout
    one = cli("history", "--platform", "example", db_url=db_url)  # any case, alone
    assert one.returncode == 0
    assert "Example / Privacy Policy" in one.stdout and "Example / Terms of Service" in one.stdout
    typo = cli("history", "--platform", "Exampel", db_url=db_url)
    assert typo.returncode == 2 and "did you mean 'Example'" in typo.stderr
    # A platform by its record ID, and by the former one that shared provisions' letter.
    for platform_id in ("AC-PL-00001", "AC-P-00001"):
        by_id = cli("history", "--platform", platform_id, db_url=db_url)
        assert by_id.returncode == 0 and "Example / Privacy Policy" in by_id.stdout
    not_a_provision = cli("provision", "AC-P-00001", db_url=db_url)
    assert not_a_provision.returncode == 2
    assert "a platform's former record ID (now AC-PL-00001)" in not_a_provision.stderr
    doc_typo = cli("history", "--platform", "Example", "--document", "privacy polcy", db_url=db_url)
    assert doc_typo.returncode == 2 and "did you mean 'Privacy Policy'" in doc_typo.stderr

    lines = cli("history", "--json", db_url=db_url).stdout.splitlines()
    change = json.loads(lines[0])
    assert change["record_id"] == "AC-C-000001" and change["versions"] == "1 -> 2"
    versions = cli("history", "--platform", "Example", "--document", "Privacy Policy", "--json",
                   db_url=db_url).stdout.splitlines()  # fmt: skip
    assert [json.loads(v)["version_number"] for v in versions] == [1, 2]


def test_declaration_mistakes_are_refused_with_the_closest_names(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    typo = write_declarations(
        tmp_path / "typo", "Example", {"Privacy Polcy": {"fetch": site.url("/p"), "select": "main"}}
    )
    result = _crawl(typo, db_url, tmp_path)
    assert result.returncode == 2 and "did you mean 'Privacy Policy'" in result.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    result = _crawl(empty, db_url, tmp_path)
    assert result.returncode == 2 and "no declarations here" in result.stderr

    folder = tmp_path / "named"
    folder.mkdir()
    url = site.serve("/n", page(A))
    (folder / "example-file.json").write_text(
        json.dumps({"name": "Example Service", "terms": {"Privacy Policy": {"fetch": url,
                                                                            "select": "main"}}})
    )  # fmt: skip
    by_name = _crawl(folder, db_url, tmp_path, "--services", "example service")
    assert by_name.returncode == 0, by_name.stderr[-2000:]
    nope = _crawl(folder, db_url, tmp_path, "--services", "Nope")
    assert nope.returncode == 2
    assert "known: Example Service, example-file" in nope.stderr


def test_status_puts_what_needs_a_look_first_and_monitors(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _two_documents(site, tmp_path)  # Terms of Service answers 404
    _crawl(decl, db_url, tmp_path)
    _crawl(decl, db_url, tmp_path)
    status = cli("status", db_url=db_url)
    assert status.returncode == 0, status.stderr
    rows = status.stdout.splitlines()
    assert "Terms of Service" in rows[2] and "2 checks: http error" in rows[2]
    assert "Privacy Policy" in rows[3] and " ok " in rows[3]
    as_json = [
        json.loads(line) for line in cli("status", "--json", db_url=db_url).stdout.splitlines()
    ]
    assert as_json[0]["failing_checks"] == 2 and as_json[0]["last_failure_reason"] == "http error"
    assert as_json[1]["version_record_id"] == "AC-V-000001"
    failing = cli("status", "--fail-on", "2", db_url=db_url)
    assert failing.returncode == 1 and "1 document(s) failing for 2" in failing.stderr
    assert cli("status", "--fail-on", "3", db_url=db_url).returncode == 0


def test_untracked_documents_keep_their_history_and_are_not_checked(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _two_documents(site, tmp_path, missing=False)
    _crawl(decl, db_url, tmp_path)
    untrack = cli("untrack", "example", "terms of service", db_url=db_url)
    assert untrack.returncode == 0 and "Example / Terms of Service: untracked" in untrack.stdout
    hits = len(site.hits)
    _crawl(decl, db_url, tmp_path)
    assert [h for h in site.hits[hits:] if "/terms" in h] == []
    assert "Terms of Service" not in cli("status", db_url=db_url).stdout
    assert "untracked since" in cli("status", "--all", db_url=db_url).stdout
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM document_versions WHERE document_type = 'Terms of Service'"
        ).fetchone() == (1,)
    assert cli("untrack", "example", "privacy policy", db_url=db_url).returncode == 0
    none_left = cli("status", db_url=db_url).stdout
    assert "no documents tracked: 2 untracked" in none_left and "yet" not in none_left
    assert cli("track", "Example", db_url=db_url).returncode == 0
    _crawl(decl, db_url, tmp_path)
    assert [h for h in site.hits[hits:] if "/terms" in h]


def test_scrapy_crawl_says_a_database_problem_in_one_line(tmp_path: Path, site: Site) -> None:
    decl = _two_documents(site, tmp_path, missing=False)
    env = {**os.environ, "ATLAS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}
    result = run_scrapy(["crawl", "declarations", "-a", f"path={decl}"], env)
    assert result.returncode == 2  # could not start, as atlas-crawl crawl says it
    assert "database unavailable, nothing was fetched" in result.output
    assert "Traceback" not in result.output, result.output[-3000:]
    assert site.hits == []


def test_scrapy_crawl_says_a_bad_declaration_in_one_line(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url}
    result = run_scrapy(["crawl", "declarations", "-a", f"path={tmp_path / 'nope'}"], env)
    assert result.returncode == 2
    assert "not a folder of declarations" in result.output
    assert "Traceback" not in result.output, result.output[-3000:]


def test_an_unreachable_host_is_one_line_per_failure(tmp_path: Path, db_url: str) -> None:
    """Offline (here: a port nobody listens on), robots.txt and the page both fail:
    a failed check and one line each, no tracebacks."""
    decl = write_declarations(
        tmp_path / "decl",
        "Example",
        {"Privacy Policy": {"fetch": "http://127.0.0.1:1/privacy", "select": "main"}},
    )
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "ATLAS_EVIDENCE_DIR": str(tmp_path / "e")}
    result = run_scrapy(["crawl", "declarations", "-a", f"path={decl}"], env)
    assert result.returncode == 4, result.output[-3000:]  # its only check failed
    assert "robots.txt" in result.output
    assert "Traceback" not in result.output, result.output[-3000:]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT outcome FROM checks").fetchall() == [("failed",)]


def test_version_and_plain_help() -> None:
    version = cli("--version", db_url=None)
    assert version.returncode == 0 and version.stdout.startswith("atlas-crawl 0.")
    top = cli("--help", db_url=None)
    assert top.returncode == 0 and "``" not in top.stdout
    assert "status" in top.stdout and "checkpoint" in top.stdout
    crawl_help = cli("crawl", "--help", db_url=None).stdout
    assert "crawl an OTA declarations folder (with platforms named, those too)" in " ".join(
        crawl_help.split()
    )


def test_scrapy_crawl_exits_as_atlas_crawl_does(tmp_path: Path, db_url: str, site: Site) -> None:
    decl = _two_documents(site, tmp_path)  # /terms answers 404
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "ATLAS_EVIDENCE_DIR": str(tmp_path / "e")}
    plain = run_scrapy(["crawl", "declarations", "-a", f"path={decl}"], env)
    assert plain.returncode == 0, plain.output[-3000:]
    strict = run_scrapy(["crawl", "declarations", "--strict", "-a", f"path={decl}"], env)
    assert strict.returncode == 3, strict.output[-3000:]
    assert "1 check(s) failed (--strict)" in strict.output


def test_documents_that_need_a_browser_say_once_how_to_get_one(
    tmp_path: Path, db_url: str, site: Site
) -> None:
    rendered = site.serve("/terms", "<html><body><main id=app></main></body></html>")
    plain = site.serve("/privacy", page(A))
    decl = write_declarations(
        tmp_path / "decl",
        "Example",
        {
            "Terms of Service": {"fetch": rendered, "select": "main", "executeClientScripts": True},
            "Privacy Policy": {"fetch": plain, "select": "main"},
        },
    )
    not_a_browser = tmp_path / "chromium"
    not_a_browser.write_text("")  # there, but not an executable
    env = {
        **os.environ,
        "ATLAS_DATABASE_URL": db_url,
        "ATLAS_EVIDENCE_DIR": str(tmp_path / "e"),
        "ATLAS_CHROMIUM_PATH": str(not_a_browser),
    }
    result = run_scrapy(["crawl", "declarations", "-a", f"path={decl}"], env)
    assert result.returncode == 0, result.output[-3000:]
    said = [line for line in result.output.splitlines() if "need a browser" in line]
    assert len(said) == 1, result.output[-3000:]
    assert "Example / Terms of Service" in said[0] and "python3 dev.py browser" in said[0]
    assert "playwright install" not in result.output
    assert "/terms" not in site.hits
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT d.document_type, c.outcome, c.failure_reason, c.failure_detail
               FROM checks c JOIN documents d USING (document_id) ORDER BY 1"""
        ).fetchall()
    assert rows[0][:2] == ("Privacy Policy", "first")
    assert rows[1][:3] == ("Terms of Service", "failed", "no browser")
    assert "ATLAS_CHROMIUM_PATH" in rows[1][3] and "\n" not in rows[1][3]
    status = cli("status", db_url=db_url)
    assert "1 document(s) wait for a browser: install Debian's chromium" in status.stdout
    assert "Privacy Policy" in status.stdout and "Terms of Service" in status.stdout


def test_a_crawl_shows_progress_and_its_summary_and_the_full_log_on_request(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _two_documents(site, tmp_path, missing=False)
    every_item = {"ATLAS_PROGRESS_INTERVAL": "0.000001"}
    quiet = cli("crawl", "--declarations", str(decl), db_url=db_url,
                evidence=tmp_path / "evidence", env=every_item)  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "progress: 2 of 2 documents checked, 0 failed" in quiet.stderr
    assert quiet.stdout.startswith("declarations: 2 checks in")
    assert "[scrapy" not in quiet.stderr and "Spider opened" not in quiet.stderr
    assert len(quiet.stderr.splitlines()) <= 5, quiet.stderr
    verbose = cli("crawl", "--declarations", str(decl), "--verbose", db_url=db_url,
                  evidence=tmp_path / "evidence")  # fmt: skip
    assert verbose.returncode == 0
    assert "Spider opened" in verbose.stderr and len(verbose.stderr.splitlines()) > 20
