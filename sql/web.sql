-- Named queries of the web view and its API (atlas_crawl/web): read-only, each bounded
-- by a LIMIT or a record ID.

-- name: web_platforms
-- Platforms with a tracked document: how many, the last check and change (from each
-- document's head row: one row per document, whatever the history's length), by name or
-- the last changed first, a page of them (limit NULL: all), each row with the total.
SELECT p.platform_id, p.name, p.record_id,
       count(*) FILTER (WHERE d.untracked_at IS NULL) AS documents,
       max(h.last_checked_at) AS last_checked_at,
       max(h.last_changed_at) AS last_changed_at,
       count(*) FILTER (WHERE d.untracked_at IS NULL AND h.failing_checks > 0) AS failing,
       count(*) OVER () AS platforms_total
FROM platforms p JOIN documents d USING (platform_id)
LEFT JOIN document_heads h USING (document_id)
-- one platform by its address (reads.slug, the same rule), or every one
WHERE %(slug)s::text IS NULL
   OR btrim(regexp_replace(lower(p.name), '[^a-z0-9]+', '-', 'g'), '-') = %(slug)s
GROUP BY p.platform_id, p.name, p.record_id
HAVING count(*) FILTER (WHERE d.untracked_at IS NULL) > 0
ORDER BY CASE WHEN %(recent)s THEN max(h.last_changed_at) END DESC NULLS LAST, p.name
LIMIT %(limit)s OFFSET %(offset)s

-- name: web_failing_documents
-- Tracked documents whose last checks failed, the longest streaks first (the first
-- ones: `atlas-crawl status` lists them all).
-- The failing documents' IDs first, as a list: joined as a subquery, the planner read
-- every document's version (a sequential read of versions) before keeping the few.
SELECT * FROM document_status
WHERE tracked
  AND document_id = ANY (ARRAY(SELECT document_id FROM document_heads
                               WHERE failing_checks > 0))
ORDER BY failing_checks DESC, failing_since, platform, document_type
LIMIT %(limit)s

-- name: web_failing_count
SELECT count(*) AS documents FROM document_heads h JOIN documents d USING (document_id)
WHERE h.failing_checks > 0 AND d.untracked_at IS NULL

-- name: web_tracked_count
SELECT count(*) AS documents FROM documents WHERE untracked_at IS NULL

-- name: web_platform_documents
-- A platform's tracked documents, where each stands.
SELECT * FROM document_status
WHERE platform = %(platform)s AND tracked
ORDER BY tracked DESC, failing_checks DESC, failing_since, last_checked_at IS NOT NULL,
         platform, document_type

-- name: web_changes
-- The newest changes (content and technical), graded: a change's severity is the worst
-- among the provisions it touched (as alerts grade it). Newest first, or after a change
-- of this order (the cursor: a change ID), of a platform, a document, a provision or a
-- clause type, content changes only or all.
SELECT c.change_id, c.record_id, c.platform, c.document_type, c.detected_at, c.kind,
       c.kind_reason, c.chars_added, c.chars_removed, c.review_reason,
       c.document_record_id,
       (SELECT max(severity_rank(lt.severity)) FROM provision_edits e
        JOIN latest_clause_types lt ON lt.text_sha256 = coalesce(e.to_sha256, e.from_sha256)
        WHERE e.change_id = c.change_id AND e.kind <> 'moved') AS rank
FROM document_changes c
WHERE (%(platform)s::text IS NULL OR c.platform = %(platform)s)
  AND (NOT %(content_only)s OR c.kind = 'content')
  AND (%(document)s::bigint IS NULL OR c.document_id = %(document)s)
  AND (%(provision)s::bigint IS NULL OR EXISTS (
       SELECT 1 FROM provision_edits e
       WHERE e.change_id = c.change_id AND e.provision_id = %(provision)s))
  -- a type's changes: those that brought or rewrote it at medium or high (as a type
  -- watch is alerted)
  AND (%(type)s::text IS NULL OR EXISTS (
       SELECT 1 FROM provision_edits e
       JOIN latest_clause_types lt ON lt.text_sha256 = coalesce(e.to_sha256, e.from_sha256)
       WHERE e.change_id = c.change_id AND e.kind <> 'moved' AND lt.clause_type = %(type)s
         AND severity_rank(lt.severity) >= 1))
  AND (%(after)s::bigint IS NULL OR (c.detected_at, c.change_id) <
       (SELECT a.detected_at, a.change_id FROM changes a WHERE a.change_id = %(after)s))
ORDER BY c.detected_at DESC, c.change_id DESC
LIMIT %(limit)s

-- name: web_changes_by_month
-- A platform's content changes per month, for its chart.
SELECT date_trunc('month', detected_at) AS month, count(*) AS changes
FROM document_changes
WHERE platform = %(platform)s AND kind = 'content'
GROUP BY 1 ORDER BY 1

-- name: web_document
SELECT d.document_id, d.record_id, d.document_type, d.url, p.name AS platform,
       p.record_id AS platform_record_id, d.untracked_at
FROM documents d JOIN platforms p USING (platform_id)
WHERE d.document_id = %(document)s

-- name: web_document_checks
SELECT check_id, checked_at, outcome, failure_reason, failure_detail, http_status, fetcher
FROM document_checks WHERE document_id = %(document)s
ORDER BY check_id DESC LIMIT %(limit)s

-- name: web_version
SELECT v.version_id, v.record_id, v.version_number, v.text, v.text_sha256, v.raw_sha256,
       v.first_seen_at, v.last_seen_at, v.stated_date, v.archive_url, v.check_id,
       v.extractor_version, d.document_id, d.record_id AS document_record_id,
       d.document_type, d.url, p.name AS platform, k.fetcher, k.captured_at,
       k.http_status, k.requested_url
FROM versions v JOIN documents d USING (document_id) JOIN platforms p USING (platform_id)
JOIN checks k ON k.check_id = v.check_id
WHERE v.version_id = %(version)s

-- name: web_current_provisions
-- A document's provisions today (those of its latest version), in reading order, with
-- their types as "type:severity", worst first: read from the latest version alone, not
-- from each provision's whole history.
SELECT pr.record_id, pr.provision_id, vp.position, vp.heading, t.text,
       (SELECT string_agg(lt.clause_type || ':' || lt.severity, ', '
                          ORDER BY severity_rank(lt.severity) DESC, lt.clause_type)
        FROM latest_clause_types lt WHERE lt.text_sha256 = vp.text_sha256) AS types
FROM (SELECT version_id FROM versions WHERE document_id = %(document)s
      ORDER BY version_number DESC LIMIT 1) cur
JOIN version_provisions vp USING (version_id)
JOIN provision_texts t USING (text_sha256)
JOIN provision_records pr USING (provision_id)
ORDER BY vp.position

-- name: web_capture_pages
-- The pages of a check, for the capture's download.
SELECT position, raw_sha256 FROM all_check_pages
WHERE check_id = %(check)s ORDER BY position

-- name: web_search
-- Today's provisions (those of each document's latest version) whose text holds the
-- words asked for, best first. Each text is searched in its own language (its words
-- stemmed as provision_texts.search_config says, migration 018): the words asked for
-- are read once per configuration, and each text matched against its own.
WITH q AS (
    SELECT c.config, websearch_to_tsquery(c.config, %(q)s) AS q
    FROM unnest('{simple,english,german,italian,french}'::regconfig[]) AS c(config)),
hits AS (
    -- only texts of today's provisions are ranked (migration 022), not every text the
    -- words were ever in
    SELECT t.text_sha256, t.text, ts_rank(t.words, q.q) AS rank
    FROM q JOIN provision_texts t ON t.search_config = q.config AND t.words @@ q.q
    WHERE EXISTS (SELECT 1 FROM current_provisions cp WHERE cp.text_sha256 = t.text_sha256)),
page AS (
    -- the page is taken from today's provisions alone (their order is the rank and the
    -- provision): only its rows are joined to their documents, not every match (a
    -- boilerplate clause is in thousands of documents)
    SELECT h.text, h.rank, cp.version_id, cp.position, cp.provision_id
    FROM hits h JOIN current_provisions cp ON cp.text_sha256 = h.text_sha256
    ORDER BY h.rank DESC, cp.provision_id
    LIMIT %(limit)s OFFSET %(offset)s)
SELECT pr.record_id, p.name AS platform, d.document_type, vp.heading, g.text, g.rank
FROM page g
JOIN version_provisions vp ON (vp.version_id, vp.position) = (g.version_id, g.position)
JOIN versions v ON v.version_id = vp.version_id
JOIN documents d ON d.document_id = v.document_id
JOIN platforms p ON p.platform_id = d.platform_id
JOIN provision_records pr ON pr.provision_id = g.provision_id
ORDER BY g.rank DESC, g.provision_id
