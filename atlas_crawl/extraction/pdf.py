"""Text out of PDF policy documents."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from atlas_crawl.extraction.errors import ExtractionError

# pypdf reports recoverable oddities of real-world files at WARNING level.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def is_pdf(body: bytes, content_type: str = "") -> bool:
    return body.lstrip()[:5] == b"%PDF-" or "application/pdf" in content_type.lower()


def pdf_text(body: bytes) -> str:
    """Each page's text, pages separated by a blank line."""
    try:
        reader = PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractionError("unreadable PDF", str(exc)) from None
    paragraphs = []
    for page in pages:
        lines = [" ".join(line.split()) for line in page.splitlines()]
        paragraphs.append("\n".join(line for line in lines if line))
    return "\n\n".join(p for p in paragraphs if p)
