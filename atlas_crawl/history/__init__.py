"""The change history beyond a crawl: backfills from archives, re-extraction of stored
captures, and the history read back as text for a person."""
