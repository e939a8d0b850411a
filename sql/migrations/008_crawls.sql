-- Leaner check rows, for the many routine ones:
-- * a crawl is registered once with the user agent its checks send; a check stores its
--   own user agent only when it differs (a rendered page's browser), else NULL;
-- * the previous check's evidence hash is no longer copied into each check: the ledger
--   hash already covers it (`verify` recomputes it from the actual predecessor), and
--   the view document_checks still shows it.
CREATE TABLE crawls (
    crawl_id      text PRIMARY KEY,
    user_agent    text,
    registered_at timestamptz NOT NULL DEFAULT now()
);
