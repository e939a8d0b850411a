"""The web view in a real Chromium (Playwright driving Debian's chromium): what a reader
sees, the links between pages, the citation copied, a hostile policy's script never
run, no request leaving 127.0.0.1, and axe-core finding no serious or critical
accessibility violation on any page type."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas_crawl.crawl.addon import CHROMIUM_ARGS, chromium_path
from tests.integration.test_web import Served, _record, served  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Any]:
    path = chromium_path(os.environ.get("ATLAS_CHROMIUM_PATH"))
    if path is None or not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (python3 dev.py browser)")
        pytest.skip("no Chromium: python3 dev.py browser, or set ATLAS_CHROMIUM_PATH")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _pages(served: Served) -> dict[str, str]:  # noqa: F811
    change = _record(served.db_url, "SELECT record_id FROM changes")
    ai = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text LIKE "
                                "'We use your posts%'")  # fmt: skip
    return {
        "overview": "/",
        "platforms": "/platforms",
        "platform": "/platforms/alpha",
        "document": "/documents/AC-D-00001",
        "version": "/versions/AC-V-000001",
        "change": f"/changes/{change}",
        "provision": f"/provisions/{ai}",
        "type": "/types/ai-training",
        "search": "/search?q=email",
        "not found": "/changes/AC-C-999999",
    }


def test_a_reader_goes_from_the_overview_to_a_provision_and_copies_its_citation(
    served: Served,  # noqa: F811
    browser: Any,
) -> None:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.base)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(served.base + "/")
    assert "Policy changes of 2 platform(s)" in page.inner_text("main")
    page.get_by_role("link", name="AC-C-000001").first.click()
    page.wait_for_url("**/changes/AC-C-000001")
    main = page.inner_text("main")
    assert "Severity raised" in main and "▲ High" in main
    assert "We use your posts and activity to train generative AI models." in main
    page.get_by_role("button", name="Side by side / inline").click()
    assert page.locator("#diff-body").get_attribute("class") == "diff side"
    assert page.locator("#diff-body .after").is_visible()
    page.locator("a[href^='/provisions/']").first.click()
    page.wait_for_url("**/provisions/**")
    main = page.inner_text("main")
    for phrase in ("What you can do", "Regulations it engages", "Original clause language",
                   "Evidence provenance", "How to cite", "Questions"):  # fmt: skip
        assert phrase in main, phrase
    page.get_by_role("button", name="Copy the citation").click()
    page.wait_for_function("document.querySelector('.copied').textContent.length > 0")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.inner_text("#citation") and "Capture SHA-256" not in copied
    assert "capture SHA-256" in copied
    assert all(url.startswith(served.base) for url in requested), [
        u for u in requested if not u.startswith(served.base)
    ]
    context.close()


def test_a_hostile_policy_s_script_never_runs(served: Served, browser: Any) -> None:  # noqa: F811
    hostile = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text "
                                     "LIKE '%atlasPwned = 1%'")  # fmt: skip
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in (f"/provisions/{hostile}", "/documents/AC-D-00002", "/search?q=posts+models"):
        page.goto(served.base + path)
        assert "<script>window.atlasPwned = 1</script>" in page.inner_text("main"), path
        assert page.evaluate("window.atlasPwned === undefined"), path
        for link in page.locator("a").all():
            assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    assert dialogs == []
    page.close()


def test_every_page_type_reads_without_javascript(served: Served, browser: Any) -> None:  # noqa: F811
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    for name, path in _pages(served).items():
        page.goto(served.base + path)
        assert page.inner_text("main").strip(), name
    context.close()


def test_no_serious_or_critical_accessibility_violation(served: Served, browser: Any) -> None:  # noqa: F811
    import axe_playwright_python

    axe = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    # The pages allow no inline script: the checker is let in by the test's context only.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    for name, path in _pages(served).items():
        page.goto(served.base + path)
        page.evaluate(axe)
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [f"{v['id']}: {v['help']}" for v in result["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
        if bad:
            found[name] = bad
    context.close()
    assert found == {}
