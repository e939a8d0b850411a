"""E-mail subscriptions from the web view, against real crawls, the real server and a
real SMTP server (aiosmtpd on 127.0.0.1): double opt-in, one-click unsubscribe, the
subscriptions page, and every abuse case refused with nothing sent."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers import CrawlRunner, Site, cli
from tests.integration.conftest import Mailbox
from tests.integration.test_web import (
    AI_TRAINING,
    EMAIL,
    Served,
    _free_port,
    _record,
    fill,
    policy,
    start_server,
    stop_server,
)
from tests.integration.test_web_browser import browser  # noqa: F401 (the fixture)

SECRET = "test-subscription-secret"


class Reader:
    """A browser's part without a browser: cookies kept, forms posted."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def call(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        url = path if path.startswith("http") else self.base + path
        try:
            with self.opener.open(urllib.request.Request(url, data=data), timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def form_of(self, target: str) -> dict[str, str]:
        status, page = self.call(f"/watch?target={urllib.parse.quote(target)}")
        assert status == 200, page[:300]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf
        return {"target": target, "csrf": csrf.group(1)}


@pytest.fixture
def watched(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, smtp: tuple[Mailbox, int]
) -> Iterator[tuple[Served, dict[str, str]]]:
    fill(crawl, site, tmp_path)
    port = _free_port()
    env = {"ATLAS_SMTP_HOST": "127.0.0.1", "ATLAS_SMTP_PORT": str(smtp[1]),
           "ATLAS_SMTP_STARTTLS": "0", "ATLAS_SUBSCRIBE_SECRET": SECRET,
           "ATLAS_PUBLIC_URL": f"http://127.0.0.1:{port}", "ATLAS_SUBSCRIBE_PER_ADDRESS": "3",
           "ATLAS_SUBSCRIBE_PER_CLIENT": "6"}  # fmt: skip
    server = start_server(db_url, port=port, env=env)
    yield server, env
    stop_server(server)


def _link(message: Message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"http://\S+{re.escape(path)}\S*", text)
    assert found, text
    return found.group(0)


def _change(crawl: CrawlRunner, site: Site, tmp_path: Path, clause: str) -> None:
    site.serve("/alpha/privacy", policy(EMAIL, clause))
    assert crawl("declarations", path=tmp_path / "Alpha").returncode == 0


def test_subscribe_confirm_receive_and_unsubscribe_in_one_click(
    watched: tuple[Served, dict[str, str]], smtp: tuple[Mailbox, int],
    crawl: CrawlRunner, site: Site, tmp_path: Path,
) -> None:  # fmt: skip
    served, env = watched
    mailbox = smtp[0]
    ai = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text LIKE "
                                "'We use your posts%'")  # fmt: skip
    _, page = Reader(served.base).call(f"/provisions/{ai}")
    assert f"/watch?target=provision%3A{ai}" in page  # the page offers it
    reader = Reader(served.base)
    form = reader.form_of(f"provision:{ai}")
    status, page = reader.call("/watch", {**form, "email": " Reader@Example.ORG "})
    assert status == 200 and "Check your inbox" in page
    [confirmation] = mailbox.to("reader@example.org")
    link = _link(confirmation, "/watch/confirm?token=")

    # Nothing is sent before the address confirms.
    _change(crawl, site, tmp_path, AI_TRAINING + " We may also sell your posts.")
    assert cli("notify", db_url=served.db_url, env=env).returncode == 0
    assert len(mailbox.to("reader@example.org")) == 1

    status, page = reader.call(link)  # the link shows a button: scanners confirm nothing
    assert status == 200 and "Confirm" in page
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    status, page = reader.call("/watch/confirm", {"token": token})
    assert status == 200 and "<h1>Alerts confirmed</h1>" in page
    status, page = reader.call("/watch/confirm", {"token": token})
    assert status == 200 and "Already confirmed" in page
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "forged", ""):
        status, page = reader.call("/watch/confirm", {"token": bad})
        assert status == 400 and "not valid" in page
    listed = cli("watch", "list", db_url=served.db_url)
    assert "reader@example.org" in listed.stdout and "web" in listed.stdout
    assert "active" in listed.stdout
    with psycopg.connect(served.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM watches WHERE destination = "
                            "'reader@example.org'").fetchone() == (1,)  # fmt: skip

    # A real change reaches the address once, with one-click unsubscribing.
    _change(crawl, site, tmp_path, AI_TRAINING + " We sell your posts to data brokers.")
    assert cli("notify", db_url=served.db_url, env=env).returncode == 0
    assert cli("notify", db_url=served.db_url, env=env).returncode == 0
    alerts = mailbox.to("reader@example.org")[1:]
    assert len(alerts) == 1, [m["Subject"] for m in alerts]
    alert = alerts[0]
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    stop = alert["List-Unsubscribe"].strip("<>")
    assert stop == _link(alert, "/watch/unsubscribe?")
    one_click = Reader(served.base)  # a mail program: no cookie, no page, one POST
    status, page = one_click.call(stop, {"List-Unsubscribe": "One-Click"})
    assert status == 200 and "Alerts stopped" in page
    assert "stopped before" in one_click.call(stop, {"List-Unsubscribe": "One-Click"})[1]
    altered = stop.replace("w=", "w=9")
    assert one_click.call(altered, {"List-Unsubscribe": "One-Click"})[0] == 400

    _change(crawl, site, tmp_path, AI_TRAINING + " We keep your posts forever.")
    assert cli("notify", db_url=served.db_url, env=env).returncode == 0
    assert len(mailbox.to("reader@example.org")) == 2  # the confirmation and one alert


def test_abuse_is_refused_and_sends_nothing(
    watched: tuple[Served, dict[str, str]], smtp: tuple[Mailbox, int]
) -> None:
    served, _env = watched
    mailbox = smtp[0]
    reader = Reader(served.base)
    form = reader.form_of("platform:alpha")
    # No CSRF token, a token of another cookie, no cookie: refused, nothing sent.
    assert reader.call("/watch", {"target": "platform:alpha", "email": "a@example.org"})[0] == 403
    stranger = Reader(served.base)
    assert stranger.call("/watch", {**form, "email": "a@example.org"})[0] == 403
    assert reader.call("/watch", {**form, "csrf": "0" * 64, "email": "a@example.org"})[0] == 403
    for bad in ({"email": "not an address"}, {"email": "a@example.org", "min_severity": "x"},
                {"email": "a@example.org", "target": "provision:AC-P-999999"},
                {"email": "a@example.org", "target": "javascript:alert(1)"}):  # fmt: skip
        status, page = reader.call("/watch", {**form, **bad})
        assert status in (400, 404) and "Traceback" not in page, (bad, status)
    assert not mailbox.messages
    # At most 3 confirmation messages per address in an hour, 6 per client.
    for _ in range(5):
        reader.call("/watch", {**form, "email": "victim@example.org"})
    assert len(mailbox.to("victim@example.org")) == 3
    status, page = reader.call("/watch", {**form, "email": "victim@example.org"})
    assert status == 429 and "Too many requests" in page
    for i in range(4):
        reader.call("/watch", {**form, "email": f"other{i}@example.org"})
    assert len(mailbox.messages) == 6
    # An expired confirmation link is refused with its own page.
    token = "expired-token-for-the-test"
    import hashlib

    with psycopg.connect(served.db_url) as conn:
        conn.execute("UPDATE watches SET confirm_sha256 = %s, confirm_expires_at = now() - "
                     "interval '1 hour' WHERE destination = 'other0@example.org'",
                     (hashlib.sha256(token.encode()).digest(),))  # fmt: skip
    status, page = reader.call("/watch/confirm", {"token": token})
    assert status == 410 and "expired" in page


def test_an_address_reaches_its_subscriptions_only_through_a_link_sent_to_it(
    watched: tuple[Served, dict[str, str]], smtp: tuple[Mailbox, int]
) -> None:
    served, _env = watched
    mailbox = smtp[0]
    reader = Reader(served.base)
    form = reader.form_of("type:ai-training")
    reader.call("/watch", {**form, "email": "me@example.org", "min_severity": "high"})
    status, page = reader.call("/watch/manage", {"csrf": form["csrf"], "email": "me@example.org"})
    assert status == 200 and "Check your inbox" in page
    # the same answer for an address with no subscription, and nothing sent to it
    nobody = {"csrf": form["csrf"], "email": "no@example.org"}
    assert "Check your inbox" in reader.call("/watch/manage", nobody)[1]
    assert not mailbox.to("no@example.org")
    link = _link(mailbox.to("me@example.org")[-1], "/watch/manage?")
    status, page = Reader(served.base).call(link)
    assert status == 200 and "type:ai-training" in page and "awaiting confirmation" in page
    assert Reader(served.base).call(link.replace("me%40", "you%40"))[0] == 400
    assert Reader(served.base).call(link.replace("sig=", "sig=0"))[0] == 400


@pytest.mark.browser
def test_a_reader_subscribes_and_confirms_in_a_browser_without_javascript(
    watched: tuple[Served, dict[str, str]],
    smtp: tuple[Mailbox, int],
    browser: Any,  # noqa: F811
    crawl: CrawlRunner,
    site: Site,
    tmp_path: Path,
) -> None:
    """From the provision page's link to a confirmed subscription, in Chromium with
    scripts off (the forms need none); axe-core finds no serious violation on the form."""
    import axe_playwright_python

    served, _env = watched
    mailbox = smtp[0]
    ai = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text LIKE "
                                "'We use your posts%'")  # fmt: skip
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{served.base}/provisions/{ai}")
    page.get_by_role("link", name="Watch this provision").click()
    page.wait_for_url("**/watch?target=*")
    page.get_by_label("Your e-mail address").fill("browser@example.org")
    page.get_by_label("Only changes of at least this severity").select_option("medium")
    page.get_by_role("button", name="Send me a confirmation link").click()
    assert "Check your inbox" in page.inner_text("main")
    [confirmation] = mailbox.to("browser@example.org")
    page.goto(_link(confirmation, "/watch/confirm?token="))
    page.get_by_role("button", name="Confirm").click()
    assert "Alerts confirmed" in page.inner_text("h1")
    # A crawled change raises the AI clause's severity: one alert; its link stops them.
    _change(crawl, site, tmp_path, AI_TRAINING + " We sell your posts to data brokers.")
    assert cli("notify", db_url=served.db_url, env=_env).returncode == 0
    [alert] = mailbox.to("browser@example.org")[1:]
    page.goto(alert["List-Unsubscribe"].strip("<>"))
    page.get_by_role("button", name="Stop the alerts").click()
    assert "Alerts stopped" in page.inner_text("h1")
    _change(crawl, site, tmp_path, AI_TRAINING + " We keep your posts forever.")
    assert cli("notify", db_url=served.db_url, env=_env).returncode == 0
    assert len(mailbox.to("browser@example.org")) == 2
    context.close()
    axe = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    checked = browser.new_context(bypass_csp=True)  # the checker is let in by the test only
    page = checked.new_page()
    page.goto(f"{served.base}/watch?target=type%3Aai-training")
    page.evaluate(axe)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")] == []
    checked.close()
