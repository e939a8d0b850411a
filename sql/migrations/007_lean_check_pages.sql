-- Leaner checks, for the many routine ones (see the view all_check_pages):
-- * a check of one page with nothing of its own to keep (no response headers, no WARC
--   record) is stored without a check_pages row: its page is the check row's;
-- * no index finds pages by capture: no query looks them up that way (captures are
--   reached from pages, never the reverse), and it cost ~100 bytes per check.
DROP INDEX check_pages_capture;
