-- Leaner check rows, for the many routine ones:
-- * a crawl is registered once with the user agent its checks send; a check stores its
--   own user agent only when it differs (a rendered page's browser), else NULL;
-- * the previous check's evidence hash is no longer copied into each check: the ledger
--   hash already covers it (`verify` recomputes it from the actual predecessor), and
--   the view document_checks still shows it;
-- * final_url is stored only when the fetch ended elsewhere than it started (a check
--   with an HTTP status and no final_url ended at its requested URL; document_checks
--   shows it so);
-- * a document's checks are found through (document_id, check_id) alone: the index on
--   (document_id, checked_at) cost 50 bytes per check and served one listing.
DROP INDEX checks_document_time;
CREATE TABLE crawls (
    crawl_id      text PRIMARY KEY,
    user_agent    text,
    registered_at timestamptz NOT NULL DEFAULT now()
);
