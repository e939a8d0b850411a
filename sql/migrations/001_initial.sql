-- atlas-crawl schema, version 1. Forward-only: never edit a released migration, add one.
-- Times are timestamptz in UTC; hashes are lowercase hex SHA-256.

CREATE TABLE platforms (
    platform_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name <> ''),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    document_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id   bigint NOT NULL REFERENCES platforms,
    document_type text NOT NULL CHECK (document_type <> ''),
    url           text NOT NULL,
    declaration   jsonb NOT NULL,          -- the rules in force at the latest check
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform_id, document_type)
);

-- Raw response bodies, content-addressed: the same bytes are stored once.
CREATE TABLE captures (
    raw_sha256      text PRIMARY KEY CHECK (raw_sha256 ~ '^[0-9a-f]{64}$'),
    size            bigint NOT NULL,
    compression     text NOT NULL CHECK (compression IN ('zstd', 'none')),
    body            bytea NOT NULL,
    content_type    text NOT NULL DEFAULT '',
    first_stored_at timestamptz NOT NULL DEFAULT now()
);

-- One row per check of a document, successful or not: the evidence.
CREATE TABLE checks (
    check_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id     bigint NOT NULL REFERENCES documents,
    checked_at      timestamptz NOT NULL,   -- when the crawler fetched (UTC)
    captured_at     timestamptz NOT NULL,   -- what the capture stands for (Memento-Datetime, else checked_at)
    outcome         text NOT NULL CHECK (outcome IN ('first', 'unchanged', 'changed', 'failed')),
    failure_reason  text,
    failure_detail  text,
    requested_url   text NOT NULL,
    final_url       text,
    http_status     integer,
    response_headers jsonb,
    fetcher         text NOT NULL,           -- 'http' or 'browser <name> <version>'
    user_agent      text,
    raw_sha256      text,                    -- of the body; of the pages' hashes when combined
    text_sha256     text,
    version_id      bigint,                  -- the version this check made or saw
    crawl_id        text,
    CHECK ((outcome = 'failed') = (failure_reason IS NOT NULL))
);
CREATE INDEX checks_document_time ON checks (document_id, checked_at);

-- Every page fetched for a check (several for a combined document).
CREATE TABLE check_pages (
    check_id        bigint NOT NULL REFERENCES checks ON DELETE CASCADE,
    position        integer NOT NULL,
    requested_url   text NOT NULL,
    final_url       text,
    http_status     integer,
    response_headers jsonb,
    raw_sha256      text REFERENCES captures,
    PRIMARY KEY (check_id, position)
);
CREATE INDEX check_pages_capture ON check_pages (raw_sha256);

CREATE TABLE versions (
    version_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id       bigint NOT NULL REFERENCES documents,
    version_number    integer NOT NULL CHECK (version_number > 0),
    text              text NOT NULL CHECK (text <> ''),
    text_sha256       text NOT NULL CHECK (text_sha256 ~ '^[0-9a-f]{64}$'),
    first_seen_at     timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    check_id          bigint NOT NULL REFERENCES checks,   -- the check it was extracted from
    raw_sha256        text NOT NULL REFERENCES captures,   -- the capture it was extracted from
    extractor_version text NOT NULL,
    declaration       jsonb NOT NULL,                      -- the rules it was extracted with
    UNIQUE (document_id, version_number)
);

ALTER TABLE checks ADD FOREIGN KEY (version_id) REFERENCES versions DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE changes (
    change_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id     bigint NOT NULL REFERENCES documents,
    from_version_id bigint NOT NULL REFERENCES versions,
    to_version_id   bigint NOT NULL UNIQUE REFERENCES versions,
    check_id        bigint NOT NULL REFERENCES checks,
    detected_at     timestamptz NOT NULL,
    chars_added     integer NOT NULL,
    chars_removed   integer NOT NULL,
    diff            text NOT NULL             -- diff-match-patch patch text, old -> new
);
CREATE INDEX changes_detected ON changes (detected_at);
