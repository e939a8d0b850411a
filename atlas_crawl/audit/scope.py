"""Which records a verification looks at: those of a range of ledger entries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """The records of the ledger entries ``start`` to ``end`` (all of them by default):
    what a verification since a checkpoint, or one window of a full one, looks at."""

    start: int = 0
    end: int | None = None

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.end is None

    @property
    def params(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end if self.end is not None else 2**62}

    def holds(self, column: str, kind: str) -> str:
        """A condition: ``column`` is the record of an entry of ``kind`` in scope."""
        if self.whole:
            return "true"
        records = (f"SELECT record FROM ledger_entries(%(start)s, %(end)s) "
                   f"WHERE kind = '{kind}'")  # fmt: skip
        # The records of a window of entries lie in a narrow range of IDs (made in about
        # that order): bounded first, so the table is read by its index over that range
        # and never scanned whole.
        return (
            f"({column} BETWEEN (SELECT min(record) FROM ({records}) r) "
            f"AND (SELECT max(record) FROM ({records}) r) AND {column} IN ({records}))"
        )


EVERYTHING = Scope()
