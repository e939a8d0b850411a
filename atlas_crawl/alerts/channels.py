"""Delivering one alert: a signed webhook, an e-mail over SMTP, an Apprise notification.
Each raises ``DeliveryFailed`` with a one-line reason; the caller retries."""

from __future__ import annotations

import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from scrapy.settings import BaseSettings

from atlas_crawl.alerts.payload import SIGNATURE_HEADER, signature


class DeliveryFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    starttls: bool
    user: str
    password: str
    sender: str
    ca_file: str = ""  # PEM CA bundle for the server's certificate; system CAs if empty


def smtp_of(settings: BaseSettings) -> Smtp:
    """The SMTP server the ATLAS_SMTP_* settings name."""
    return Smtp(
        settings.get("ATLAS_SMTP_HOST"), settings.getint("ATLAS_SMTP_PORT"),
        settings.getbool("ATLAS_SMTP_STARTTLS"), settings.get("ATLAS_SMTP_USER"),
        settings.get("ATLAS_SMTP_PASSWORD"), settings.get("ATLAS_SMTP_FROM"),
        settings.get("ATLAS_SMTP_CA_FILE"),
    )  # fmt: skip


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # a webhook that redirects did not take the alert


_OPENER = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def post_webhook(url: str, body: bytes, key: str, secret: str | None, timeout: float) -> None:
    headers = {"Content-Type": "application/json", "Idempotency-Key": key,
               "User-Agent": "atlas-crawl alerts"}  # fmt: skip
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"cannot reach {url}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from {url}")


def send_email(
    smtp: Smtp,
    to: str,
    subject: str,
    text: str,
    html: str,
    key: str,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> None:
    if not smtp.host:
        raise DeliveryFailed("no SMTP server configured (ATLAS_SMTP_HOST)")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.sender
    message["To"] = to
    # The same on every retry: mail systems and readers deduplicate on it.
    message["Message-ID"] = f"<{key.replace('/', '.')}@atlas-crawl>"
    message["Idempotency-Key"] = key
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as server:
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context(cafile=smtp.ca_file or None))
            if smtp.user:
                server.login(smtp.user, smtp.password)
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        raise DeliveryFailed(f"SMTP {smtp.host}:{smtp.port}: {exc}") from None


def send_apprise(url: str, title: str, text: str) -> None:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryFailed(f"Apprise does not know {url.partition(':')[0]}://")
    with apprise.LogCapture(level=logging.WARNING) as captured:
        delivered = notifier.notify(title=title, body=text, body_format=apprise.NotifyFormat.TEXT)
    if not delivered:
        lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        raise DeliveryFailed(f"Apprise: {lines[-1] if lines else 'not delivered'}")
