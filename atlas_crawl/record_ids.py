"""Record IDs as the product prints them: AC-V-000012 (a version), AC-C-000003 (a change),
AC-P-000123 (a provision), AC-D-00001 (a document), AC-PL-00001 (a platform); a bare
number stands for the kind the reader expects.

Platforms were AC-P-00001 before migration 015: an AC-P- ID of five digits is read as
the platform it named, never as a provision (whose IDs have six digits or more)."""

from __future__ import annotations

import re

KINDS = {"V": "version", "C": "change", "P": "provision", "D": "document", "PL": "platform"}
_ID = re.compile(r"^(?:AC-(?P<letter>[A-Z]{1,2})-)?(?P<number>\d+)$", re.IGNORECASE)


def _former_platform(letter: str, digits: str) -> bool:
    return letter == "P" and len(digits) == 5


def parse_record_id(value: str, expected: str | None = None) -> tuple[str, int]:
    """(kind, number). With ``expected`` (a kind: "version", "platform", ...) only that
    kind, or a bare number, is taken; without, any kind, a bare number being a version.
    A ValueError names what was wrong."""
    match = _ID.match(value.strip())
    letter = (match.group("letter") or "").upper() if match else ""
    if match and _former_platform(letter, match.group("number")):
        if expected in (None, "platform"):
            return "platform", int(match.group("number"))
        raise ValueError(
            f"{value!r} is a platform's former record ID (now "
            f"AC-PL-{match.group('number')}), not a {expected}"
        )
    if expected is None:
        if not match or (letter and letter not in KINDS):
            raise ValueError(
                f"not a version, change or provision record ID: {value!r} (like AC-V-000012)"
            )
        return KINDS[letter or "V"], int(match.group("number"))
    wanted = next(k for k, v in KINDS.items() if v == expected)
    if not match or (letter and letter != wanted):
        raise ValueError(f"{value!r} is not a {expected} (like AC-{wanted}-000003, or 3)")
    return expected, int(match.group("number"))
