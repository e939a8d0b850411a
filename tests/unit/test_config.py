"""One channel for settings: the environment fills the ATLAS_* settings once, the
command line's settings win, the add-on turns them into Scrapy's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.settings import Settings

from atlas_crawl.config import ATLAS_SETTINGS, ConfigError, from_environment, project_settings
from atlas_crawl.crawl.addon import AtlasAddon
from atlas_crawl.storage.database import database


def test_environment_values_are_typed_and_defaults_fill_the_rest() -> None:
    values = from_environment(
        {
            "ATLAS_DB_CONNECTIONS": "2",
            "ATLAS_VERIFY_CHANGES": "no",
            "DATABASE_URL": "postgresql://x",
        }
    )
    assert values["ATLAS_DB_CONNECTIONS"] == 2
    assert values["ATLAS_VERIFY_CHANGES"] is False
    assert values["ATLAS_DATABASE_URL"] == "postgresql://x"  # DATABASE_URL serves too
    assert values["ATLAS_MIN_LENGTH_RATIO"] == 0.25
    assert set(values) == set(ATLAS_SETTINGS)


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="ATLAS_DOWNLOAD_TIMEOUT='soon'"):
        from_environment({"ATLAS_DOWNLOAD_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="ATLAS_SCREENSHOTS"):
        from_environment({"ATLAS_SCREENSHOTS": "maybe"})


def test_command_line_settings_win_and_name_their_source() -> None:
    settings = project_settings({"ATLAS_DATABASE_URL": "postgresql://cmd@127.0.0.1/x"})
    db = database(settings)
    assert db.url == "postgresql://cmd@127.0.0.1/x"
    assert db.source == "ATLAS_DATABASE_URL (command line)"


def test_the_addon_derives_scrapy_settings_from_atlas_ones() -> None:
    settings = Settings({"ATLAS_USER_AGENT": "agent/1", "ATLAS_DOWNLOAD_TIMEOUT": 7})
    settings.set("ATLAS_REDIS_URL", "redis://127.0.0.1:6379/0", priority="cmdline")
    settings.set("ATLAS_RENDER_PAGES", 2, priority="cmdline")
    settings.set("ATLAS_CHROMIUM_PATH", "/opt/chromium", priority="cmdline")
    AtlasAddon().update_settings(settings)
    assert settings["USER_AGENT"] == "agent/1"
    assert settings.getfloat("DOWNLOAD_TIMEOUT") == 7
    assert settings.getint("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT") == 2
    assert settings["PLAYWRIGHT_LAUNCH_OPTIONS"]["executable_path"] == "/opt/chromium"
    assert settings["SCHEDULER"] == "atlas_crawl.crawl.distributed.RoundScheduler"


def test_scrapy_settings_given_directly_still_win_over_the_addon() -> None:
    settings = Settings({"ATLAS_USER_AGENT": "agent/1"})
    settings.set("USER_AGENT", "mine/2", priority="cmdline")
    AtlasAddon().update_settings(settings)
    assert settings["USER_AGENT"] == "mine/2"


def test_a_machine_without_chromium_is_told_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from atlas_crawl.crawl import addon

    monkeypatch.setattr(addon.os.path, "exists", lambda path: False)
    monkeypatch.setattr(addon.shutil, "which", lambda name: None)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    problem = addon.browser_problem(None)
    assert problem is not None and problem.startswith("Chromium is missing: install Debian")
    (tmp_path / "chromium-1187").mkdir()  # Playwright's own download, where it could be had
    assert addon.browser_problem(None) is None


def test_dev_py_installs_a_browser_only_for_tests_that_may_need_one() -> None:
    import dev

    assert not dev.needs_browser(["tests/unit"])
    assert not dev.needs_browser(["-q", "tests/unit/test_guards.py", "-x"])
    assert dev.needs_browser([])  # the whole suite
    assert dev.needs_browser(["tests/integration/test_web_browser.py"])
    assert dev.needs_browser(["tests/unit", "tests/integration"])
