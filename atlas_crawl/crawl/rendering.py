"""Browser-side helpers for scrapy-playwright."""

from __future__ import annotations

from typing import Any

_SKIPPED = frozenset({"image", "font", "media"})


def abort_media(request: Any) -> bool:
    """Abort image, font and media requests: they never change a policy's text."""
    return request.resource_type in _SKIPPED
