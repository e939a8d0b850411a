"""Why a capture gave no usable text. A failed extraction is recorded, never versioned."""

from __future__ import annotations


class ExtractionError(Exception):
    """``reason`` is a short stable code for SQL; ``detail`` says what exactly."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
