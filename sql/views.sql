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
       length(v.text)    AS text_length,
       v.record_id,
       d.record_id       AS document_record_id,
       v.stated_date,
       v.archive_url
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
       c.kind,
       c.verified,
       c.verified_at,
       c.silent,
       c.date_only,
       c.record_id,
       d.record_id       AS document_record_id,
       c.kind_reason,
       -- Why the new text was held for a second look (migration 014): 'too short'.
       k.review_reason,
       k.review_detail,
       c.verified_check_id
FROM changes c
JOIN documents d USING (document_id)
JOIN platforms p USING (platform_id)
JOIN checks k ON k.check_id = c.check_id;

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
       CASE WHEN k.final_url IS NULL AND k.http_status IS NOT NULL THEN k.requested_url
            ELSE k.final_url END AS final_url,
       k.fetcher,
       coalesce(k.user_agent, cr.user_agent) AS user_agent,
       k.version_id,
       k.crawl_id,
       k.evidence_hash,
       coalesce(k.previous_evidence_hash, (
           SELECT l.evidence_hash FROM checks l
           WHERE l.document_id = k.document_id AND l.check_id < k.check_id
           ORDER BY l.check_id DESC LIMIT 1)) AS previous_evidence_hash,
       k.warc_digest,
       k.verifies_check_id,
       k.review_reason,
       k.review_detail
FROM checks k
JOIN documents d USING (document_id)
LEFT JOIN crawls cr USING (crawl_id)
JOIN platforms p USING (platform_id);

-- Documents whose new texts keep failing to confirm: A/B tests, flapping pages.
CREATE OR REPLACE VIEW document_flapping AS
SELECT p.name            AS platform,
       d.document_type,
       d.url,
       count(*)          AS unconfirmed_checks,
       max(k.checked_at) AS last_unconfirmed_at,
       d.document_id
FROM checks k
JOIN documents d USING (document_id)
JOIN platforms p USING (platform_id)
WHERE k.outcome = 'unconfirmed'
GROUP BY p.name, d.document_type, d.url, d.document_id
HAVING count(*) >= 2;

-- Every page of every check, in order. A check of one page with nothing of its own to
-- keep (no response headers, no WARC record: imported captures, routine rechecks of
-- servers without validators) is stored without a check_pages row; its page is the
-- one the check row describes.
CREATE OR REPLACE VIEW all_check_pages AS
SELECT p.check_id, p.position, p.requested_url, p.final_url, p.http_status,
       p.response_headers, p.raw_sha256, p.warc_file, p.warc_offset, p.warc_payload_digest
FROM check_pages p
UNION ALL
SELECT k.check_id, 0, k.requested_url, k.final_url, k.http_status, NULL::jsonb,
       k.raw_sha256, NULL::text, NULL::bigint, NULL::text
FROM document_checks k  -- which knows how a check row's final URL is stored
WHERE NOT EXISTS (SELECT 1 FROM check_pages p WHERE p.check_id = k.check_id);

-- Every document with where it stands: its last check, current version, last change, and
-- the streak of failed checks it is on (0 when its last check did not fail); read from
-- document_heads (migration 020), kept as checks, versions and changes are written.
CREATE OR REPLACE VIEW document_status AS
SELECT p.name                AS platform,
       d.document_type,
       d.url,
       d.document_id,
       d.record_id,
       d.untracked_at IS NULL AS tracked,
       d.untracked_at,
       h.last_checked_at,
       h.last_outcome,
       -- read for a failed last check alone: joined, the planner may read every check;
       -- the test outside the subquery, where it leaves the view's joins removable
       CASE WHEN h.last_outcome = 'failed' THEN
           (SELECT k.failure_reason FROM checks k WHERE k.check_id = h.last_check_id) END
                             AS last_failure_reason,
       CASE WHEN h.last_outcome = 'failed' THEN
           (SELECT k.failure_detail FROM checks k WHERE k.check_id = h.last_check_id) END
                             AS last_failure_detail,
       h.last_success_at,
       v.version_number,
       v.version_id,
       v.record_id           AS version_record_id,
       v.first_seen_at       AS current_since,
       c.change_id           AS last_change_id,
       c.record_id           AS last_change_record_id,
       c.detected_at         AS last_changed_at,
       coalesce(h.failing_checks, 0)::bigint AS failing_checks,
       h.failing_since,
       dk.review_reason      AS last_change_review_reason,
       h.last_check_id
FROM documents d
JOIN platforms p USING (platform_id)
LEFT JOIN document_heads h USING (document_id)
LEFT JOIN versions v ON v.version_id = h.last_version_id
LEFT JOIN changes c ON c.change_id = h.last_change_id
-- a change's check is a kept one (migration 021): that partition alone is read
LEFT JOIN checks dk ON dk.check_id = c.check_id AND dk.kept;

-- Provisions (migration 011): the clauses of each version, with stable record IDs.
CREATE OR REPLACE VIEW provision_versions AS
SELECT p.name                      AS platform,
       d.document_type,
       vp.provision_id,
       pr.record_id,
       v.version_id,
       v.version_number,
       vp.position,
       vp.heading,
       t.text,
       encode(vp.text_sha256, 'hex') AS text_sha256,
       v.record_id                 AS version_record_id,
       v.first_seen_at             AS version_first_seen_at,
       d.document_id
FROM version_provisions vp
JOIN provision_records pr USING (provision_id)
JOIN provision_texts t ON t.text_sha256 = vp.text_sha256
JOIN versions v ON v.version_id = vp.version_id
JOIN documents d ON d.document_id = v.document_id
JOIN platforms p USING (platform_id);

CREATE OR REPLACE VIEW provision_changes AS
SELECT p.name                      AS platform,
       d.document_type,
       pc.provision_id,
       pr.record_id,
       pc.change_id,
       c.detected_at,
       pc.kind,
       f.text                      AS from_text,
       t.text                      AS to_text,
       pc.diff,
       pc.technical,
       c.record_id                 AS change_record_id,
       rel.record_id               AS related_record_id,
       encode(pc.from_sha256, 'hex') AS from_sha256,
       encode(pc.to_sha256, 'hex')   AS to_sha256,
       c.from_version_id,
       c.to_version_id,
       d.document_id
FROM provision_edits pc
JOIN provision_records pr USING (provision_id)
JOIN changes c USING (change_id)
JOIN documents d ON d.document_id = c.document_id
JOIN platforms p USING (platform_id)
LEFT JOIN provision_texts f ON f.text_sha256 = pc.from_sha256
LEFT JOIN provision_texts t ON t.text_sha256 = pc.to_sha256
LEFT JOIN provision_records rel ON rel.provision_id = pc.related_id;

CREATE OR REPLACE VIEW provisions AS
SELECT p.name                       AS platform,
       d.document_type,
       pr.provision_id,
       pr.record_id,
       seen.first_seen_at,
       coalesce(changed.at, seen.first_seen_at) AS last_changed_at,
       ended.detected_at            AS ended_at,
       cur.text                     AS current_text,
       cur.heading,
       pr.document_id,
       cur.version_id               AS current_version_id,
       cur.position,
       split.record_id              AS split_from_record_id
FROM provision_records pr
JOIN documents d USING (document_id)
JOIN platforms p USING (platform_id)
CROSS JOIN LATERAL (
    SELECT min(v.first_seen_at) AS first_seen_at
    FROM version_provisions vp JOIN versions v USING (version_id)
    WHERE vp.provision_id = pr.provision_id) seen
LEFT JOIN LATERAL (
    -- Content changes only: a re-extraction does not change what a provision says.
    SELECT max(c.detected_at) AS at
    FROM provision_edits e JOIN changes c USING (change_id)
    WHERE e.provision_id = pr.provision_id AND NOT e.technical) changed ON true
LEFT JOIN changes ended ON ended.to_version_id = pr.ended_version_id
CROSS JOIN LATERAL (
    SELECT vp.version_id, vp.position, vp.heading, t.text
    FROM version_provisions vp JOIN provision_texts t USING (text_sha256)
    WHERE vp.provision_id = pr.provision_id
    ORDER BY vp.version_id DESC LIMIT 1) cur
LEFT JOIN provision_records split ON split.provision_id = pr.split_from;

-- A severity as a number to compare and sort by: low 0 < medium 1 < high 2 (as RANK
-- in atlas_crawl/clauses/taxonomy.py); NULL for none.
CREATE OR REPLACE FUNCTION severity_rank(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 END
$$;

-- Clause types (migration 012). What the latest classifier that read each provision
-- text found in it (a new classifier takes over text by text, as it reads them).
CREATE OR REPLACE VIEW latest_clause_types AS
SELECT ct.text_sha256,
       ct.clause_type,
       ct.severity,
       ct.confidence,
       ct.evidence,
       cl.classifier_version,
       ct.classifier_id
FROM text_clause_types ct
JOIN classifiers cl USING (classifier_id)
WHERE ct.classifier_id = (SELECT max(c.classifier_id) FROM text_classifications c
                          WHERE c.text_sha256 = ct.text_sha256);

-- Today's provisions (those of each tracked document's latest version) with their
-- types: "how other platforms handle this" is a WHERE type = '...'.
CREATE OR REPLACE VIEW provision_classifications AS
SELECT p.name                      AS platform,
       d.document_type,
       vp.provision_id,
       pr.record_id,
       lt.clause_type              AS type,
       lt.severity,
       lt.confidence,
       lt.classifier_version,
       lt.evidence,
       vp.heading,
       t.text,
       v.version_id,
       d.document_id
FROM latest_clause_types lt
-- Today's provisions only (migration 022), as a join the planner can start from either
-- end: from a type's texts ("compare") or from one document's latest version.
JOIN current_provisions cp ON cp.text_sha256 = lt.text_sha256
JOIN version_provisions vp ON (vp.version_id, vp.position) = (cp.version_id, cp.position)
JOIN versions v ON v.version_id = vp.version_id
JOIN documents d ON d.document_id = v.document_id
JOIN platforms p USING (platform_id)
JOIN provision_records pr ON pr.provision_id = vp.provision_id
JOIN provision_texts t ON t.text_sha256 = vp.text_sha256
WHERE d.untracked_at IS NULL;

-- Document changes marked for alerts: a provision of high severity brought in, or a
-- provision's severity raised, as the classifier of the time read both texts.
CREATE OR REPLACE VIEW change_severity AS
SELECT p.name                      AS platform,
       d.document_type,
       c.record_id                 AS change_record_id,
       c.detected_at,
       pr.record_id,
       m.clause_type               AS type,
       m.mark,
       m.from_severity,
       m.to_severity,
       cl.classifier_version,
       m.change_id,
       m.provision_id
FROM change_severity_marks m
JOIN changes c USING (change_id)
JOIN documents d ON d.document_id = c.document_id
JOIN platforms p USING (platform_id)
JOIN provision_records pr ON pr.provision_id = m.provision_id
JOIN classifiers cl ON cl.classifier_id = m.classifier_id;

-- What each reclassification found differently, for the provisions holding the text.
CREATE OR REPLACE VIEW reclassified_provisions AS
SELECT r.reclassification_id,
       prev.classifier_version     AS from_classifier,
       cl.classifier_version       AS to_classifier,
       r.finished_at,
       pv.platform,
       pv.document_type,
       pv.record_id,
       rt.clause_type              AS type,
       rt.from_severity,
       rt.to_severity,
       encode(rt.text_sha256, 'hex') AS text_sha256  -- one provision may have had several texts
FROM reclassified_types rt
JOIN reclassifications r USING (reclassification_id)
JOIN classifiers cl ON cl.classifier_id = r.classifier_id
LEFT JOIN classifiers prev ON prev.classifier_id = r.previous_id
JOIN LATERAL (
    SELECT DISTINCT p.name AS platform, d.document_type, pr.record_id
    FROM version_provisions vp
    JOIN provision_records pr USING (provision_id)
    JOIN documents d ON d.document_id = pr.document_id
    JOIN platforms p USING (platform_id)
    WHERE vp.text_sha256 = rt.text_sha256) pv ON true;

-- Alerts (migration 013): every notification with what it is about, and those that
-- will not be tried again (retried by `atlas-crawl notify --retry-dead`).
CREATE OR REPLACE VIEW alert_notifications AS
SELECT n.notification_id,
       n.idempotency_key,
       n.status,
       n.attempts,
       n.next_attempt_at,
       n.last_error,
       n.severity,
       n.created_at,
       n.delivered_at,
       p.name                      AS platform,
       d.document_type,
       c.record_id                 AS change_record_id,
       c.detected_at,
       w.watch_id,
       w.target,
       w.channel,
       w.destination
FROM notifications n
JOIN watches w USING (watch_id)
JOIN changes c USING (change_id)
JOIN documents d ON d.document_id = c.document_id
JOIN platforms p ON p.platform_id = d.platform_id;

CREATE OR REPLACE VIEW dead_notifications AS
SELECT * FROM alert_notifications WHERE status = 'dead';

-- The readers' schema: a view over each table and view above that a reader of the
-- history may see (all but the alerts' watches and messages: addresses and webhook
-- secrets), so that a role for the web view gets SELECT on these views and nothing
-- else (README, "The web view"). The views are remade on every upgrade: a column added
-- to a table appears in its view. A migration that drops or retypes a column drops the
-- table's view here first (DROP VIEW atlas_read.NAME), never the schema: its default
-- privileges give the remade view to the readers' role again.
CREATE SCHEMA IF NOT EXISTS atlas_read;
DO $$
DECLARE
    rel record;
BEGIN
    FOR rel IN
        SELECT c.relname
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
          AND NOT c.relispartition  -- a partition is read through its table
          AND c.relname NOT IN ('watches', 'notifications', 'alert_notifications',
                                'dead_notifications', 'subscription_messages',
                                'check_store', 'check_labels',  -- read as checks
                                'ledger_store')  -- read as ledger
        ORDER BY c.relname
    LOOP
        BEGIN
            EXECUTE format('CREATE OR REPLACE VIEW atlas_read.%I AS SELECT * FROM public.%I',
                           rel.relname, rel.relname);
        EXCEPTION WHEN invalid_table_definition OR feature_not_supported THEN
            -- a column dropped or retyped: the view is made anew
            EXECUTE format('DROP VIEW atlas_read.%I', rel.relname);
            EXECUTE format('CREATE VIEW atlas_read.%I AS SELECT * FROM public.%I',
                           rel.relname, rel.relname);
        END;
    END LOOP;
END
$$;
