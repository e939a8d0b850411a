-- A check's hashes are stored as their 32 bytes, not as 64 characters of hex: 96 bytes
-- less for each routine recheck (raw, text and evidence hash), the largest part of the
-- history. Everything reads them as before, as hex text, through the view `checks`; the
-- rows are kept in `check_store` (the partitioned table of migration 021, renamed: its
-- partitions, keys, foreign keys and triggers stay as they were).
-- * Every hash already published stays the same text: a lowercase 64-digit hex value is
--   stored as its bytes and read back as the same hex; anything else a column held (an
--   older format, a hand-edited row) is stored as its UTF-8 bytes and read back as that
--   very text, so verify judges exactly what was there.
-- * The recorder writes `check_store` itself. Writes to the view (a user's SQL, an
--   auditor's experiment on a copy) still work: INSERT and UPDATE go through the
--   triggers below, DELETE through the view itself.
-- * The readers' views over checks are remade by views.sql after the migrations; a view
--   of a user's own that reads checks stops this migration, naming that view (dropped
--   silently it would be lost).

CREATE FUNCTION hash_bytes(hash text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN hash ~ '^[0-9a-f]{64}$' THEN decode(hash, 'hex')
            ELSE convert_to(hash, 'UTF8') END;

CREATE FUNCTION hash_text(hash bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN octet_length(hash) = 32 THEN encode(hash, 'hex')
            ELSE convert_from(hash, 'UTF8') END;

DROP VIEW IF EXISTS atlas_read.all_check_pages, atlas_read.document_status,
    atlas_read.document_checks, atlas_read.document_flapping, atlas_read.document_changes,
    atlas_read.checks;
DROP VIEW IF EXISTS all_check_pages, document_status, document_checks, document_flapping,
    document_changes;

ALTER TABLE checks RENAME TO check_store;
ALTER TABLE check_store
    ALTER COLUMN raw_sha256 TYPE bytea USING hash_bytes(raw_sha256),
    ALTER COLUMN text_sha256 TYPE bytea USING hash_bytes(text_sha256),
    ALTER COLUMN evidence_hash TYPE bytea USING hash_bytes(evidence_hash),
    ALTER COLUMN previous_evidence_hash TYPE bytea USING hash_bytes(previous_evidence_hash);

CREATE VIEW checks AS
SELECT check_id, document_id, checked_at, captured_at, outcome, failure_reason,
       failure_detail, requested_url, final_url, http_status, response_headers, fetcher,
       user_agent, hash_text(raw_sha256) AS raw_sha256, hash_text(text_sha256) AS text_sha256,
       version_id, crawl_id, hash_text(evidence_hash) AS evidence_hash,
       hash_text(previous_evidence_hash) AS previous_evidence_hash, warc_digest,
       verifies_check_id, source_ref, review_reason, review_detail, kept, verifies_kept
FROM check_store;
ALTER VIEW checks ALTER COLUMN check_id SET DEFAULT nextval('check_ids');

CREATE FUNCTION checks_view_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO check_store (check_id, document_id, checked_at, captured_at, outcome,
        failure_reason, failure_detail, requested_url, final_url, http_status,
        response_headers, fetcher, user_agent, raw_sha256, text_sha256, version_id,
        crawl_id, evidence_hash, previous_evidence_hash, warc_digest, verifies_check_id,
        source_ref, review_reason, review_detail, kept)
    VALUES (NEW.check_id, NEW.document_id, NEW.checked_at, NEW.captured_at, NEW.outcome,
        NEW.failure_reason, NEW.failure_detail, NEW.requested_url, NEW.final_url,
        NEW.http_status, NEW.response_headers, NEW.fetcher, NEW.user_agent,
        hash_bytes(NEW.raw_sha256), hash_bytes(NEW.text_sha256), NEW.version_id,
        NEW.crawl_id, hash_bytes(NEW.evidence_hash), hash_bytes(NEW.previous_evidence_hash),
        NEW.warc_digest, NEW.verifies_check_id, NEW.source_ref, NEW.review_reason,
        NEW.review_detail, NEW.kept)
    RETURNING verifies_kept INTO NEW.verifies_kept;
    RETURN NEW;
END
$$;
CREATE TRIGGER checks_view_insert INSTEAD OF INSERT ON checks
FOR EACH ROW EXECUTE FUNCTION checks_view_insert();

CREATE FUNCTION checks_view_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE check_store SET check_id = NEW.check_id, document_id = NEW.document_id,
        checked_at = NEW.checked_at, captured_at = NEW.captured_at, outcome = NEW.outcome,
        failure_reason = NEW.failure_reason, failure_detail = NEW.failure_detail,
        requested_url = NEW.requested_url, final_url = NEW.final_url,
        http_status = NEW.http_status, response_headers = NEW.response_headers,
        fetcher = NEW.fetcher, user_agent = NEW.user_agent,
        raw_sha256 = hash_bytes(NEW.raw_sha256), text_sha256 = hash_bytes(NEW.text_sha256),
        version_id = NEW.version_id, crawl_id = NEW.crawl_id,
        evidence_hash = hash_bytes(NEW.evidence_hash),
        previous_evidence_hash = hash_bytes(NEW.previous_evidence_hash),
        warc_digest = NEW.warc_digest, verifies_check_id = NEW.verifies_check_id,
        source_ref = NEW.source_ref, review_reason = NEW.review_reason,
        review_detail = NEW.review_detail, kept = NEW.kept
    WHERE check_id = OLD.check_id AND kept = OLD.kept
    RETURNING verifies_kept INTO NEW.verifies_kept;
    RETURN NEW;
END
$$;
CREATE TRIGGER checks_view_update INSTEAD OF UPDATE ON checks
FOR EACH ROW EXECUTE FUNCTION checks_view_update();
