-- Named queries of watches and alerts (atlas_crawl/storage/watches.py, outbox.py and
-- atlas_crawl/alerts/).

-- name: queue_notifications
-- The notifications of one change, in its transaction: one per live watch it concerns.
-- The change's severity is the worst severity among the provisions it touched (their
-- new text, or the old one for a provision removed), as the latest classifier that read
-- each text found; a type watch counts only its type, and counts no mere move.
WITH ch AS (
    SELECT c.change_id, c.record_id, c.document_id, d.platform_id,
           c.kind = 'technical' AS technical
    FROM changes c JOIN documents d USING (document_id)
    WHERE c.change_id = %(change)s),
touched AS (
    SELECT e.provision_id, e.kind, lt.clause_type,
           severity_rank(lt.severity) AS rank, false AS before
    FROM provision_edits e
    LEFT JOIN latest_clause_types lt ON lt.text_sha256 = coalesce(e.to_sha256, e.from_sha256)
    WHERE e.change_id = %(change)s
    UNION ALL
    -- The old text's types, for the watches that ask for relief too (migration 016): a
    -- clause removed, lowered, or no longer of the type counts as it was.
    SELECT e.provision_id, e.kind, lt.clause_type, severity_rank(lt.severity), true
    FROM provision_edits e
    JOIN latest_clause_types lt ON lt.text_sha256 = e.from_sha256
    WHERE e.change_id = %(change)s AND e.from_sha256 IS NOT NULL),
matched AS (
    SELECT w.watch_id, w.min_severity, w.target_kind,
           (SELECT max(t.rank) FROM touched t
            WHERE (NOT t.before OR w.lowered)
              AND (w.target_kind <> 'provision' OR t.provision_id = w.provision_id)
              AND (w.target_kind <> 'type' OR (t.clause_type = w.clause_type
                                               AND t.kind <> 'moved'))) AS rank
    FROM ch JOIN watches w ON w.removed_at IS NULL AND w.state = 'active'
                          AND (NOT ch.technical OR w.technical)
    WHERE (w.target_kind = 'platform' AND w.platform_id = ch.platform_id)
       OR (w.target_kind = 'document' AND w.document_id = ch.document_id)
       OR (w.target_kind = 'provision'
           AND EXISTS (SELECT 1 FROM touched t WHERE t.provision_id = w.provision_id))
       OR (w.target_kind = 'type'
           AND EXISTS (SELECT 1 FROM touched t
                       WHERE t.clause_type = w.clause_type AND t.kind <> 'moved'
                         AND (NOT t.before OR w.lowered))))
INSERT INTO notifications (change_id, watch_id, idempotency_key, severity)
SELECT ch.change_id, m.watch_id, ch.record_id || '/W-' || m.watch_id,
       (ARRAY['low', 'medium', 'high'])[m.rank + 1]
FROM ch CROSS JOIN matched m
-- A type watch without a minimum wants what matters: medium or high.
WHERE coalesce(m.rank, -1) >= coalesce(severity_rank(coalesce(
          m.min_severity, CASE m.target_kind WHEN 'type' THEN 'medium' END)), -1)
ON CONFLICT (change_id, watch_id) DO NOTHING
RETURNING notification_id

-- name: insert_watch
INSERT INTO watches (target, target_kind, platform_id, document_id, provision_id,
                     clause_type, min_severity, technical, channel, destination, secret,
                     lowered)
VALUES (%(target)s, %(kind)s, %(platform)s, %(document)s, %(provision)s, %(clause_type)s,
        %(min_severity)s, %(technical)s, %(channel)s, %(destination)s, %(secret)s,
        %(lowered)s)
RETURNING watch_id

-- name: list_watches
SELECT w.watch_id, w.target, w.min_severity, w.technical, w.channel, w.destination,
       w.created_at, w.lowered, w.origin,
       CASE WHEN w.state = 'active' THEN 'active'
            WHEN w.confirm_expires_at < now() THEN 'expired'
            ELSE 'awaiting confirmation' END AS state,
       count(n.*) FILTER (WHERE n.status = 'pending')   AS pending,
       count(n.*) FILTER (WHERE n.status = 'delivered') AS delivered,
       count(n.*) FILTER (WHERE n.status = 'dead')      AS dead
FROM watches w LEFT JOIN notifications n USING (watch_id)
WHERE w.removed_at IS NULL
GROUP BY w.watch_id, w.target, w.min_severity, w.technical, w.channel, w.destination,
         w.created_at, w.lowered, w.origin, w.state, w.confirm_expires_at
ORDER BY w.watch_id

-- name: watch_channels
-- Where each watch delivers (for a test alert).
SELECT watch_id, target, channel, destination, secret
FROM watches WHERE removed_at IS NULL ORDER BY watch_id

-- name: remove_watch
UPDATE watches SET removed_at = now() WHERE watch_id = %(watch)s AND removed_at IS NULL
RETURNING watch_id

-- name: drop_pending_of_watch
UPDATE notifications SET status = 'dead', last_error = 'watch removed'
WHERE watch_id = %(watch)s AND status = 'pending'

-- name: claim_notifications
-- Due notifications, locked for this process only: another notify skips them.
SELECT n.notification_id, n.change_id, n.watch_id, n.idempotency_key, n.attempts,
       w.channel, w.destination, w.secret, w.target
FROM notifications n JOIN watches w USING (watch_id)
WHERE n.status = 'pending' AND n.next_attempt_at <= %(due)s
ORDER BY n.change_id, n.notification_id  -- a change's alerts together: one summary
LIMIT %(limit)s
FOR UPDATE OF n SKIP LOCKED

-- name: mark_delivered
UPDATE notifications SET status = 'delivered', delivered_at = now(),
       attempts = attempts + 1, last_error = NULL
WHERE notification_id = ANY(%(ids)s::bigint[])

-- name: mark_failed
UPDATE notifications
SET attempts = attempts + 1, last_error = %(error)s,
    status = CASE WHEN attempts + 1 >= %(max_attempts)s THEN 'dead' ELSE 'pending' END,
    next_attempt_at = now() + make_interval(secs => %(delay)s)
WHERE notification_id = %(id)s

-- name: retry_dead
UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = now()
WHERE status = 'dead' AND (%(id)s::bigint IS NULL OR notification_id = %(id)s)
  AND EXISTS (SELECT 1 FROM watches w WHERE w.watch_id = notifications.watch_id
              AND w.removed_at IS NULL)
RETURNING notification_id

-- name: feed_entries
-- The latest changes a feed's watches were notified of, newest first.
SELECT DISTINCT ON (n.change_id) n.change_id, n.created_at
FROM notifications n JOIN watches w USING (watch_id)
WHERE w.channel = 'atom' AND w.destination = %(feed)s AND n.status <> 'dead'
ORDER BY n.change_id DESC
LIMIT %(limit)s

-- name: summary_change
-- Each change named (a feed's twenty in one query).
SELECT c.change_id, c.record_id, c.platform, c.document_type, c.url, c.detected_at,
       c.kind, c.kind_reason, c.silent, c.date_only, c.chars_added, c.chars_removed,
       c.verified, old.stated_date AS old_stated_date, new.stated_date AS new_stated_date,
       old.text AS old_text, new.text AS new_text, new.record_id AS version_record_id,
       new.raw_sha256 AS capture_sha256, new.archive_url, new.version_number,
       c.document_record_id, c.review_reason, c.review_detail, c.from_version_id,
       c.to_version_id
FROM document_changes c
JOIN versions old ON old.version_id = c.from_version_id
JOIN versions new ON new.version_id = c.to_version_id
WHERE c.change_id = ANY(%(changes)s::bigint[])

-- name: summary_provisions
-- The provisions a change touched, in the new version's order (removed ones last), each
-- with the types of its text (the new one; the old one when removed); for each change
-- named.
SELECT pc.change_id, pc.record_id, pc.kind, pc.related_record_id, pc.from_text, pc.to_text,
       coalesce(vp.heading, old_vp.heading, '') AS heading,
       coalesce((
           SELECT json_agg(json_build_object('type', lt.clause_type, 'severity', lt.severity)
                           ORDER BY severity_rank(lt.severity) DESC, lt.clause_type)
           FROM latest_clause_types lt
           WHERE lt.text_sha256 = coalesce(e.to_sha256, e.from_sha256)),
           '[]'::json) AS clause_types
FROM provision_changes pc
JOIN provision_edits e ON e.change_id = pc.change_id AND e.provision_id = pc.provision_id
LEFT JOIN version_provisions vp
       ON vp.version_id = pc.to_version_id AND vp.provision_id = pc.provision_id
LEFT JOIN version_provisions old_vp
       ON old_vp.version_id = pc.from_version_id AND old_vp.provision_id = pc.provision_id
WHERE pc.change_id = ANY(%(changes)s::bigint[])
ORDER BY pc.change_id, vp.position NULLS LAST, old_vp.position, pc.record_id

-- name: feed_changes
-- Content changes, newest first: what the platform, document, provision and type feeds hold.
SELECT change_id FROM changes WHERE kind <> 'technical'
ORDER BY detected_at DESC, change_id DESC LIMIT 5000

-- name: atom_feed_names
SELECT DISTINCT destination FROM watches
WHERE channel = 'atom' AND removed_at IS NULL ORDER BY destination
