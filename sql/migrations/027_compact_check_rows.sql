-- A routine recheck's row narrowed further, the columns a crawl repeats on every check:
-- * its outcome as an enum (4 bytes, not up to 12 of text);
-- * its requested URL, crawl ID and fetcher as keys into check_labels, where each
--   distinct text is stored once: a document's URL is requested at every check, a
--   crawl's 32-digit ID is shared by every check of the crawl, a fetcher names the
--   same browser build for months;
-- * captured_at only where it differs from checked_at (a fetch records both at once);
-- * a routine check's raw and text hashes only where they differ from its version's: a
--   routine recheck sees its version's page again, whose hashes the version row already
--   holds (check_hash, check_hash_text below). A kept check (one that versions and
--   changes cite) keeps its own: it is the witness `verify` holds each version against,
--   so a version rewritten with its own hash is still told apart from what was fetched.
-- The view `checks` reads every column as before (same names, same text), so `verify`,
-- the archives' exports, citations and a user's SQL see the same rows; writes to it go
-- through the triggers below, as since migration 026. The rows keep their partitions,
-- keys and check IDs; every hash stays the same.

DROP VIEW IF EXISTS atlas_read.all_check_pages, atlas_read.document_status,
    atlas_read.document_checks, atlas_read.document_flapping, atlas_read.document_changes,
    atlas_read.checks;
DROP VIEW IF EXISTS all_check_pages, document_status, document_checks, document_flapping,
    document_changes;
DROP VIEW checks;  -- a view of a user's own over checks stops the upgrade, by its name
DROP FUNCTION checks_view_insert(), checks_view_update();

CREATE TYPE check_outcome AS ENUM ('first', 'unchanged', 'changed', 'failed', 'candidate',
                                   'unconfirmed');

CREATE TABLE check_labels (
    label_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label    text NOT NULL UNIQUE
);

-- The key of a label, made the first time it is written. Two statements, so that a
-- label another transaction has just committed is seen (READ COMMITTED: each statement
-- of a function takes a new snapshot).
CREATE FUNCTION check_label(value text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    key integer;
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT label_id INTO key FROM check_labels WHERE label = value;
    IF key IS NULL THEN
        INSERT INTO check_labels (label) VALUES (value) ON CONFLICT (label) DO NOTHING
        RETURNING label_id INTO key;
    END IF;
    IF key IS NULL THEN
        SELECT label_id INTO key FROM check_labels WHERE label = value;
    END IF;
    RETURN key;
END
$$;

-- A check's raw or text hash as stored: NULL where it is its version's (version_hash
-- given for a routine check alone), one zero byte where the check has none (no UTF-8
-- text is a zero byte), else as migration 026 keeps it.
CREATE FUNCTION check_hash(hash text, version_hash text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN hash IS NULL THEN '\x00'::bytea
            WHEN hash = version_hash THEN NULL
            ELSE hash_bytes(hash) END;

CREATE FUNCTION check_hash_text(stored bytea, version_hash text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN stored IS NULL THEN version_hash
            WHEN stored = '\x00'::bytea THEN NULL
            ELSE hash_text(stored) END;

-- The upgrade's own lookups: every label is made before the rows are rewritten.
CREATE FUNCTION pg_temp.label_key(value text) RETURNS integer
LANGUAGE sql STABLE
RETURN (SELECT label_id FROM check_labels WHERE label = value);
CREATE FUNCTION pg_temp.version_raw(version bigint) RETURNS text
LANGUAGE sql STABLE
RETURN (SELECT raw_sha256 FROM versions WHERE version_id = version);
CREATE FUNCTION pg_temp.version_text(version bigint) RETURNS text
LANGUAGE sql STABLE
RETURN (SELECT text_sha256 FROM versions WHERE version_id = version);

INSERT INTO check_labels (label)
SELECT DISTINCT label
FROM check_store, unnest(ARRAY[requested_url, crawl_id, fetcher]) AS label
WHERE label IS NOT NULL
ORDER BY label;

-- The outcome's checks name it as text: made again for the enum after the rewrite.
DROP TRIGGER document_heads_outcome_set ON check_store;
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT conname FROM pg_constraint
                WHERE conrelid = 'check_store'::regclass AND contype = 'c' LOOP
        EXECUTE format('ALTER TABLE check_store DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;

ALTER TABLE check_store ALTER COLUMN captured_at DROP NOT NULL;
ALTER TABLE check_store
    ALTER COLUMN captured_at TYPE timestamptz USING nullif(captured_at, checked_at),
    ALTER COLUMN outcome TYPE check_outcome USING outcome::check_outcome,
    ALTER COLUMN requested_url TYPE integer USING pg_temp.label_key(requested_url),
    ALTER COLUMN crawl_id TYPE integer USING pg_temp.label_key(crawl_id),
    ALTER COLUMN fetcher TYPE integer USING pg_temp.label_key(fetcher),
    ALTER COLUMN raw_sha256 TYPE bytea USING check_hash(hash_text(raw_sha256),
        CASE WHEN NOT kept THEN pg_temp.version_raw(version_id) END),
    ALTER COLUMN text_sha256 TYPE bytea USING check_hash(hash_text(text_sha256),
        CASE WHEN NOT kept THEN pg_temp.version_text(version_id) END);
ALTER TABLE check_store RENAME COLUMN requested_url TO requested_url_label;
ALTER TABLE check_store RENAME COLUMN crawl_id TO crawl_label;
ALTER TABLE check_store RENAME COLUMN fetcher TO fetcher_label;
ALTER TABLE check_store
    ADD CONSTRAINT check_store_requested_url_label_fkey
        FOREIGN KEY (requested_url_label) REFERENCES check_labels,
    ADD CONSTRAINT check_store_crawl_label_fkey
        FOREIGN KEY (crawl_label) REFERENCES check_labels,
    ADD CONSTRAINT check_store_fetcher_label_fkey
        FOREIGN KEY (fetcher_label) REFERENCES check_labels,
    ADD CONSTRAINT check_store_failure CHECK ((outcome = 'failed') = (failure_reason IS NOT NULL)),
    ADD CONSTRAINT check_store_review
        CHECK (review_reason IS NULL OR outcome IN ('candidate', 'changed', 'unconfirmed')),
    ADD CONSTRAINT check_store_routine
        CHECK (kept OR (outcome IN ('unchanged', 'failed') AND verifies_check_id IS NULL));

CREATE TRIGGER document_heads_outcome_set AFTER UPDATE OF outcome ON check_store
FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
EXECUTE FUNCTION document_heads_outcome_set();

-- Each label and the version are joined only where a query reads them (a left join on
-- a unique key that nothing reads is removed by the planner).
CREATE VIEW checks AS
SELECT c.check_id, c.document_id, c.checked_at, coalesce(c.captured_at, c.checked_at)
           AS captured_at, c.outcome::text AS outcome, c.failure_reason, c.failure_detail,
       u.label AS requested_url, c.final_url, c.http_status, c.response_headers,
       f.label AS fetcher, c.user_agent, check_hash_text(c.raw_sha256, v.raw_sha256)
           AS raw_sha256, check_hash_text(c.text_sha256, v.text_sha256) AS text_sha256,
       c.version_id, r.label AS crawl_id,
       hash_text(c.evidence_hash) AS evidence_hash,
       hash_text(c.previous_evidence_hash) AS previous_evidence_hash, c.warc_digest,
       c.verifies_check_id, c.source_ref, c.review_reason, c.review_detail, c.kept,
       c.verifies_kept
FROM check_store c
LEFT JOIN check_labels u ON u.label_id = c.requested_url_label
LEFT JOIN check_labels f ON f.label_id = c.fetcher_label
LEFT JOIN check_labels r ON r.label_id = c.crawl_label
LEFT JOIN versions v ON v.version_id = c.version_id;
ALTER VIEW checks ALTER COLUMN check_id SET DEFAULT nextval('check_ids');

CREATE FUNCTION checks_view_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO check_store (check_id, document_id, checked_at, captured_at, outcome,
        failure_reason, failure_detail, requested_url_label, final_url, http_status,
        response_headers, fetcher_label, user_agent, raw_sha256, text_sha256, version_id,
        crawl_label, evidence_hash, previous_evidence_hash, warc_digest, verifies_check_id,
        source_ref, review_reason, review_detail, kept)
    VALUES (NEW.check_id, NEW.document_id, NEW.checked_at,
        nullif(NEW.captured_at, NEW.checked_at), NEW.outcome::check_outcome,
        NEW.failure_reason, NEW.failure_detail, check_label(NEW.requested_url),
        NEW.final_url, NEW.http_status, NEW.response_headers, check_label(NEW.fetcher),
        NEW.user_agent,
        check_hash(NEW.raw_sha256, (SELECT raw_sha256 FROM versions
                                    WHERE version_id = NEW.version_id AND NOT NEW.kept)),
        check_hash(NEW.text_sha256, (SELECT text_sha256 FROM versions
                                     WHERE version_id = NEW.version_id AND NOT NEW.kept)),
        NEW.version_id, check_label(NEW.crawl_id), hash_bytes(NEW.evidence_hash),
        hash_bytes(NEW.previous_evidence_hash), NEW.warc_digest, NEW.verifies_check_id,
        NEW.source_ref, NEW.review_reason, NEW.review_detail, NEW.kept)
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
        checked_at = NEW.checked_at, captured_at = nullif(NEW.captured_at, NEW.checked_at),
        outcome = NEW.outcome::check_outcome, failure_reason = NEW.failure_reason,
        failure_detail = NEW.failure_detail,
        requested_url_label = check_label(NEW.requested_url), final_url = NEW.final_url,
        http_status = NEW.http_status, response_headers = NEW.response_headers,
        fetcher_label = check_label(NEW.fetcher), user_agent = NEW.user_agent,
        raw_sha256 = check_hash(NEW.raw_sha256, (SELECT raw_sha256 FROM versions
                                WHERE version_id = NEW.version_id AND NOT NEW.kept)),
        text_sha256 = check_hash(NEW.text_sha256, (SELECT text_sha256 FROM versions
                                 WHERE version_id = NEW.version_id AND NOT NEW.kept)),
        version_id = NEW.version_id, crawl_label = check_label(NEW.crawl_id),
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

-- A view with joins is not updatable of itself: a delete names the stored row.
CREATE FUNCTION checks_view_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM check_store WHERE check_id = OLD.check_id AND kept = OLD.kept;
    RETURN OLD;
END
$$;
CREATE TRIGGER checks_view_delete INSTEAD OF DELETE ON checks
FOR EACH ROW EXECUTE FUNCTION checks_view_delete();

ANALYZE check_store;
