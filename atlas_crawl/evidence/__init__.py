"""Evidence: the hash-chained ledger of checks, WARC captures, stated dates, citations."""
