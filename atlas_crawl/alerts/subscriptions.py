"""E-mail subscriptions asked for by readers of the web view, with double opt-in.

A request adds a *pending* e-mail watch and sends one message with a confirmation link;
the link's random token is stored only as its SHA-256 and expires, and a pending watch
is alerted of nothing (``queue_notifications`` takes active watches only). Every alert
e-mail carries a signed one-click unsubscribe link (RFC 8058), and an address's list of
subscriptions is reached only through a signed, expiring link sent to it. The messages
sent on readers' requests are counted per address and per client address, and refused
past the hourly limits, so the form cannot flood an inbox. A request answers the same
whether the address is subscribed or not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import quote

import psycopg
from scrapy.settings import BaseSettings

from atlas_crawl.alerts.channels import Smtp, send_email, smtp_of
from atlas_crawl.alerts.targets import ADDRESS
from atlas_crawl.storage.queries import query, run

MAX_ADDRESS = 254  # RFC 5321's longest path


@dataclass(frozen=True)
class Subscribing:
    """What the web view needs to take subscriptions (``from_settings``)."""

    secret: bytes
    public_url: str
    per_address: int
    per_client: int
    hours: float
    smtp: Smtp
    timeout: float


class Refused(Exception):
    """A request refused (the limits): the status and the one line the reader sees."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def from_settings(settings: BaseSettings) -> Subscribing | None:
    """The subscription settings, or None when the secret or public address is unset."""
    secret, public = settings.get("ATLAS_SUBSCRIBE_SECRET"), settings.get("ATLAS_PUBLIC_URL")
    if not secret or not public:
        return None
    if not public.startswith(("http://", "https://")):
        raise ValueError(f"ATLAS_PUBLIC_URL={public!r}: expected http(s)://HOST[:PORT]")
    smtp = smtp_of(settings)
    return Subscribing(secret.encode(), public.rstrip("/"),
                       settings.getint("ATLAS_SUBSCRIBE_PER_ADDRESS"),
                       settings.getint("ATLAS_SUBSCRIBE_PER_CLIENT"),
                       settings.getfloat("ATLAS_SUBSCRIBE_HOURS"), smtp,
                       settings.getfloat("ATLAS_NOTIFY_TIMEOUT"))  # fmt: skip


def normalized_address(text: str) -> str:
    """An e-mail address as stored and compared: trimmed, lower case."""
    address = text.strip().lower()
    if len(address) > MAX_ADDRESS or not ADDRESS.match(address):
        raise ValueError("that is not an e-mail address (name@example.org)")
    return address


def sign(secret: bytes, *parts: str) -> str:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def signed(secret: bytes, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(sign(secret, *parts), signature or "")


def unsubscribe_url(s: Subscribing, watch_id: int) -> str:
    sig = sign(s.secret, "unsub", str(watch_id))
    return f"{s.public_url}/watch/unsubscribe?w={watch_id}&sig={sig}"


def manage_url(s: Subscribing, address: str, now: datetime) -> str:
    expires = str(int((now + timedelta(hours=s.hours)).timestamp()))
    sig = sign(s.secret, "manage", address, expires)
    return f"{s.public_url}/watch/manage?a={quote(address)}&exp={expires}&sig={sig}"


def _do(conn: psycopg.Connection, name: str, **params: Any) -> None:
    """A named statement that returns no rows."""
    conn.execute(query(name), params)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _within_limits(conn: psycopg.Connection, s: Subscribing, address: str, client: str) -> None:
    # One request per address at a time: the count and the insert are one decision.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('subscribe:' || %s))", (address,))
    since = datetime.now(UTC) - timedelta(hours=1)
    sent = run(conn, "messages_sent_since", address=address, client=client, since=since)[0]
    if sent["to_address"] >= s.per_address or sent["from_client"] >= s.per_client:
        raise Refused(429, "Too many requests for now: wait an hour and try again.")


def request(conn: psycopg.Connection, s: Subscribing, address: str, client: str,
            watch: dict[str, Any]) -> str | None:  # fmt: skip
    """Take a reader's request (``watch``: the watch's target columns, ``target`` and
    ``min_severity``), in one transaction; returns the confirmation token to send, or
    None when the address has this subscription already (nothing is sent)."""
    with conn.transaction():
        _within_limits(conn, s, address, client)
        found = run(conn, "live_subscription", address=address, target=watch["target"],
                    min_severity=watch["min_severity"])  # fmt: skip
        if found and found[0]["state"] == "active":
            return None
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=s.hours)
        if found:
            _do(conn, "renew_pending_subscription", watch=found[0]["watch_id"],
                token_sha256=_digest(token), expires_at=expires)  # fmt: skip
        else:
            run(conn, "add_pending_subscription", **watch, address=address,
                token_sha256=_digest(token), expires_at=expires)  # fmt: skip
        _do(conn, "note_message", kind="confirm", address=address, client=client)
    return token


def request_manage_link(conn: psycopg.Connection, s: Subscribing, address: str,
                        client: str) -> bool:  # fmt: skip
    """Whether to send the address the link to its subscriptions (it has some)."""
    with conn.transaction():
        _within_limits(conn, s, address, client)
        if not run(conn, "subscriptions_of", address=address):
            return False
        _do(conn, "note_message", kind="manage", address=address, client=client)
    return True


def confirm(conn: psycopg.Connection, token: str) -> tuple[str, dict[str, Any] | None]:
    """'confirmed', 'already' (confirmed before), 'expired' or 'invalid' (unknown, forged
    or altered, or unsubscribed since), with the watch when there is one."""
    if not token or len(token) > 100:
        return "invalid", None
    with conn.transaction():
        rows = run(conn, "subscription_by_token", token_sha256=_digest(token))
        if not rows or rows[0]["removed_at"] is not None:
            return "invalid", None
        row = rows[0]
        if row["state"] == "active":
            return "already", row
        if row["confirm_expires_at"] < datetime.now(UTC):
            return "expired", row
        _do(conn, "confirm_subscription", watch=row["watch_id"])
    return "confirmed", row


def unsubscribe(conn: psycopg.Connection, s: Subscribing, watch: str,
                signature: str) -> tuple[str, dict[str, Any] | None]:  # fmt: skip
    """'unsubscribed', 'already' or 'invalid' (a link not signed by this server)."""
    if not watch.isdigit() or len(watch) > 18 or not signed(s.secret, signature, "unsub", watch):
        return "invalid", None
    with conn.transaction():
        rows = run(conn, "subscription", watch=int(watch))
        if not rows:
            return "invalid", None
        if rows[0]["removed_at"] is not None:
            return "already", rows[0]
        _do(conn, "unsubscribe", watch=int(watch))
        _do(conn, "drop_pending_alerts", watch=int(watch))
    return "unsubscribed", rows[0]


def subscriptions_of(conn: psycopg.Connection, address: str) -> list[dict[str, Any]]:
    """An address's live subscriptions (confirmed, or awaiting a link still valid)."""
    return run(conn, "subscriptions_of", address=address)


def send_confirmation(s: Subscribing, address: str, target: str, token: str) -> None:
    link = f"{s.public_url}/watch/confirm?token={token}"
    text = (f"Someone, probably you, asked atlas-crawl to e-mail {address} when {target} "
            f"changes.\n\nTo confirm, open this link within {s.hours:g} hours:\n{link}\n\n"
            "If it was not you, ignore this message: nothing more will be sent.")  # fmt: skip
    html = "<p>" + escape(text).replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
    send_email(s.smtp, address, "Confirm your atlas-crawl alerts", text, html,
               f"confirm/{token[:16]}", s.timeout)  # fmt: skip


def send_manage_link(s: Subscribing, address: str) -> None:
    link = manage_url(s, address, datetime.now(UTC))
    text = (f"The atlas-crawl alerts of {address}, to see or stop them (valid {s.hours:g} "
            f"hours):\n{link}\n\nIf you did not ask for this, ignore this message.")  # fmt: skip
    html = (f"<p>The atlas-crawl alerts of {escape(address)}: "
            f"<a href=\"{escape(link)}\">see or stop them</a>.</p>")  # fmt: skip
    send_email(s.smtp, address, "Your atlas-crawl alerts", text, html,
               f"manage/{secrets.token_hex(8)}", s.timeout)  # fmt: skip


def unsubscribe_headers(s: Subscribing, watch_id: int) -> dict[str, str]:
    """RFC 8058: mail programs offer one-click unsubscribing with a POST to the link."""
    return {"List-Unsubscribe": f"<{unsubscribe_url(s, watch_id)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}  # fmt: skip
