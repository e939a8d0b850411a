-- The public interface: users query these views. The column names are a contract;
-- columns may be added, never renamed or removed. Recreated on every upgrade.

CREATE OR REPLACE VIEW document_versions AS
SELECT p.name            AS platform,
       d.document_type,
       d.url,
       v.version_id,
       v.version_number,
       v.text_sha256,
       v.first_seen_at,
       v.last_seen_at,
       d.document_id,
       v.raw_sha256,
       v.check_id,
       v.extractor_version,
       length(v.text)    AS text_length
FROM versions v
JOIN documents d USING (document_id)
JOIN platforms p USING (platform_id);

CREATE OR REPLACE VIEW document_changes AS
SELECT c.change_id,
       p.name            AS platform,
       d.document_type,
       d.url,
       c.detected_at,
       c.from_version_id,
       c.to_version_id,
       c.chars_added,
       c.chars_removed,
       c.diff,
       d.document_id,
       c.check_id,
       c.kind
FROM changes c
JOIN documents d USING (document_id)
JOIN platforms p USING (platform_id);

CREATE OR REPLACE VIEW document_checks AS
SELECT k.check_id,
       p.name            AS platform,
       d.document_type,
       d.url,
       k.checked_at,
       k.outcome,
       k.failure_reason,
       k.http_status,
       k.raw_sha256,
       k.text_sha256,
       d.document_id,
       k.captured_at,
       k.failure_detail,
       k.requested_url,
       k.final_url,
       k.fetcher,
       k.user_agent,
       k.version_id,
       k.crawl_id
FROM checks k
JOIN documents d USING (document_id)
JOIN platforms p USING (platform_id);
