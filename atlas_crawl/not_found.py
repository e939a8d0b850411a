"""The one error for a name or record ID that names nothing recorded."""

from __future__ import annotations


class NotFound(LookupError):
    """Nothing recorded under that name or ID; the message says what was asked."""
