-- Named queries of e-mail subscriptions made from the web view (atlas_crawl/alerts/
-- subscriptions.py): pending watches, their confirmation, unsubscribing, and the
-- messages the hourly limits count.

-- name: messages_sent_since
SELECT (SELECT count(*) FROM subscription_messages
        WHERE address = %(address)s AND sent_at > %(since)s) AS to_address,
       (SELECT count(*) FROM subscription_messages
        WHERE client = %(client)s AND sent_at > %(since)s) AS from_client

-- name: note_message
INSERT INTO subscription_messages (kind, address, client)
VALUES (%(kind)s, %(address)s, %(client)s)

-- name: live_subscription
-- The address's watch of this target (with this minimum severity), if any is live.
SELECT watch_id, state, confirm_expires_at FROM watches
WHERE channel = 'email' AND destination = %(address)s AND removed_at IS NULL
  AND target = %(target)s AND min_severity IS NOT DISTINCT FROM %(min_severity)s
ORDER BY watch_id DESC LIMIT 1
FOR UPDATE

-- name: add_pending_subscription
INSERT INTO watches (target, target_kind, platform_id, document_id, provision_id, clause_type,
                     min_severity, channel, destination, state, origin, confirm_sha256,
                     confirm_expires_at)
VALUES (%(target)s, %(kind)s, %(platform)s, %(document)s, %(provision)s, %(clause_type)s,
        %(min_severity)s, 'email', %(address)s, 'pending', 'web', %(token_sha256)s,
        %(expires_at)s)
RETURNING watch_id

-- name: renew_pending_subscription
UPDATE watches SET confirm_sha256 = %(token_sha256)s, confirm_expires_at = %(expires_at)s
WHERE watch_id = %(watch)s AND state = 'pending'

-- name: subscription_by_token
SELECT watch_id, state, target, destination, confirm_expires_at, removed_at
FROM watches WHERE confirm_sha256 = %(token_sha256)s
FOR UPDATE

-- name: confirm_subscription
UPDATE watches SET state = 'active', confirmed_at = now()
WHERE watch_id = %(watch)s AND state = 'pending'

-- name: subscription
SELECT watch_id, state, target, destination, removed_at FROM watches
WHERE watch_id = %(watch)s AND channel = 'email'

-- name: unsubscribe
UPDATE watches SET removed_at = now() WHERE watch_id = %(watch)s AND removed_at IS NULL

-- name: subscriptions_of
SELECT watch_id, target, min_severity, state, created_at, confirm_expires_at FROM watches
WHERE channel = 'email' AND destination = %(address)s AND removed_at IS NULL
  AND (state = 'active' OR confirm_expires_at > now())
ORDER BY watch_id

-- name: drop_pending_alerts
-- An unsubscribed watch's alerts not yet sent are never sent.
UPDATE notifications SET status = 'dead', last_error = 'unsubscribed'
WHERE watch_id = %(watch)s AND status = 'pending'
