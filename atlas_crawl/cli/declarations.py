"""``declarations check DIR``: a folder of declarations validated, and what each
document's selectors cut out of its live page (or of a saved one), before a crawl
records anything."""

from __future__ import annotations

import argparse
import urllib.error
import urllib.request
from pathlib import Path

from atlas_crawl.cli.common import UsageError, settings_of
from atlas_crawl.declarations import (
    DeclarationError,
    Source,
    TrackedDocument,
    load_ota_folder,
    service_names,
)
from atlas_crawl.extraction.errors import ExtractionError
from atlas_crawl.extraction.extract import extract_source

SHOWN_LINES = 6


def _fetch(url: str, agent: str, timeout: float, limit: int) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read(limit + 1)
        if len(body) > limit:
            raise ExtractionError("too large", f"over ATLAS_MAX_PAGE_BYTES ({limit} bytes)")
        return body, response.headers.get("Content-Type", "")


def _read(source: Source, page: Path | None, settings: argparse.Namespace) -> str:
    """What the source's rules cut out of its page, in a few lines, or why nothing."""
    if source.render and page is None:
        return "needs a browser (executeClientScripts): a crawl renders it; check a saved page"
    try:
        if page is not None:
            body, content_type = page.read_bytes(), ""
        else:
            body, content_type = _fetch(
                source.url, settings.agent, settings.timeout, settings.limit
            )
        text = extract_source(body, source, content_type)
    except ExtractionError as exc:
        return f"FAILS: {exc.reason}: {exc.detail}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"FAILS: not fetched: {getattr(exc, 'reason', exc)}"
    lines = [line for line in text.splitlines() if line.strip()]
    shown = "\n".join(f"    | {line[:100]}" for line in lines[:SHOWN_LINES])
    more = (
        f"\n    | ... ({len(lines) - SHOWN_LINES} more lines)" if len(lines) > SHOWN_LINES else ""
    )
    return f"{len(text)} characters, {len(lines)} lines:\n{shown}{more}"


def _selected(documents: list[TrackedDocument], name: str | None) -> list[TrackedDocument]:
    if name is None:
        return documents
    chosen = [d for d in documents if d.document_type.lower() == name.strip().lower()]
    if not chosen:
        known = ", ".join(sorted({d.document_type for d in documents}))
        raise UsageError(f"no document {name!r} in these declarations (known: {known})")
    return chosen


def cmd_declarations_check(args: argparse.Namespace) -> int:
    try:
        documents = load_ota_folder(Path(args.folder), service_names(args.services))
    except DeclarationError as exc:
        raise UsageError(str(exc)) from None
    documents = _selected(documents, args.document)
    page = Path(args.page) if args.page else None
    if page is not None and (len(documents) != 1 or len(documents[0].rules.sources) != 1):
        raise UsageError("--page reads one page: name one document with --services/--document")
    if page is not None and not page.is_file():
        raise UsageError(f"--page {page}: no such file")
    settings = settings_of(args)
    how = argparse.Namespace(
        agent=settings.get("ATLAS_USER_AGENT"),
        timeout=settings.getfloat("ATLAS_DOWNLOAD_TIMEOUT"),
        limit=settings.getint("ATLAS_MAX_PAGE_BYTES"),
    )
    failing = 0
    print(f"{len(documents)} document(s) declared in {args.folder}: the declarations are valid")
    for document in documents:
        print(f"\n{document.platform} / {document.document_type}")
        for i, source in enumerate(document.rules.sources, start=1):
            where = str(page) if page is not None else source.url
            print(f"  page {i}: {where}")
            if args.offline:
                continue
            result = _read(source, page, how)
            failing += result.startswith("FAILS")
            print(f"  -> {result}")
    if failing:
        print(f"\n{failing} page(s) give no text with their declaration")
        return 1
    return 0
