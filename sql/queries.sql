-- Named queries used by the CLI, over the public views only. Each block starts with
-- "-- name: <name>"; parameters are %(name)s. They are also the README's examples.

-- name: recent_changes
-- What changed since a given time (the README's "what changed this week").
SELECT c.change_id, c.record_id, c.platform, c.document_type, c.detected_at,
       c.from_version_id, c.to_version_id, f.version_number AS from_number,
       t.version_number AS to_number, c.chars_added, c.chars_removed, c.kind, c.kind_reason,
       c.check_id, c.verified_check_id
FROM document_changes c
JOIN document_versions f ON f.version_id = c.from_version_id
JOIN document_versions t ON t.version_id = c.to_version_id
WHERE c.detected_at >= %(since)s
ORDER BY c.detected_at DESC, c.change_id DESC;

-- name: document_history
-- One document's versions, oldest first, with the change that made each one.
SELECT v.version_id, v.record_id, v.version_number, v.text_sha256, v.first_seen_at,
       v.last_seen_at, c.change_id, c.record_id AS change_record_id, c.chars_added,
       c.chars_removed, c.kind, c.kind_reason, v.check_id
FROM document_versions v
LEFT JOIN document_changes c ON c.to_version_id = v.version_id
WHERE v.platform = %(platform)s AND v.document_type = %(document_type)s
ORDER BY v.version_number;

-- name: document_check_counts
-- How a document's checks went, per outcome.
SELECT outcome, count(*) AS checks, max(checked_at) AS last_checked_at
FROM document_checks
WHERE platform = %(platform)s AND document_type = %(document_type)s
GROUP BY outcome ORDER BY outcome;

-- name: checked_document_count
SELECT count(*) AS documents FROM document_heads WHERE last_check_id IS NOT NULL;

-- name: tracked_documents
-- Every checked document with its latest version and last check (by document: the
-- cost follows the documents, not the length of their histories).
SELECT p.name AS platform, d.document_type, d.url, v.version_number AS versions,
       h.last_checked_at
FROM documents d JOIN platforms p USING (platform_id)
JOIN document_heads h USING (document_id)
LEFT JOIN versions v ON v.version_id = h.last_version_id
WHERE h.last_check_id IS NOT NULL
ORDER BY p.name, d.document_type;

-- name: version_text
-- A version's text and where it came from.
SELECT v.platform, v.document_type, v.url, v.version_number, v.record_id, v.text_sha256,
       v.first_seen_at, v.raw_sha256, t.text
FROM document_versions v
JOIN versions t USING (version_id)
WHERE v.version_id = %(version_id)s;

-- name: change_detail
-- A change with the texts on both sides.
SELECT c.change_id, c.record_id, c.platform, c.document_type, c.url, c.detected_at,
       c.chars_added,
       c.chars_removed, c.kind, c.kind_reason, c.diff, c.from_version_id, c.to_version_id,
       old.version_number AS from_number, new.version_number AS to_number,
       old.text AS old_text, new.text AS new_text
FROM document_changes c
JOIN versions old ON old.version_id = c.from_version_id
JOIN versions new ON new.version_id = c.to_version_id
WHERE c.change_id = %(change_id)s;

-- name: document_status
-- Every document, what needs a look first: the longest failing streaks, then documents
-- never checked, then the rest by name.
SELECT platform, document_type, url, record_id, tracked, untracked_at, last_checked_at,
       last_outcome, last_failure_reason, last_failure_detail, last_success_at,
       version_number, version_record_id, current_since, last_change_record_id,
       last_changed_at, failing_checks, failing_since, last_change_review_reason,
       last_check_id
FROM document_status
WHERE tracked OR %(all)s
ORDER BY tracked DESC, failing_checks DESC, failing_since, last_checked_at IS NOT NULL,
         platform, document_type;

-- name: document_names
-- Every recorded (platform, document type), to resolve names a user typed.
SELECT p.name AS platform, d.document_type
FROM documents d JOIN platforms p USING (platform_id)
ORDER BY 1, 2;

-- name: document_names_matching
-- The recorded (platform, document type) pairs a platform and/or document name typed
-- designate, case aside (NULL: any).
SELECT p.name AS platform, d.document_type
FROM documents d JOIN platforms p USING (platform_id)
WHERE (%(platform)s::text IS NULL OR lower(p.name) = lower(trim(%(platform)s::text)))
  AND (%(document)s::text IS NULL
       OR lower(d.document_type) = lower(trim(%(document)s::text)))
ORDER BY 1, 2;

-- name: untrack_document
UPDATE documents d SET untracked_at = coalesce(d.untracked_at, now())
FROM platforms p
WHERE p.platform_id = d.platform_id AND p.name = %(platform)s
  AND d.document_type = %(document_type)s
RETURNING d.document_id;

-- name: track_document
UPDATE documents d SET untracked_at = NULL
FROM platforms p
WHERE p.platform_id = d.platform_id AND p.name = %(platform)s
  AND d.document_type = %(document_type)s
RETURNING d.document_id;

-- name: ledger_rows
-- The ledger in order, with the fields of each record its entry is made of.
-- An archived check (storage/archive_checks.py) is rebuilt from its head row where a
-- remaining check follows it, else it is said to be archived (its range is named in
-- check_archives; verify counts each range's entries against it). Each record table is
-- read over the range of IDs the entries name (the window's bounds, read once): the
-- planner cannot tell how many entries a run of checks expands to, and would otherwise
-- read every check to join a few.
WITH l AS MATERIALIZED (SELECT * FROM ledger_entries(%(start)s, %(size)s)),
b AS MATERIALIZED (
    SELECT min(record) FILTER (WHERE kind = 'check') AS check_low,
           max(record) FILTER (WHERE kind = 'check') AS check_high,
           min(record) FILTER (WHERE kind = 'version') AS version_low,
           max(record) FILTER (WHERE kind = 'version') AS version_high,
           min(record) FILTER (WHERE kind = 'change') AS change_low,
           max(record) FILTER (WHERE kind = 'change') AS change_high
    FROM l)
SELECT l.position, l.kind, l.record, l.leaf,
       coalesce(k.evidence_hash, a.evidence_hash), v.document_id, v.version_number,
       v.text_sha256, v.check_id,
       c.from_version_id, c.to_version_id, c.diff, c.chars_added, c.chars_removed,
       k.check_id IS NOT NULL OR a.check_id IS NOT NULL OR v.version_id IS NOT NULL
           OR c.change_id IS NOT NULL,
       l.kind = 'check' AND k.check_id IS NULL AND EXISTS (
           SELECT 1 FROM check_archives x
           WHERE l.record >= x.first_check_id AND l.record < x.end_check_id)
FROM l
LEFT JOIN checks k ON l.kind = 'check' AND k.check_id = l.record
     AND k.check_id BETWEEN (SELECT check_low FROM b) AND (SELECT check_high FROM b)
LEFT JOIN archived_check_heads a ON l.kind = 'check' AND k.check_id IS NULL
                                 AND a.check_id = l.record
LEFT JOIN versions v ON l.kind = 'version' AND v.version_id = l.record
     AND v.version_id BETWEEN (SELECT version_low FROM b) AND (SELECT version_high FROM b)
LEFT JOIN changes c ON l.kind = 'change' AND c.change_id = l.record
     AND c.change_id BETWEEN (SELECT change_low FROM b) AND (SELECT change_high FROM b)
ORDER BY l.position;

-- name: ledger_position
SELECT ledger_position(%(kind)s, %(record)s);

-- name: save_checkpoint
INSERT INTO checkpoints (tree_size, root_hash, made_at, public_key, signature, block_roots)
VALUES (%(size)s, %(root)s, %(made_at)s, %(key)s, %(signature)s, %(blocks)s);

-- name: ledger_size
SELECT ledger_size();

-- name: latest_checkpoint
SELECT tree_size, root_hash, made_at, public_key, signature, block_roots FROM checkpoints
ORDER BY checkpoint_id DESC LIMIT 1;

-- name: current_provisions
SELECT record_id, position, heading, current_text AS text, first_seen_at, last_changed_at
FROM provisions
WHERE platform = %(platform)s AND document_type = %(document_type)s AND ended_at IS NULL
ORDER BY position

-- name: provision_record
SELECT platform, document_type, provision_id, record_id, first_seen_at, last_changed_at,
       ended_at, current_text, heading, split_from_record_id, document_id
FROM provisions WHERE provision_id = %(provision)s

-- name: provision_texts_over_time
-- Each version holding the provision, oldest first, with the check and capture of the
-- version (grouped into runs of one text in Python).
SELECT pv.version_number, pv.text, pv.text_sha256, pv.heading, v.first_seen_at,
       v.last_seen_at, v.record_id AS version_record_id, v.check_id,
       v.raw_sha256 AS capture_sha256
FROM provision_versions pv JOIN versions v USING (version_id)
WHERE pv.provision_id = %(provision)s
ORDER BY pv.version_number

-- name: provision_history
SELECT pc.change_record_id, pc.detected_at, pc.kind, pc.technical, pc.related_record_id,
       pc.diff, pc.from_text, pc.to_text, c.check_id
FROM provision_changes pc JOIN changes c USING (change_id)
WHERE pc.provision_id = %(provision)s
ORDER BY pc.detected_at, pc.change_id

-- name: recent_provision_changes
SELECT detected_at, platform, document_type, record_id, kind, technical, change_record_id,
       related_record_id, from_text, to_text
FROM provision_changes
WHERE detected_at >= %(since)s
  AND (%(platform)s::text IS NULL OR platform = %(platform)s)
  AND (%(document_type)s::text IS NULL OR document_type = %(document_type)s)
ORDER BY detected_at DESC, change_id DESC, record_id

-- name: change_provision_changes
SELECT record_id, kind, technical, related_record_id, from_text, to_text, diff,
       from_sha256, to_sha256
FROM provision_changes WHERE change_id = %(change)s ORDER BY record_id

-- name: provision_clause_types
-- The clause types of a provision's latest text.
SELECT lt.clause_type AS type, lt.severity, lt.confidence, lt.evidence,
       lt.classifier_version
FROM (SELECT vp.text_sha256 FROM version_provisions vp
      WHERE vp.provision_id = %(provision)s ORDER BY vp.version_id DESC LIMIT 1) cur
JOIN latest_clause_types lt ON lt.text_sha256 = cur.text_sha256
ORDER BY severity_rank(lt.severity) DESC, lt.confidence DESC, lt.clause_type

-- name: compare_type
-- A type's provisions today, worst first: `limit` of them (NULL: every one) after the
-- first `offset` (compare, the web view's type page and API); the rows of
-- provision_classifications (ties in record ID order: the provision's number). The page
-- is read in order from current_clause_types (migration 025), then what the reader sees
-- of each row is joined to it.
WITH page AS (
    SELECT t.platform, t.document_type, t.severity, t.severity_rank, t.clause_type,
           t.provision_id, t.version_id, t.position, t.text_sha256
    FROM current_clause_types t
    JOIN documents d ON d.document_id = t.document_id
    WHERE t.clause_type = %(type)s AND d.untracked_at IS NULL
      AND t.severity_rank >= %(min_rank)s
    ORDER BY t.severity_rank DESC, t.platform, t.document_type, t.provision_id
    LIMIT %(limit)s OFFSET %(offset)s)
SELECT g.platform, g.document_type, pr.record_id, g.severity, lt.confidence, vp.heading,
       tx.text, lt.evidence, lt.classifier_version
FROM page g
JOIN latest_clause_types lt
  ON lt.text_sha256 = g.text_sha256 AND lt.clause_type = g.clause_type
JOIN provision_records pr ON pr.provision_id = g.provision_id
JOIN version_provisions vp ON (vp.version_id, vp.position) = (g.version_id, g.position)
JOIN provision_texts tx ON tx.text_sha256 = g.text_sha256
ORDER BY g.severity_rank DESC, g.platform, g.document_type, g.provision_id

-- name: compare_type_count
-- How many provisions of a type today, and at how many platforms.
SELECT count(*) AS provisions, count(DISTINCT d.platform_id) AS platforms
FROM current_clause_types t
JOIN documents d ON d.document_id = t.document_id
WHERE t.clause_type = %(type)s AND d.untracked_at IS NULL
  AND t.severity_rank >= %(min_rank)s

-- name: other_platforms
-- "How other platforms handle this": the type's provisions elsewhere, worst first (the
-- rows of provision_classifications), the first ones of current_clause_types' order.
SELECT t.platform, t.document_type, pr.record_id, t.severity
FROM current_clause_types t
JOIN documents d ON d.document_id = t.document_id
JOIN provision_records pr ON pr.provision_id = t.provision_id
WHERE t.clause_type = %(type)s AND t.platform <> %(platform)s AND d.untracked_at IS NULL
ORDER BY t.severity_rank DESC, t.platform, t.document_type, t.provision_id
LIMIT %(limit)s

-- name: document_clause_types
-- Per provision of a document today: its types as "type:severity", worst first.
SELECT record_id,
       string_agg(type || ':' || severity, ', '
                  ORDER BY severity_rank(severity) DESC, type) AS types
FROM provision_classifications
WHERE platform = %(platform)s AND document_type = %(document_type)s
GROUP BY record_id

-- name: change_marks
SELECT change_record_id, record_id, type, mark, from_severity, to_severity
FROM change_severity WHERE change_id = ANY(%(changes)s::bigint[])
ORDER BY change_id, record_id, type
