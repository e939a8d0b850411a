-- Watches and alerts (issue 15). A watch names what is watched (a platform, a document,
-- a provision or a clause type) and where its alerts go; a notification is one change
-- for one watch, written in the change's own transaction (an outbox: a crash between
-- recording and delivering loses nothing) and delivered by `atlas-crawl notify`.

CREATE TABLE watches (
    watch_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target       text NOT NULL,               -- as written: platform:LinkedIn, type:ai-training
    target_kind  text NOT NULL CHECK (target_kind IN ('platform', 'document', 'provision', 'type')),
    platform_id  bigint REFERENCES platforms,
    document_id  bigint REFERENCES documents,
    provision_id bigint REFERENCES provision_records,
    clause_type  text,
    min_severity text CHECK (min_severity IN ('low', 'medium', 'high')),
    technical    boolean NOT NULL DEFAULT false,  -- technical changes count too
    channel      text NOT NULL CHECK (channel IN ('webhook', 'email', 'apprise', 'atom')),
    destination  text NOT NULL,               -- URL, address, Apprise URL or feed name
    secret       text,                        -- webhook: HMAC-SHA256 key
    created_at   timestamptz NOT NULL DEFAULT now(),
    removed_at   timestamptz,
    CHECK (target_kind <> 'platform' OR platform_id IS NOT NULL),
    CHECK (target_kind <> 'document' OR document_id IS NOT NULL),
    CHECK (target_kind <> 'provision' OR provision_id IS NOT NULL),
    CHECK (target_kind <> 'type' OR clause_type IS NOT NULL)
);

CREATE TABLE notifications (
    notification_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_id       bigint NOT NULL REFERENCES changes,
    watch_id        bigint NOT NULL REFERENCES watches,
    -- What receivers deduplicate on: the change's record ID and the watch, the same on
    -- every retry ("AC-C-000012/W-3").
    idempotency_key text NOT NULL UNIQUE,
    severity        text CHECK (severity IN ('low', 'medium', 'high')),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (change_id, watch_id)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_watch ON notifications (watch_id);
