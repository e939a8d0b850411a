"""Record IDs as the product prints them: AC-V-000012 (a version), AC-C-000003 (a change),
AC-P-000123 (a provision); a bare number stands for the kind the reader expects.

(Platforms' own record IDs, AC-P-00001 from migration 003, are never read: "P" is the
provision's letter, as the product prints it.)"""

from __future__ import annotations

import re

KINDS = {"V": "version", "C": "change", "P": "provision"}
_ID = re.compile(r"^(?:AC-(?P<letter>[A-Z])-)?(?P<number>\d+)$", re.IGNORECASE)


def parse_record_id(value: str, expected: str | None = None) -> tuple[str, int]:
    """(kind, number). With ``expected`` ('version', 'change' or 'provision') only that
    kind, or a bare number, is taken; without, any kind, a bare number being a version.
    A ValueError names what was wrong."""
    match = _ID.match(value.strip())
    letter = (match.group("letter") or "").upper() if match else ""
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
