-- Where each document stands, kept as it is written: its last check, its last check that
-- did not fail, the streak of failures since, its latest version and last change. The
-- status, the crawl plan's overview and the web view's home and platform pages read one
-- row per document instead of looking each one up in a history of millions of checks.
-- Derived data, maintained by the database itself (the triggers below), whoever writes
-- the history: the recorder, an import, a bulk load.
CREATE TABLE document_heads (
    document_id           bigint PRIMARY KEY REFERENCES documents,
    last_check_id         bigint,
    last_checked_at       timestamptz,
    last_outcome          text,
    last_success_check_id bigint,        -- the last check whose outcome is not 'failed'
    last_success_at       timestamptz,
    failing_checks        integer NOT NULL DEFAULT 0,   -- failed checks after it
    failing_since         timestamptz,
    last_version_id       bigint,
    last_change_id        bigint,
    last_changed_at       timestamptz
) WITH (fillfactor = 50);  -- each check rewrites its row: room for the new one in place

-- Today's provisions are those of the documents' latest versions.
CREATE INDEX document_heads_last_version ON document_heads (last_version_id);

INSERT INTO document_heads
SELECT d.document_id, k.check_id, k.checked_at, k.outcome, ok.check_id, ok.checked_at,
       coalesce(s.failing_checks, 0), s.failing_since, v.version_id, c.change_id,
       c.detected_at
FROM documents d
LEFT JOIN LATERAL (
    SELECT check_id, checked_at, outcome FROM checks
    WHERE document_id = d.document_id ORDER BY check_id DESC LIMIT 1) k ON true
LEFT JOIN LATERAL (
    SELECT check_id, checked_at FROM checks
    WHERE document_id = d.document_id AND outcome <> 'failed'
    ORDER BY check_id DESC LIMIT 1) ok ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS failing_checks, min(checked_at) AS failing_since FROM checks f
    WHERE f.document_id = d.document_id AND f.outcome = 'failed'
      AND f.check_id > coalesce(ok.check_id, 0)) s ON true
LEFT JOIN LATERAL (
    SELECT version_id FROM versions
    WHERE document_id = d.document_id ORDER BY version_number DESC LIMIT 1) v ON true
LEFT JOIN LATERAL (
    SELECT change_id, detected_at FROM changes
    WHERE document_id = d.document_id ORDER BY change_id DESC LIMIT 1) c ON true;

-- New checks, a statement at a time (a COPY of thousands as one set): per document, the
-- last of them, the last that did not fail, and the failures after that. One sort of the
-- new rows (a window and a grouping), never a join of them with themselves: the
-- transition table has no statistics, and a nested loop over 10,000 rows took seconds.
CREATE FUNCTION document_heads_checks_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH marked AS (
        SELECT document_id, check_id, checked_at, outcome,
               max(check_id) FILTER (WHERE outcome <> 'failed')
                   OVER (PARTITION BY document_id) AS ok_id
        FROM added),
    per_document AS (
        SELECT document_id,
               max(check_id) AS last_id,
               (array_agg(checked_at ORDER BY check_id DESC))[1] AS last_at,
               (array_agg(outcome ORDER BY check_id DESC))[1] AS last_outcome,
               max(ok_id) AS ok_id,
               min(checked_at) FILTER (WHERE check_id = ok_id) AS ok_at,
               count(*) FILTER (WHERE outcome = 'failed' AND check_id > coalesce(ok_id, 0))
                   AS failures,
               min(checked_at) FILTER (WHERE outcome = 'failed'
                                         AND check_id > coalesce(ok_id, 0)) AS failing_since
        FROM marked GROUP BY document_id)
    INSERT INTO document_heads AS h (document_id, last_check_id, last_checked_at,
        last_outcome, last_success_check_id, last_success_at, failing_checks, failing_since)
    SELECT document_id, last_id, last_at, last_outcome, ok_id, ok_at, failures, failing_since
    FROM per_document
    ON CONFLICT (document_id) DO UPDATE SET
        last_check_id = EXCLUDED.last_check_id,
        last_checked_at = EXCLUDED.last_checked_at,
        last_outcome = EXCLUDED.last_outcome,
        last_success_check_id = coalesce(EXCLUDED.last_success_check_id,
                                         h.last_success_check_id),
        last_success_at = CASE WHEN EXCLUDED.last_success_check_id IS NULL
                               THEN h.last_success_at ELSE EXCLUDED.last_success_at END,
        failing_checks = CASE WHEN EXCLUDED.last_success_check_id IS NULL
                              THEN h.failing_checks + EXCLUDED.failing_checks
                              ELSE EXCLUDED.failing_checks END,
        failing_since = CASE WHEN EXCLUDED.last_success_check_id IS NULL
                             THEN least(h.failing_since, EXCLUDED.failing_since)
                             ELSE EXCLUDED.failing_since END
    WHERE h.last_check_id IS NULL OR h.last_check_id < EXCLUDED.last_check_id;
    RETURN NULL;
END $$;

CREATE TRIGGER document_heads_checks_added AFTER INSERT ON checks
REFERENCING NEW TABLE AS added FOR EACH STATEMENT
EXECUTE FUNCTION document_heads_checks_added();

-- A candidate resolved (changed, unconfirmed) is still the document's last check.
CREATE FUNCTION document_heads_outcome_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE document_heads SET last_outcome = NEW.outcome
    WHERE document_id = NEW.document_id AND last_check_id = NEW.check_id;
    RETURN NULL;
END $$;

CREATE TRIGGER document_heads_outcome_set AFTER UPDATE OF outcome ON checks
FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
EXECUTE FUNCTION document_heads_outcome_set();

CREATE FUNCTION document_heads_version_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_heads AS h (document_id, last_version_id)
    VALUES (NEW.document_id, NEW.version_id)
    ON CONFLICT (document_id) DO UPDATE SET last_version_id = EXCLUDED.last_version_id
    WHERE h.last_version_id IS NULL
       OR (SELECT version_number FROM versions WHERE version_id = h.last_version_id)
          < NEW.version_number;
    RETURN NULL;
END $$;

CREATE TRIGGER document_heads_version_added AFTER INSERT ON versions
FOR EACH ROW EXECUTE FUNCTION document_heads_version_added();

CREATE FUNCTION document_heads_change_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_heads AS h (document_id, last_change_id, last_changed_at)
    VALUES (NEW.document_id, NEW.change_id, NEW.detected_at)
    ON CONFLICT (document_id) DO UPDATE SET last_change_id = EXCLUDED.last_change_id,
                                            last_changed_at = EXCLUDED.last_changed_at
    WHERE h.last_change_id IS NULL OR h.last_change_id < EXCLUDED.last_change_id;
    RETURN NULL;
END $$;

CREATE TRIGGER document_heads_change_added AFTER INSERT ON changes
FOR EACH ROW EXECUTE FUNCTION document_heads_change_added();
