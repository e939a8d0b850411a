"""Evidence made at capture time: the hash-chained ledger of checks, WARC records, the
dates a policy states about itself, and archived copies (Wayback Machine)."""
