"""Watches and alerts through ``scrapy crawl`` and ``atlas-crawl``: real receivers on
127.0.0.1 (an HTTP server for webhooks and Apprise's json://, aiosmtpd for e-mail), no
mock of any channel."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import psycopg
import pytest

from tests.helpers import ROOT, CrawlRunner, Receiver, Site, cli, write_declarations
from tests.integration.conftest import Mailbox

AI_DENIED = "We do not use your personal data or content to train generative AI models."
AI_USED = (
    "We may use your personal data and the content you post to develop and train "
    "generative AI models. You can opt out in Settings > Data Privacy."
)
EMAIL = "We collect your email address to run your account and keep it secure."
SALE = "We never sell your personal information to anyone."
ATOM = "{http://www.w3.org/2005/Atom}"


def _page(*paragraphs: str, updated: str = "March 3, 2026") -> str:
    body = "".join(f"<h2>Section {i}</h2><p>{p}</p>" for i, p in enumerate(paragraphs, 1))
    return (f"<html><body><main><h1>Privacy Policy</h1><p>Last updated: {updated}</p>"
            f"{body}</main></body></html>")  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _first_crawl(crawl: CrawlRunner, site: Site, tmp_path: Path) -> Path:
    url = site.serve("/a/privacy", _page(EMAIL, AI_DENIED))
    folder = write_declarations(
        tmp_path / "d", "Alpha", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    assert crawl("declarations", path=folder).returncode == 0
    return folder


def _change(crawl: CrawlRunner, site: Site, folder: Path) -> None:
    # The AI clause now trains models on what you post; a denial of sale is added; the
    # stated date stays: a silent change.
    site.serve("/a/privacy", _page(EMAIL, AI_USED, SALE))
    assert crawl("declarations", path=folder).returncode == 0


def _watch(db_url: str, *args: str) -> str:
    done = cli("watch", "add", *args, db_url=db_url)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _notify(db_url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = cli("notify", *args, db_url=db_url, env=env)
    assert done.returncode == 0, done.stderr
    return done


def test_one_change_reaches_every_channel_once(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, receiver: Receiver, smtp
) -> None:
    mailbox, smtp_port = smtp
    folder = _first_crawl(crawl, site, tmp_path)
    hook = receiver.url("/hook")
    assert "watch 1: platform:Alpha -> webhook" in _watch(db_url, "platform:Alpha", hook,
                                                          "--secret", "s3cret")  # fmt: skip
    _watch(db_url, "document:alpha/privacy policy", "mailto:alerts@example.com")
    _watch(db_url, "platform:Alpha", "json://" + receiver.url("/apprise").split("://")[1])
    _watch(db_url, "type:ai-training", "atom:AI training")
    _watch(db_url, "type:sale-of-data", receiver.url("/sale"))  # the denial is low: nothing
    with psycopg.connect(db_url) as conn:
        ai_record, email_record = (
            conn.execute("SELECT record_id FROM provisions WHERE current_text LIKE %s",
                         (f"{start}%",)).fetchone()[0]
            for start in ("We do not use", "We collect your email")
        )  # fmt: skip
    _watch(db_url, f"provision:{ai_record}", receiver.url("/provision"))
    _watch(db_url, f"provision:{email_record}", receiver.url("/unchanged"))
    listed = cli("watch", "list", db_url=db_url).stdout
    assert "type:ai-training" in listed and "atom" in listed

    _change(crawl, site, folder)
    # Another platform brings a new provision of high severity: the type watch fires.
    beta = site.serve("/b/terms", _page(EMAIL))
    beta_folder = write_declarations(
        tmp_path / "b", "Beta", {"Terms of Service": {"fetch": beta, "select": "main"}}
    )
    assert crawl("declarations", path=beta_folder).returncode == 0
    site.serve("/b/terms", _page(EMAIL, AI_USED))
    assert crawl("declarations", path=beta_folder).returncode == 0
    feeds = tmp_path / "feeds"
    env = {"ATLAS_SMTP_HOST": "127.0.0.1", "ATLAS_SMTP_PORT": str(smtp_port),
           "ATLAS_SMTP_STARTTLS": "0", "ATLAS_FEEDS_DIR": str(feeds)}  # fmt: skip
    done = _notify(db_url, env)
    assert "alerts: 6 delivered, 0 to retry, 0 dead" in done.stdout
    # A provision watch: the clause that changed, not the one that did not.
    assert len(receiver.at("/provision")) == 1 and not receiver.at("/unchanged")

    # The webhook: signed, with its idempotency key, the versioned payload.
    [(headers, body, _)] = receiver.at("/hook")
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Atlas-Signature-256"] == expected
    assert headers["Idempotency-Key"] == "AC-C-000001/W-1"
    sent = json.loads(body)
    assert sent["schema"] == "atlas-crawl.alert/1"
    assert sent["idempotency_key"] == "AC-C-000001/W-1"
    assert sent["change"]["record_id"] == "AC-C-000001" and sent["change"]["silent"]
    assert sent["change"]["severity"] == "high"
    assert sent["document"] == {**sent["document"], "platform": "Alpha",
                                "document_type": "Privacy Policy"}  # fmt: skip
    ai = next(p for p in sent["provisions"] if p["kind"] == "modified")
    assert {"type": "ai-training", "severity": "high"} in ai["clause_types"]
    assert sent["severity_marks"][0]["mark"] == "raised"
    assert len(sent["evidence"]["capture_sha256"]) == 64
    text = sent["summary"]["text"]
    assert text.startswith("Severity raised: Alpha / Privacy Policy changed (AC-C-000001)")
    assert "Silent change: the text changed but the document's stated date (2026-03-03)" in text
    assert "Provisions: 1 added, 0 removed, 1 modified, 0 moved." in text
    assert "develop and train generative AI models" in text
    # The e-mail: one message, plain text and HTML.
    [mail] = mailbox.messages
    assert mail["To"] == "alerts@example.com"
    assert "Alpha / Privacy Policy changed (AC-C-000001)" in mail["Subject"]
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}
    # Apprise's json:// notification.
    [(_, apprised, _)] = receiver.at("/apprise")
    assert "AC-C-000001" in json.loads(apprised)["title"]
    # The Atom feed of the type watch: valid, the change's record ID as its entry id.
    feed = ET.parse(feeds / "watch" / "ai-training.xml").getroot()
    assert feed.tag == f"{ATOM}feed" and feed.find(f"{ATOM}updated") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == [
        "urn:atlas-crawl:change:AC-C-000002", "urn:atlas-crawl:change:AC-C-000001",
    ]  # fmt: skip
    assert entries[0].find(f"{ATOM}title").text.startswith("Severity raised: Beta")
    assert "New high-severity provision" in entries[0].find(f"{ATOM}content").text
    assert entries[1].find(f"{ATOM}content").get("type") == "html"
    assert not receiver.at("/sale"), "a low sale-of-data provision raises no type alert"

    # Nothing twice: a second notify has nothing to deliver.
    assert "alerts: 0 delivered" in _notify(db_url, env).stdout
    assert len(receiver.at("/hook")) == 1 and len(mailbox.messages) == 1
    # The same summary in the CLI's view of the change, and every feed written.
    diff = cli("diff", "AC-C-000001", db_url=db_url).stdout
    assert "Silent change: the text changed" in diff, diff
    out = tmp_path / "all-feeds"
    assert cli("feeds", "--out", str(out), db_url=db_url).returncode == 0
    for name in ("platform/alpha.xml", "document/alpha--privacy-policy.xml",
                 "type/ai-training.xml", "watch/ai-training.xml"):  # fmt: skip
        assert ET.parse(out / name).getroot().find(f"{ATOM}entry") is not None, name


def test_bad_watches_are_refused_with_one_line(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _first_crawl(crawl, site, tmp_path)
    for args, says in (
        (("platform:Alpah", "https://x.example/h"), "no platform 'Alpah' (did you mean"),
        (("platform:Alpha", "ftp://example.com/h"), "bad destination 'ftp://example.com/h'"),
        (("platform:Alpha", "mailto:nobody"), "bad e-mail address 'nobody'"),
        (("type:ai-trainnig", "atom:x"), "(did you mean 'ai-training'?)"),
        (("provision:AC-P-999999", "atom:x"), "no provision AC-P-999999"),
        (("document:Alpha", "atom:x"), "expected document:PLATFORM/DOCUMENT TYPE"),
        (("platform:Alpha", "atom:x", "--secret", "k"), "--secret signs webhooks only"),
    ):
        done = cli("watch", "add", *args, db_url=db_url)
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1
    assert cli("watch", "remove", "7", db_url=db_url).returncode == 2
    assert "no watches" in cli("watch", "list", db_url=db_url).stdout


def test_retries_with_backoff_then_dead_letters(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    folder = _first_crawl(crawl, site, tmp_path)
    _watch(db_url, "platform:Alpha", receiver.url("/flaky"))
    _watch(db_url, "platform:Alpha", receiver.url("/down"))
    receiver.answers["/flaky"] = [503, 503, 503]
    receiver.answers["/down"] = [503] * 4
    _change(crawl, site, folder)
    env = {"ATLAS_NOTIFY_BACKOFF": "0", "ATLAS_NOTIFY_MAX_ATTEMPTS": "4"}
    for _ in range(4):
        _notify(db_url, env)
    flaky = receiver.at("/flaky")
    assert [s for _, _, s in flaky] == [503, 503, 503, 200], "delivered once, after 3 retries"
    assert {h["Idempotency-Key"] for h, _, _ in flaky} == {"AC-C-000001/W-1"}
    with psycopg.connect(db_url) as conn:
        dead = conn.execute(
            "SELECT idempotency_key, attempts, last_error FROM dead_notifications"
        ).fetchall()
    assert dead == [("AC-C-000001/W-2", 4, f"HTTP 503 from {receiver.url('/down')}")]
    requeued = _notify(db_url, env, "--retry-dead", "all")
    assert "1 dead alert(s) queued again" in requeued.stdout
    assert [s for _, _, s in receiver.at("/down")] == [503] * 4 + [200]


def test_a_killed_notify_loses_nothing_and_two_at_once_deliver_once(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    slow = Receiver(delay=0.1)
    try:
        folder = _first_crawl(crawl, site, tmp_path)
        _watch(db_url, "platform:Alpha", slow.url("/w"))
        with psycopg.connect(db_url) as conn:  # 119 more like it, quicker than 119 commands
            conn.execute(
                """INSERT INTO watches (target, target_kind, platform_id, channel, destination)
                   SELECT target, target_kind, platform_id, channel, destination || n
                   FROM watches, generate_series(2, 120) AS n"""
            )
        _change(crawl, site, folder)
        env = {**os.environ, "ATLAS_DATABASE_URL": db_url}
        command = [sys.executable, "-m", "atlas_crawl.cli", "notify"]
        # Killed with SIGKILL in the middle of its first batches.
        killed = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while len(slow.received) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        time.sleep(0.5)  # what it had in flight lands
        before_kill = len(slow.received)
        assert 10 <= before_kill < 120, before_kill
        # Two processes at once finish the rest.
        both = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
                for _ in range(2)]  # fmt: skip
        outputs = [p.communicate(timeout=120)[0] for p in both]
        assert all(p.returncode == 0 for p in both), outputs
        keys = [h["Idempotency-Key"] for _, h, _, s in slow.received if s == 200]
        # Everything arrived; a key seen twice was in flight when the process was killed.
        assert len(set(keys)) == 120
        after_kill = keys[before_kill:]
        assert len(after_kill) == len(set(after_kill)), "the two processes never overlap"
        with psycopg.connect(db_url) as conn:
            assert conn.execute(
                "SELECT status, count(*) FROM notifications GROUP BY 1"
            ).fetchall() == [("delivered", 120)]
    finally:
        slow.close()


def _listening(db_url: str) -> bool:
    with psycopg.connect(db_url) as conn:
        return bool(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = 'LISTEN atlas_notifications'"
        ).fetchone()[0])  # fmt: skip


def test_follow_wakes_on_a_change_and_a_crawl_delivers_at_its_end(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    folder = _first_crawl(crawl, site, tmp_path)
    _watch(db_url, "platform:Alpha", receiver.url("/live"))
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url}
    follower = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "notify", "--follow"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _listening(db_url) and time.monotonic() < deadline:
            time.sleep(0.1)
        _change(crawl, site, folder)  # a scrapy crawl: it delivers nothing itself
        while not receiver.at("/live") and time.monotonic() < deadline + 30:
            time.sleep(0.1)
        assert len(receiver.at("/live")) == 1, "woken by the change, not by a poll"
    finally:
        follower.terminate()
        follower.communicate(timeout=30)
    # atlas-crawl crawl delivers the alerts of what it recorded when it ends.
    site.serve("/a/privacy", _page(EMAIL, AI_DENIED))
    done = cli("crawl", "--declarations", str(folder), db_url=db_url)
    assert done.returncode == 0, done.stderr
    assert "alerts: 1 delivered, 0 to retry, 0 dead" in done.stdout
    assert [h["Idempotency-Key"] for h, _, _ in receiver.at("/live")] == [
        "AC-C-000001/W-1", "AC-C-000002/W-1",
    ]  # fmt: skip
    summaries = cli("history", "--platform", "alpha", "--summaries", db_url=db_url).stdout
    assert "Alpha / Privacy Policy changed (AC-C-000002)" in summaries


def _self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA: a mail server with a private CA."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


def test_email_over_starttls_with_login(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = _self_signed_cert(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[bytes] = []

    def authenticate(server, session, envelope, mechanism, auth_data):  # aiosmtpd's form
        ok = auth_data.login == b"atlas" and auth_data.password == b"pa55"
        logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)  # handled=True would answer nothing

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=tls,
                            require_starttls=True, authenticator=authenticate,
                            auth_require_tls=True)  # fmt: skip
    controller.start()
    try:
        folder = _first_crawl(crawl, site, tmp_path)
        _watch(db_url, "platform:Alpha", "mailto:alerts@example.com")
        _change(crawl, site, folder)
        env = {"ATLAS_SMTP_HOST": "127.0.0.1", "ATLAS_SMTP_PORT": str(port),
               "ATLAS_SMTP_USER": "atlas", "ATLAS_SMTP_PASSWORD": "wrong",
               "ATLAS_SMTP_CA_FILE": str(cert), "ATLAS_NOTIFY_BACKOFF": "0"}  # fmt: skip
        refused = _notify(db_url, env)
        assert "alerts: 0 delivered, 1 to retry" in refused.stdout
        assert "SMTP 127.0.0.1" in refused.stderr and not mailbox.messages
        done = _notify(db_url, {**env, "ATLAS_SMTP_PASSWORD": "pa55"})
        assert "alerts: 1 delivered" in done.stdout, done.stderr
        [mail] = mailbox.messages
        assert mail["Message-ID"] == "<AC-C-000001.W-1@atlas-crawl>"
        assert logins and set(logins) == {b"atlas"}  # smtplib tries each mechanism
    finally:
        controller.stop()


def test_technical_changes_reach_only_the_watches_that_ask_for_them(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    html = """<html><body><main><div class=promo>Try our app!</div><article>
    <h1>Terms</h1><p>You agree to these terms.</p></article></main></body></html>"""
    url = site.serve("/t", html)
    decl = write_declarations(
        tmp_path / "d", "Example", {"Terms of Service": {"fetch": url, "select": "main"}}
    )
    assert crawl("declarations", path=decl).returncode == 0
    _watch(db_url, "platform:Example", receiver.url("/content"))
    _watch(db_url, "document:Example/Terms of Service", receiver.url("/all"), "--technical")
    # The selector changes; re-reading the stored capture is a technical change.
    write_declarations(decl, "Example", {"Terms of Service": {"fetch": url, "select": "article"}})
    done = cli("reextract", "Example", "--declarations", str(decl), db_url=db_url)
    assert "technical change" in done.stdout, done.stderr
    _notify(db_url, {})
    assert len(receiver.at("/all")) == 1 and not receiver.at("/content")
    [(_, body, _)] = receiver.at("/all")
    assert json.loads(body)["change"]["kind"] == "technical"


def test_watch_test_sends_a_sample_through_the_watch_s_channel(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, receiver: Receiver, smtp
) -> None:
    """A user checks a webhook or an SMTP setup without waiting for a real change: before
    any change (a plain sample) and after one (the latest change's summary)."""
    mailbox, smtp_port = smtp
    _watch(db_url, "type:ai-training", receiver.url("/hook"), "--secret", "s3cret")
    _watch(db_url, "type:ai-training", "mailto:legal@example.com")
    _watch(db_url, "type:ai-training", "atom:AI")
    env = {"ATLAS_SMTP_HOST": "127.0.0.1", "ATLAS_SMTP_PORT": str(smtp_port),
           "ATLAS_SMTP_STARTTLS": "0"}  # fmt: skip
    first = cli("watch", "test", "1", db_url=db_url)
    assert first.returncode == 0, first.stderr
    [(headers, body, _)] = receiver.at("/hook")
    sample = json.loads(body)
    assert sample["test"] is True and sample["summary"]["title"].startswith("[test]")
    assert headers["X-Atlas-Signature-256"] == "sha256=" + hmac.new(
        b"s3cret", body, hashlib.sha256).hexdigest()  # fmt: skip
    mail = cli("watch", "test", "2", db_url=db_url, env=env)
    assert mail.returncode == 0, mail.stderr
    assert mailbox.messages and mailbox.messages[0]["Subject"].startswith("[test]")
    assert "nothing to send" in cli("watch", "test", "3", db_url=db_url).stdout
    folder = _first_crawl(crawl, site, tmp_path)
    _change(crawl, site, folder)
    assert cli("watch", "test", "1", db_url=db_url).returncode == 0
    latest = json.loads(receiver.at("/hook")[-1][1])
    assert latest["test"] is True and latest["change"]["record_id"] == "AC-C-000001"
    with psycopg.connect(db_url) as conn:  # tests leave the outbox alone
        assert conn.execute(
            "SELECT count(*) FROM notifications WHERE idempotency_key LIKE 'test-%'"
        ).fetchone() == (0,)
    broken = cli("watch", "test", "2", db_url=db_url,
                 env={**env, "ATLAS_SMTP_PORT": "1", "ATLAS_NOTIFY_TIMEOUT": "2"})  # fmt: skip
    assert broken.returncode == 1 and "the test alert was not delivered" in broken.stderr
    assert cli("watch", "test", "9", db_url=db_url).returncode == 2


def test_a_type_watch_can_ask_for_clauses_lowered_too(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    alpha = site.serve("/a/privacy", _page(EMAIL, AI_USED))
    beta = site.serve("/b/terms", _page(EMAIL, AI_USED))
    folders = [
        write_declarations(tmp_path / name, name.title(), {kind: {"fetch": url, "select": "main"}})
        for name, kind, url in (
            ("alpha", "Privacy Policy", alpha),
            ("beta", "Terms of Service", beta),
        )
    ]
    for folder in folders:
        assert crawl("declarations", path=folder).returncode == 0
    _watch(db_url, "type:ai-training", receiver.url("/plain"))
    added = _watch(db_url, "type:ai-training", receiver.url("/relief"), "--lowered")
    assert "watch 2" in added
    assert "True" in cli("watch", "list", db_url=db_url).stdout
    site.serve("/a/privacy", _page(EMAIL, AI_DENIED))  # the high clause becomes a denial
    site.serve("/b/terms", _page(EMAIL))  # the high clause is gone
    for folder in folders:
        assert crawl("declarations", path=folder).returncode == 0
    _notify(db_url, {})
    # A removed high clause concerns every type watch; one lowered to a denial only those
    # that ask for relief.
    plain = [json.loads(body) for _, body, _ in receiver.at("/plain")]
    assert [d["document"]["platform"] for d in plain] == ["Beta"]
    relief = [json.loads(body) for _, body, _ in receiver.at("/relief")]
    assert sorted(d["document"]["platform"] for d in relief) == ["Alpha", "Beta"]
