""" "Watch this" from the web view: e-mail subscriptions with double opt-in, forms that
work without JavaScript.

``/watch?target=...`` shows the form (a platform, document, provision, clause type or
change: a change's document is watched). Forms carry a CSRF token: the HMAC of a random
cookie of this site (SameSite=Strict), so a form posted from another site, or without
the cookie, is refused. Everything else is ``atlas_crawl.alerts.subscriptions``: these
handlers read the form, write through a connection of their own (the pages' are
read-only) and answer with a page; no answer tells whether an address is subscribed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from atlas_crawl.alerts import subscriptions as subs
from atlas_crawl.alerts.channels import DeliveryFailed
from atlas_crawl.clauses.taxonomy import SEVERITIES
from atlas_crawl.history.provision_report import provision_record
from atlas_crawl.not_found import NotFound
from atlas_crawl.web import reads
from atlas_crawl.web.ids import BadRequest, number_of

COOKIE = "atlas_form"
MAX_FORM = 4096  # bytes of a form: an address, a target, two tokens
URLENCODED = "application/x-www-form-urlencoded"


def resolve_target(conn: psycopg.Connection, wanted: str) -> dict[str, Any]:
    """The watch's columns and its target as the command line writes it, for a target
    of the web view's addresses: platform:SLUG, document:AC-D-..., provision:AC-P-...,
    type:TYPE or change:AC-C-... (its document)."""
    kind, _, rest = wanted.partition(":")
    columns: dict[str, Any] = {"kind": kind, "platform": None, "document": None,
                               "provision": None, "clause_type": None}  # fmt: skip
    if kind == "change":
        row = conn.execute("SELECT document_id FROM changes WHERE change_id = %s",
                           (number_of(rest, "change"),)).fetchone()  # fmt: skip
        if row is None:
            raise NotFound(f"no change {rest}")
        kind, rest = "document", f"AC-D-{row[0]:05d}"
        columns["kind"] = kind
    if kind == "platform":
        found = reads.platform_named(conn, rest)
        if found is None:
            raise NotFound(f"no platform {rest!r}")
        columns["platform"], target, title = (
            found["platform_id"],
            f"platform:{found['name']}",
            found["name"],
        )
    elif kind == "document":
        doc = reads.document_record(conn, number_of(rest, "document"))
        columns["document"] = doc["document_id"]
        title = f"{doc['platform']} / {doc['document_type']}"
        target = f"document:{title.replace(' / ', '/', 1)}"
    elif kind == "provision":
        p = provision_record(conn, number_of(rest, "provision"))
        columns["provision"], target = p["provision_id"], f"provision:{p['record_id']}"
        title = f"{p['platform']} / {p['document_type']}: {p['heading'] or p['record_id']}"
    elif kind == "type":
        known = reads.clause_type_of(rest)
        columns["clause_type"], target, title = known.id, f"type:{known.id}", known.title
    else:
        raise BadRequest(f"target {wanted[:80]!r}: expected platform:, document:, provision:, "
                         "type: or change: and a record of this site")  # fmt: skip
    return {**columns, "target": target, "title": title, "wanted": f"{kind}:{rest}"}


class Subscriptions:
    """The subscription pages of one application."""

    def __init__(self, settings: subs.Subscribing | None, writer: Callable[[], Any],
                 render: Callable[..., HTMLResponse]) -> None:  # fmt: skip
        self.settings = settings
        self.writer = writer  # a context manager giving a writable connection
        self.render = render

    def _page(self, status: int, title: str, message: str, **extra: Any) -> HTMLResponse:
        response = self.render("watch_message.html", status, title=title, message=message, **extra)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _off(self) -> HTMLResponse:
        return self._page(404, "Alerts by e-mail are off",
                          "This server takes no e-mail subscriptions (its operator has not set "
                          "ATLAS_SUBSCRIBE_SECRET and ATLAS_PUBLIC_URL).")  # fmt: skip

    def _token(self, request: Request) -> tuple[str, bool]:
        cookie = request.cookies.get(COOKIE, "")
        fresh = len(cookie) != 64
        return (secrets.token_hex(32) if fresh else cookie), fresh

    def _form_ok(self, request: Request, form: Any) -> bool:
        assert self.settings is not None
        cookie = request.cookies.get(COOKIE, "")
        return len(cookie) == 64 and subs.signed(self.settings.secret, str(form.get("csrf", "")),
                                                 "form", cookie)  # fmt: skip

    def form(self, request: Request) -> Response:
        if self.settings is None:
            return self._off()
        with self.writer() as conn:
            target = resolve_target(conn, request.query_params.get("target", ""))
        cookie, fresh = self._token(request)
        response = self.render("watch.html", 200, t=target, severities=SEVERITIES,
                               csrf=subs.sign(self.settings.secret, "form", cookie))  # fmt: skip
        response.headers["Cache-Control"] = "no-store"
        if fresh:
            response.set_cookie(COOKIE, cookie, max_age=86400, httponly=True, samesite="strict",
                                secure=self.settings.public_url.startswith("https:"))  # fmt: skip
        return response

    async def _read(self, request: Request) -> dict[str, str]:
        """The posted form's fields (application/x-www-form-urlencoded, at most MAX_FORM
        bytes; any other body, as a mail program's one-click POST, reads as no field)."""
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                raise BadRequest("the form is too long")
        if not request.headers.get("content-type", "").startswith(URLENCODED):
            return {}
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("the form could not be read") from None
        return dict(pairs)

    def _posted(self, request: Request, form: dict[str, str]) -> tuple[str, str] | Response:
        """A form with an address, from this site's page: the address and the client's,
        or the page that refuses it."""
        if self.settings is None:
            return self._off()
        if not self._form_ok(request, form):
            return self._page(403, "The form has expired",
                              "This form did not come from this site's page, or it has expired: "
                              "open the page again and send it from there.")  # fmt: skip
        try:
            address = subs.normalized_address(str(form.get("email", "")))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return address, request.client.host if request.client else "-"

    async def subscribe(self, request: Request) -> Response:
        form = await self._read(request)
        return await run_in_threadpool(self._subscribe, request, form)

    def _subscribe(self, request: Request, form: Any) -> Response:
        checked = self._posted(request, form)
        if isinstance(checked, Response):
            return checked
        address, client = checked
        assert self.settings is not None  # _posted answered otherwise
        severity = str(form.get("min_severity", ""))
        if severity not in ("", *SEVERITIES):
            raise BadRequest(f"min_severity {severity[:20]!r}: expected low, medium or high")
        with self.writer() as conn:
            target = resolve_target(conn, str(form.get("target", "")))
            watch = {k: target[k] for k in ("kind", "platform", "document", "provision",
                                            "clause_type", "target")}  # fmt: skip
            try:
                token = subs.request(conn, self.settings, address, client,
                                     {**watch, "min_severity": severity or None})  # fmt: skip
            except subs.Refused as exc:
                return self._page(exc.status, "Too many requests", str(exc))
        if token is not None:
            try:
                subs.send_confirmation(self.settings, address, target["target"], token)
            except DeliveryFailed:
                return self._page(503, "The message could not be sent",
                                  "The server could not send the confirmation message now: "
                                  "try again later.")  # fmt: skip
        return self._page(200, "Check your inbox",
                          f"If {address} can receive e-mail, a message with a confirmation link "
                          f"is on its way. Nothing about {target['title']} will be sent before "
                          "the address confirms.")  # fmt: skip

    def confirm_form(self, request: Request) -> Response:
        if self.settings is None:
            return self._off()
        token = request.query_params.get("token", "")
        return self.render("watch_message.html", 200, title="Confirm your alerts",
                           message="Press the button to start receiving these alerts.",
                           action="/watch/confirm", fields={"token": token},
                           button="Confirm")  # fmt: skip

    async def confirm(self, request: Request) -> Response:
        form = await self._read(request)
        return await run_in_threadpool(self._confirm, form)

    def _confirm(self, form: Any) -> Response:
        if self.settings is None:
            return self._off()
        with self.writer() as conn:
            outcome, row = subs.confirm(conn, str(form.get("token", "")))
        pages = {
            "confirmed": (200, "Alerts confirmed",
                          f"{row and row['destination']} will receive alerts of "
                          f"{row and row['target']}. Each one has a link to stop them."),
            "already": (200, "Already confirmed",
                        "These alerts were confirmed before: nothing has changed."),
            "expired": (410, "This link has expired",
                        "Confirmation links last a limited time: ask for the alerts again."),
            "invalid": (400, "This link is not valid",
                        "This confirmation link is not one this site sent, or it was altered, "
                        "or the alerts were stopped since."),
        }  # fmt: skip
        status, title, message = pages[outcome]
        return self._page(status, title, message)

    def unsubscribe_form(self, request: Request) -> Response:
        if self.settings is None:
            return self._off()
        w, sig = request.query_params.get("w", ""), request.query_params.get("sig", "")
        if not (w.isdigit() and subs.signed(self.settings.secret, sig, "unsub", w)):
            return self._page(400, "This link is not valid",
                              "This unsubscribe link is not one this site sent.")  # fmt: skip
        return self.render("watch_message.html", 200, title="Stop these alerts",
                           message="Press the button to stop these e-mail alerts.",
                           action=f"/watch/unsubscribe?w={w}&sig={sig}", fields={},
                           button="Stop the alerts")  # fmt: skip

    async def unsubscribe(self, request: Request) -> Response:
        """The form's button, and RFC 8058's one-click POST from a mail program."""
        await self._read(request)
        return await run_in_threadpool(self._unsubscribe, request)

    def _unsubscribe(self, request: Request) -> Response:
        if self.settings is None:
            return self._off()
        w, sig = request.query_params.get("w", ""), request.query_params.get("sig", "")
        with self.writer() as conn:
            outcome, _row = subs.unsubscribe(conn, self.settings, w, sig)
        if outcome == "invalid":
            return self._page(400, "This link is not valid",
                              "This unsubscribe link is not one this site sent.")  # fmt: skip
        return self._page(200, "Alerts stopped", "No more alerts of this subscription will be "
                          "sent." if outcome == "unsubscribed" else "These alerts were stopped "
                          "before.")  # fmt: skip

    async def manage_request(self, request: Request) -> Response:
        form = await self._read(request)
        return await run_in_threadpool(self._manage_request, request, form)

    def _manage_request(self, request: Request, form: Any) -> Response:
        checked = self._posted(request, form)
        if isinstance(checked, Response):
            return checked
        address, client = checked
        assert self.settings is not None  # _posted answered otherwise
        with self.writer() as conn:
            try:
                send = subs.request_manage_link(conn, self.settings, address, client)
            except subs.Refused as exc:
                return self._page(exc.status, "Too many requests", str(exc))
        if send:
            try:
                subs.send_manage_link(self.settings, address)
            except DeliveryFailed:
                return self._page(
                    503,
                    "The message could not be sent",
                    "The server could not send the message now: try again later.",
                )
        return self._page(200, "Check your inbox",
                          f"If {address} has alerts here, a message with a link to them is on its "
                          "way.")  # fmt: skip

    def manage(self, request: Request) -> Response:
        if self.settings is None:
            return self._off()
        q = request.query_params
        address, expires, sig = q.get("a", ""), q.get("exp", ""), q.get("sig", "")
        if not subs.signed(self.settings.secret, sig, "manage", address, expires):
            return self._page(
                400,
                "This link is not valid",
                "This link is not one this site sent, or it was altered.",
            )
        if not expires.isdigit() or int(expires) < datetime.now(UTC).timestamp():
            return self._page(410, "This link has expired", "Ask for a new link.")
        with self.writer() as conn:
            rows = subs.subscriptions_of(conn, address)
        watches = [{**r, "stop": subs.unsubscribe_url(self.settings, r["watch_id"])
                    .removeprefix(self.settings.public_url)} for r in rows]  # fmt: skip
        response = self.render("watch_list.html", 200, address=address, watches=watches)
        response.headers["Cache-Control"] = "no-store"
        return response

    def routes(self) -> list[tuple[str, Callable[..., Any], list[str]]]:
        return [
            ("/watch", self.form, ["GET"]),
            ("/watch", self.subscribe, ["POST"]),
            ("/watch/confirm", self.confirm_form, ["GET"]),
            ("/watch/confirm", self.confirm, ["POST"]),
            ("/watch/unsubscribe", self.unsubscribe_form, ["GET"]),
            ("/watch/unsubscribe", self.unsubscribe, ["POST"]),
            ("/watch/manage", self.manage, ["GET"]),
            ("/watch/manage", self.manage_request, ["POST"]),
        ]
