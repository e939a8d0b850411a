"""The package list in pyproject.toml covers every package folder, and nothing generic
is installed at the top of site-packages."""

from __future__ import annotations

import tomllib

from tests.helpers import ROOT


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed() -> None:
    config = _setuptools()
    listed = set(config["packages"])
    folders = {"atlas_crawl": ROOT / "atlas_crawl"}
    for name, folder in config["package-dir"].items():
        folders[name] = ROOT / folder
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    assert found <= listed, f"package folders missing from pyproject.toml: {found - listed}"


def test_nothing_generic_at_the_top_of_site_packages() -> None:
    config = _setuptools()
    assert {p.split(".")[0] for p in config["packages"]} == {"atlas_crawl"}
    assert all(name.startswith("atlas_crawl") for name in config["package-dir"])
