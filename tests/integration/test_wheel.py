"""The built wheel works like any other Python package: installed (not editable) into a
fresh virtual environment and run from an empty folder, it upgrades a database, runs the
demo and crawls a declarations folder.

The fresh environment takes its dependencies from the project's own environment (a
``.pth`` line), so the test needs no network; the project's code itself can only come
from the wheel: the checkout is on no path, and the editable install's import hook is
not active there.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.helpers import ROOT, Site, page, write_declarations

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin folder."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("atlas_crawl-*.whl"))
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    site_packages = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies from the project's environment, after the wheel's own packages.
    (Path(site_packages) / "atlas_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return bin_dir


def _run(bin_dir: Path, cwd: Path, *args: str, env: dict[str, str] | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "PYTHON"))}
    clean.pop("SCRAPY_SETTINGS_MODULE", None)
    return subprocess.run(
        [str(bin_dir / "atlas-crawl"), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_wheel_holds_every_package_and_its_data(installed: Path) -> None:
    wheel = next((installed.parent.parent / "dist").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"atlas_crawl"}, tops
    for needed in (
        "atlas_crawl/sql/migrations/001_initial.sql",
        "atlas_crawl/sql/views.sql",
        "atlas_crawl/sql/queries.sql",
        "atlas_crawl/sql/recording.sql",
        "atlas_crawl/demo/pages/privacy-v1.html",
        "atlas_crawl/spiders/linkedin.py",
        "atlas_crawl/pipelines/store.py",
        "atlas_crawl/audit/verify.py",
        "atlas_crawl/audit/verify_bundle.py",
        "atlas_crawl/clauses/agencies.toml",
        "atlas_crawl/web/templates/provision.html",
        "atlas_crawl/web/static/site.js",
        "atlas_crawl/sql/web.sql",
    ):
        assert needed in names, needed


def test_upgrade_crawl_and_read_from_an_empty_folder(
    installed: Path, db_url: str, tmp_path: Path, site: Site
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    # An empty database (the test's is migrated already): the wheel's migrations apply.
    name = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"] + "_wheel"
    fresh = psycopg.conninfo.make_conninfo(db_url, dbname=name)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    upgraded = _run(installed, empty, "--database-url", fresh, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied: 001_initial.sql" in upgraded.stdout

    site.serve("/privacy", page("We keep your data safe. " * 5))
    folder = write_declarations(
        tmp_path / "decl",
        "Example",
        {"Privacy Policy": {"fetch": site.url("/privacy"), "select": "main"}},
    )
    crawled = _run(
        installed,
        empty,
        "--database-url",
        fresh,
        "crawl",
        "--declarations",
        str(folder),
        env={"ATLAS_EVIDENCE_DIR": str(tmp_path / "evidence")},
    )
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    history = _run(installed, empty, "--database-url", fresh, "history")
    assert "Example" in history.stdout and "Privacy Policy" in history.stdout, history.stdout
    with psycopg.connect(fresh) as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (1,)
    assert not any(empty.iterdir()), "nothing is written to the working folder"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_the_demo_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    demo = _run(installed, empty, "demo", env={"ATLAS_DATA_DIR": str(tmp_path / "data")})
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert (
        "AI" in demo.stdout
        and "change 1 (AC-C-000001): Example Social / Privacy Policy" in demo.stdout
    )
    # It says how to open its database afterwards, as commands that work from where the
    # user stands (here atlas-crawl is not on the PATH), once it has ended.
    suggested = [line.strip() for line in demo.stdout.splitlines()
                 if line.strip().endswith("compare ai-training")]  # fmt: skip
    assert suggested and "atlas-crawl --database-url embedded:atlas_demo" in suggested[0]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "PYTHON"))}
    after = subprocess.run(
        shlex.split(suggested[0]),
        cwd=empty,
        env={**clean, "ATLAS_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert after.returncode == 0, after.stderr[-3000:]
    assert "Example Social  Privacy Policy  AC-P-" in after.stdout
