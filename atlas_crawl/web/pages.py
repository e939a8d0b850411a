"""The web view's pages: one function per page, each reading through ``reads`` and
rendering a template. Record IDs are the addresses (``/provisions/AC-P-000123``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from atlas_crawl.audit.bundle import export_change
from atlas_crawl.clauses.taxonomy import agencies
from atlas_crawl.storage.captures import load_capture
from atlas_crawl.web import reads, svg
from atlas_crawl.web.ids import BadRequest, number_of, offset_of
from atlas_crawl.web.memo import MemoUnavailable, html_to_pdf, memo_context

MAX_QUERY = 200

_templates = Environment(
    loader=FileSystemLoader(str(resources.files("atlas_crawl.web") / "templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def elide(text: str, keep: int = 300) -> str:
    """Unchanged text between edits, in a memo: its ends around the edits, not pages of it."""
    if len(text) <= 3 * keep:
        return text
    return f"{text[:keep]} […] {text[-keep:]}"


_templates.filters["elide"] = elide
_templates.globals.update(badge=svg.badge_text, slug=reads.slug, agencies=agencies)


def offer_subscriptions(on: bool) -> None:
    """Whether pages link to the e-mail subscription form (the server takes them)."""
    _templates.globals["watching"] = on


def _page(name: str, **context: Any) -> str:
    return _templates.get_template(name).render(**context)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_page(name, **context), status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {400: "Bad request", 404: "Not found", 500: "Server error"}
    return render("error.html", status, title=titles.get(status, "Error"), message=message)


def home(request: Request, conn: psycopg.Connection) -> Response:
    return render("home.html", **reads.home(conn))


PLATFORMS_PAGE = 100


def platform_index(request: Request, conn: psycopg.Connection) -> Response:
    """``/platforms``: every platform tracked, by name, a hundred to a page."""
    offset = offset_of(request.query_params.get("cursor"))
    return render("platforms.html", page=reads.platform_page(conn, PLATFORMS_PAGE, offset))


def platform(request: Request, conn: psycopg.Connection) -> Response:
    found = reads.platform(conn, request.path_params["slug"])
    chart = svg.changes_chart(found["by_month"], f"Content changes of {found['name']} per month")
    return render("platform.html", p=found, chart=chart)


def document(request: Request, conn: psycopg.Connection) -> Response:
    found = reads.document(conn, number_of(request.path_params["record"], "document"))
    timeline = svg.timeline(found["versions"], f"Versions of {found['document_type']}")
    return render("document.html", d=found, timeline=timeline)


def version(request: Request, conn: psycopg.Connection) -> Response:
    found = reads.version(conn, number_of(request.path_params["record"], "version"))
    return render("version.html", v=found)


def change_html(conn: psycopg.Connection, number: int, memo: bool = False) -> str:
    found = reads.change(conn, number)
    after = found["versions"]["after"]
    return _page(
        "change.html",
        c=found["change"],
        s=found["summary"],
        ops=found["ops"],
        cite=found["citation"],
        versions=found["versions"],
        slug_=found["slug"],
        memo=memo and memo_context(found["change"]["record_id"], after["raw_sha256"],
                                   after["record_id"]),
    )  # fmt: skip


def change(request: Request, conn: psycopg.Connection) -> Response:
    return HTMLResponse(change_html(conn, number_of(request.path_params["record"], "change")))


def provision_html(conn: psycopg.Connection, number: int, memo: bool = False) -> str:
    found = reads.provision(conn, number)
    cite = found["citation"]
    return _page("provision.html", p=found, cite=cite,
                 memo=memo and memo_context(found["record_id"], cite["capture_sha256"],
                                            cite["version_record_id"]))  # fmt: skip


def provision(request: Request, conn: psycopg.Connection) -> Response:
    number = number_of(request.path_params["record"], "provision")
    return HTMLResponse(provision_html(conn, number))


def memo_pdf(conn: psycopg.Connection, kind: str, number: int) -> tuple[bytes, str]:
    """The PDF memo of a provision's or a change's page, and its file name."""
    if kind == "provision":
        html, name = provision_html(conn, number, memo=True), f"AC-P-{number:06d}.pdf"
    elif kind == "change":
        html, name = change_html(conn, number, memo=True), f"AC-C-{number:06d}.pdf"
    else:
        raise ValueError(f"a memo is made of a provision (AC-P-...) or a change (AC-C-...), "
                         f"not a {kind}")  # fmt: skip
    return html_to_pdf(html), name


def memo(request: Request, conn: psycopg.Connection) -> Response:
    """``/provisions/AC-P-....pdf`` and ``/changes/AC-C-....pdf``."""
    kind = "provision" if request.url.path.startswith("/provisions/") else "change"
    number = number_of(request.path_params["record"], kind)
    try:
        body, name = memo_pdf(conn, kind, number)
    except MemoUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})  # fmt: skip


def bundle(request: Request, conn: psycopg.Connection) -> Response:
    """``/changes/AC-C-....zip``: the change's evidence bundle (as ``atlas-crawl export``
    writes it, with its own checker), a download."""
    number = number_of(request.path_params["record"], "change")
    with tempfile.TemporaryDirectory(prefix="atlas-bundle-") as folder:
        out = Path(folder) / "bundle.zip"
        export_change(conn, number, out)
        body = out.read_bytes()
    name = f"atlas-change-AC-C-{number:06d}.zip"
    return Response(body, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def clause_type(request: Request, conn: psycopg.Connection) -> Response:
    offset = offset_of(request.query_params.get("cursor"))
    return render("type.html", t=reads.clause_type(conn, request.path_params["type"], offset))


def search(request: Request, conn: psycopg.Connection) -> Response:
    q = (request.query_params.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        raise BadRequest(f"the search is {len(q)} characters long; at most {MAX_QUERY}")
    offset = offset_of(request.query_params.get("cursor"))
    rows = reads.search(conn, q, offset) if q else []
    more = offset + len(rows) if len(rows) == reads.LISTED else None
    return render("search.html", q=q, rows=rows, more=more)


def capture(request: Request, conn: psycopg.Connection) -> Response:
    """A version's raw capture, as a download: never a page of this origin."""
    found = reads.version(conn, number_of(request.path_params["record"], "version"))
    position = offset_of(request.path_params["position"], 1000)
    page = next((p for p in found["pages"] if p["position"] == position), None)
    if page is None or page["raw_sha256"] is None:
        raise BadRequest(f"{found['record_id']} has no captured page {position}")
    body = load_capture(conn, page["raw_sha256"])
    name = f"{found['record_id']}-page-{position}-{page['raw_sha256'][:12]}.html"
    return Response(body, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
    })  # fmt: skip


ROUTES: list[tuple[str, Callable[..., Response], str]] = [
    ("/", home, "home"),
    ("/platforms", platform_index, "platforms"),
    ("/platforms/{slug}", platform, "platform"),
    ("/documents/{record}", document, "document"),
    ("/versions/{record}", version, "version"),
    ("/versions/{record}/captures/{position}", capture, "capture"),
    ("/changes/{record}.pdf", memo, "change-memo"),
    ("/changes/{record}.zip", bundle, "change-bundle"),
    ("/changes/{record}", change, "change"),
    ("/provisions/{record}.pdf", memo, "provision-memo"),
    ("/provisions/{record}", provision, "provision"),
    ("/types/{type}", clause_type, "type"),
    ("/search", search, "search"),
]
