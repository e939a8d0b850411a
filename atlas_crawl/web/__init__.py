"""The web view and JSON API over a history (``atlas-crawl serve``): a reader of the
database, beside the command line, reading the same named queries."""
