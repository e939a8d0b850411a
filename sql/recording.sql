-- The recorder's statements (atlas_crawl.storage), run inside one check's transaction.

-- name: lock_document
-- Serializes concurrent checks of this document until the transaction ends.
SELECT d.document_id, d.url, d.declaration FROM documents d
JOIN platforms p USING (platform_id)
WHERE p.name = %(platform)s AND d.document_type = %(document_type)s
FOR UPDATE OF d

-- name: add_platform
INSERT INTO platforms (name) VALUES (%(platform)s) ON CONFLICT (name) DO NOTHING

-- name: upsert_document
INSERT INTO documents (platform_id, document_type, url, declaration)
SELECT platform_id, %(document_type)s, %(url)s, %(declaration)s FROM platforms
WHERE name = %(platform)s
ON CONFLICT (platform_id, document_type)
DO UPDATE SET url = EXCLUDED.url, declaration = EXCLUDED.declaration
RETURNING document_id

-- name: lock_document_by_id
SELECT 1 FROM documents WHERE document_id = %(document)s FOR UPDATE

-- name: check_by_source_ref
SELECT check_id, outcome FROM checks WHERE source_ref = %(source)s

-- name: previous_page_capture
-- The same page's previous capture (the base of a delta). A check without page rows
-- is of one page: the check row's.
SELECT coalesce(p.raw_sha256, k.raw_sha256) FROM checks k
LEFT JOIN check_pages p ON p.check_id = k.check_id AND p.position = %(position)s
WHERE k.document_id = %(document)s
  AND coalesce(p.raw_sha256, CASE WHEN %(position)s = 0 THEN k.raw_sha256 END) IS NOT NULL
ORDER BY k.check_id DESC LIMIT 1

-- name: previous_checks
-- The last check (for the chain), and the last that was not a failure: a candidate
-- stays pending across failed checks, until a text answers it.
SELECT l.evidence_hash, l.outcome, l.failure_reason, l.text_sha256,
       c.check_id, c.outcome, c.text_sha256, c.captured_at,
       coalesce(p.raw_sha256, c.raw_sha256)
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT evidence_hash, outcome, failure_reason, text_sha256 FROM checks
    WHERE document_id = %(document)s ORDER BY check_id DESC LIMIT 1) l ON true
LEFT JOIN LATERAL (
    SELECT check_id, outcome, text_sha256, captured_at, raw_sha256 FROM checks
    WHERE document_id = %(document)s AND outcome <> 'failed'
    ORDER BY check_id DESC LIMIT 1) c ON true
LEFT JOIN check_pages p ON p.check_id = c.check_id AND p.position = 0

-- name: insert_check
-- The crawl is registered by its first check, with that check's user agent; its other
-- checks store theirs only when it differs (a rendered page's browser).
WITH crawl AS (
    INSERT INTO crawls (crawl_id, user_agent)
    SELECT %(crawl)s::text, %(agent)s::text WHERE %(crawl)s::text IS NOT NULL
    ON CONFLICT (crawl_id) DO NOTHING
    RETURNING user_agent),
crawl_agent AS (
    SELECT user_agent FROM crawl
    UNION ALL
    SELECT user_agent FROM crawls WHERE crawl_id = %(crawl)s::text
    LIMIT 1),
-- a routine recheck or failure cites nothing and is cited by nothing (archivable)
routine AS (
    SELECT %(outcome)s::check_outcome IN ('unchanged', 'failed')
           AND %(verifies)s::bigint IS NULL AS yes),
-- the hashes a routine check is stored relative to (none for a kept one)
version_hashes AS (
    SELECT v.raw_sha256, v.text_sha256 FROM versions v, routine r
    WHERE v.version_id = %(version)s AND r.yes)
-- check_store keeps hashes as bytes (migration 026); the URL, fetcher and crawl as
-- labels, captured_at only where it is not checked_at, and a routine check's raw and
-- text hashes only where they are not its version's (migration 027; a kept check,
-- which versions cite, keeps its own).
INSERT INTO check_store (document_id, checked_at, captured_at, outcome, failure_reason,
    failure_detail, requested_url_label, final_url, http_status, fetcher_label, user_agent,
    raw_sha256, text_sha256, crawl_label, evidence_hash, warc_digest,
    verifies_check_id, source_ref, version_id, review_reason, review_detail, kept)
VALUES (%(document)s, %(checked)s,
    nullif(%(captured)s::timestamptz, %(checked)s::timestamptz), %(outcome)s::check_outcome,
    %(reason)s, %(detail)s, check_label(%(requested)s), %(final)s, %(status)s,
    check_label(%(fetcher)s),
    CASE WHEN %(agent)s::text = (SELECT user_agent FROM crawl_agent) THEN NULL
         ELSE %(agent)s::text END,
    check_hash(%(raw)s, (SELECT raw_sha256 FROM version_hashes)),
    check_hash(%(text)s, (SELECT text_sha256 FROM version_hashes)),
    check_label(%(crawl)s::text),
    hash_bytes(%(evidence)s),
    %(warc)s, %(verifies)s,
    %(source)s, %(version)s, %(review)s, %(review_detail)s,
    NOT (SELECT yes FROM routine))
RETURNING check_id

-- name: insert_check_page
INSERT INTO check_pages (check_id, position, requested_url, final_url, http_status,
    response_headers, raw_sha256, warc_file, warc_offset, warc_payload_digest, check_kept)
VALUES (%(check)s, %(position)s, %(requested)s, %(final)s, %(status)s, %(headers)s,
    %(raw)s, %(warc_file)s, %(warc_offset)s, %(warc_digest)s,
    (SELECT kept FROM checks WHERE check_id = %(check)s))

-- name: set_check_outcome
UPDATE check_store SET outcome = %(outcome)s::check_outcome WHERE check_id = %(check)s

-- name: set_check_version
-- A routine check's raw and text hashes stored again relative to the new version
-- (migration 027); a kept check's are its own.
UPDATE check_store c SET version_id = n.version_id,
    raw_sha256 = check_hash(check_hash_text(c.raw_sha256, o.raw_sha256),
                            CASE WHEN NOT c.kept THEN n.raw_sha256 END),
    text_sha256 = check_hash(check_hash_text(c.text_sha256, o.text_sha256),
                             CASE WHEN NOT c.kept THEN n.text_sha256 END)
FROM versions n LEFT JOIN versions o ON o.version_id = (
    SELECT version_id FROM check_store WHERE check_id = %(check)s)
WHERE n.version_id = %(version)s AND c.check_id = %(check)s

-- name: latest_version
-- Without the text: most checks see the current version again and never need it.
SELECT version_id, version_number, text_sha256
FROM versions WHERE document_id = %(document)s ORDER BY version_number DESC LIMIT 1

-- name: version_row
SELECT version_id, version_number, text_sha256, text, declaration, stated_date,
       extractor_version
FROM versions WHERE version_id = %(version)s

-- name: insert_version
INSERT INTO versions (document_id, version_number, text, text_sha256, first_seen_at,
    last_seen_at, check_id, raw_sha256, extractor_version, declaration, stated_date)
VALUES (%(document)s, %(number)s, %(text)s, %(text_sha256)s, %(first_seen)s,
    %(last_seen)s, %(check)s, %(raw)s, %(extractor)s, %(declaration)s, %(stated)s)
RETURNING version_id

-- name: version_captures
SELECT p.raw_sha256, c.content_type
FROM versions v JOIN all_check_pages p ON p.check_id = v.check_id
JOIN captures c ON c.raw_sha256 = p.raw_sha256
WHERE v.version_id = %(version)s ORDER BY p.position

-- name: insert_change
INSERT INTO changes (document_id, from_version_id, to_version_id, check_id, detected_at,
    chars_added, chars_removed, diff, kind, kind_reason, verified, verified_at,
    verified_check_id, silent, date_only)
VALUES (%(document)s, %(from_version)s, %(to_version)s, %(check)s, %(detected)s,
    %(added)s, %(removed)s, %(diff)s, %(kind)s, %(reason)s, %(verified)s,
    %(verified_at)s, %(verified_check)s, %(silent)s, %(date_only)s)
RETURNING change_id

-- name: version_seen_again
-- A check saw the current version again: it extends the version's life.
UPDATE versions SET last_seen_at = %(seen)s
WHERE version_id = %(version)s AND last_seen_at < %(seen)s

-- name: archive_pending
UPDATE versions SET archive_status = 'pending' WHERE version_id = %(version)s

-- name: archive_outcome
UPDATE versions SET archive_status = %(status)s, archive_url = coalesce(%(url)s, archive_url),
    archive_detail = %(detail)s
WHERE version_id = %(version)s

-- name: versions_to_archive
SELECT v.version_id, d.url FROM versions v JOIN documents d USING (document_id)
WHERE v.archive_status IN ('pending', 'failed') ORDER BY v.version_id

-- name: version_with_text
-- The document's latest version with this text, if any.
SELECT version_id, version_number FROM versions
WHERE document_id = %(document)s AND text_sha256 = %(text_sha256)s
ORDER BY version_number DESC LIMIT 1

-- name: version_seen_earlier
-- A capture older than any seen of this version (an archive imported late).
UPDATE versions SET first_seen_at = %(seen)s
WHERE version_id = %(version)s AND first_seen_at > %(seen)s

-- name: check_made_at
-- A check of this document made at this very time by this crawl: after a connection
-- lost during a commit, whether the commit landed.
SELECT k.check_id, k.outcome, k.version_id FROM checks k
JOIN documents d USING (document_id) JOIN platforms p USING (platform_id)
WHERE p.name = %(platform)s AND d.document_type = %(document_type)s
  AND k.checked_at = %(checked)s AND k.crawl_id IS NOT DISTINCT FROM %(crawl)s
ORDER BY k.check_id DESC LIMIT 1

-- name: lock_ledger
-- Held until commit: ledger positions are handed out in commit order (0x6c6564676572 is
-- "ledger"), so a checkpoint never covers a position a later commit fills. Waited for at
-- most 10 s: a session that died holding it must not stall every recording.
SET LOCAL lock_timeout = '10s';
SELECT pg_advisory_xact_lock(119165806733682)

-- name: append_ledger
-- The transaction's entries, in order, after the last position (under lock_ledger); a
-- check following the last run of checks extends it (migration 028).
SELECT ledger_append(%(kinds)s::text[], %(records)s::bigint[], %(leaves)s::bytea[])
