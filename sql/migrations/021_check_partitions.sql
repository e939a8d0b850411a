-- Old history can move out. Checks are partitioned (declarative partitioning):
-- * checks_kept holds every check another record cites: a document's first check, a
--   check that found a new text (changed, candidate, unconfirmed), a re-fetch that
--   verified a candidate. Versions and changes reference these; they are never archived;
-- * checks_routine holds the routine rechecks and failures (most of the history), in
--   ranges of check IDs (1,000,000 by default, check_partitioning.span): IDs grow with
--   time, so a range is a stretch of weeks, and `atlas-crawl archive --before DATE`
--   detaches and exports the ranges checked wholly before DATE. checks_routine_later
--   takes any check beyond the ranges made so far (extend_check_partitions() makes them
--   ahead: at every upgrade, crawl and import);
-- * a check's ID stays unique through its sequence (the primary key is (check_id,
--   kept): PostgreSQL's unique keys on a partitioned table include its partition key),
--   and its source_ref through the recorder's per-document lock (no longer an index);
-- * what cites a check says it is a kept one (a constant column in the foreign key),
--   so no routine check can be cited and an archived range is never cited.
-- The rows are copied as they are: every hash, record ID and ledger entry stays the same.

CREATE SEQUENCE check_ids;
DO $$
BEGIN
    EXECUTE format('SELECT setval(''check_ids'', last_value, is_called) FROM %s',
                   pg_get_serial_sequence('checks', 'check_id'));
END
$$;

CREATE TABLE checks_partitioned (
    check_id         bigint NOT NULL DEFAULT nextval('check_ids'),
    document_id      bigint NOT NULL REFERENCES documents,
    checked_at       timestamptz NOT NULL,
    captured_at      timestamptz NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('first', 'unchanged', 'changed',
                                                      'failed', 'candidate', 'unconfirmed')),
    failure_reason   text,
    failure_detail   text,
    requested_url    text NOT NULL,
    final_url        text,
    http_status      integer,
    response_headers jsonb,
    fetcher          text NOT NULL,
    user_agent       text,
    raw_sha256       text,
    text_sha256      text,
    version_id       bigint,
    crawl_id         text,
    evidence_hash    text,
    previous_evidence_hash text,
    warc_digest      text,
    verifies_check_id bigint,
    source_ref       text,
    review_reason    text,
    review_detail    text,
    kept             boolean NOT NULL,   -- cited by other records: never archived
    -- true beside a re-fetch's candidate (which is kept), so the foreign key says so
    verifies_kept    boolean GENERATED ALWAYS AS (
                         CASE WHEN verifies_check_id IS NOT NULL THEN true END) STORED,
    CHECK ((outcome = 'failed') = (failure_reason IS NOT NULL)),
    CHECK (review_reason IS NULL OR outcome IN ('candidate', 'changed', 'unconfirmed')),
    CHECK (kept OR (outcome IN ('unchanged', 'failed') AND verifies_check_id IS NULL))
) PARTITION BY LIST (kept);
ALTER SEQUENCE check_ids OWNED BY checks_partitioned.check_id;

CREATE TABLE checks_kept PARTITION OF checks_partitioned FOR VALUES IN (true);
CREATE TABLE checks_routine PARTITION OF checks_partitioned FOR VALUES IN (false)
    PARTITION BY RANGE (check_id);
CREATE TABLE checks_routine_later PARTITION OF checks_routine DEFAULT;

-- The size of a routine range, in check IDs.
CREATE TABLE check_partitioning (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    span     bigint NOT NULL CHECK (span > 0)
);
INSERT INTO check_partitioning (span) VALUES (1000000);

-- Routine ranges up to two spans beyond the last check ID given. A range never takes in
-- rows already in checks_routine_later (those stay there, never archived): the next
-- range starts above them.
CREATE FUNCTION extend_check_partitions() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    span bigint := (SELECT p.span FROM check_partitioning p);
    last_id bigint := (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
                       FROM check_ids);
    low bigint;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('atlas-crawl check partitions'));
    SELECT coalesce(max((regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                      'TO \(''?(\d+)''?\)'))[1]::bigint), 1)
    INTO low
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'checks_routine'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT';
    low := greatest(low, coalesce((SELECT max(check_id) + 1 FROM checks_routine_later), 1));
    WHILE low <= last_id + 2 * span LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF checks_routine FOR VALUES FROM (%s) TO (%s)',
                       'checks_routine_' || low, low, low + span);
        low := low + span;
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- Which routine checks cite nothing yet are cited (none should be): kept all the same.
CREATE TEMPORARY TABLE cited_checks ON COMMIT DROP AS
SELECT check_id FROM versions UNION SELECT check_id FROM changes
UNION SELECT verified_check_id FROM changes WHERE verified_check_id IS NOT NULL
UNION SELECT verifies_check_id FROM checks WHERE verifies_check_id IS NOT NULL;
CREATE UNIQUE INDEX ON cited_checks (check_id);
ANALYZE cited_checks;

-- The ranges for the rows there are, then the copy.
DO $$
DECLARE
    span bigint := (SELECT p.span FROM check_partitioning p);
    top bigint := coalesce((SELECT max(check_id) FROM checks), 0);
    low bigint := 1;
BEGIN
    WHILE low <= top LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF checks_routine FOR VALUES FROM (%s) TO (%s)',
                       'checks_routine_' || low, low, low + span);
        low := low + span;
    END LOOP;
END
$$;

INSERT INTO checks_partitioned (check_id, document_id, checked_at, captured_at, outcome,
    failure_reason, failure_detail, requested_url, final_url, http_status, response_headers,
    fetcher, user_agent, raw_sha256, text_sha256, version_id, crawl_id, evidence_hash,
    previous_evidence_hash, warc_digest, verifies_check_id, source_ref, review_reason,
    review_detail, kept)
SELECT k.check_id, k.document_id, k.checked_at, k.captured_at, k.outcome, k.failure_reason,
    k.failure_detail, k.requested_url, k.final_url, k.http_status, k.response_headers,
    k.fetcher, k.user_agent, k.raw_sha256, k.text_sha256, k.version_id, k.crawl_id,
    k.evidence_hash, k.previous_evidence_hash, k.warc_digest, k.verifies_check_id,
    k.source_ref, k.review_reason, k.review_detail,
    NOT (k.outcome IN ('unchanged', 'failed') AND k.verifies_check_id IS NULL)
        OR c.check_id IS NOT NULL
FROM checks k LEFT JOIN cited_checks c USING (check_id);

-- check_pages say which kind of check they belong to, for their foreign key.
ALTER TABLE check_pages ADD COLUMN check_kept boolean;
UPDATE check_pages g SET check_kept = k.kept FROM checks_partitioned k
WHERE k.check_id = g.check_id;
ALTER TABLE check_pages ALTER COLUMN check_kept SET NOT NULL;

-- The readers' views are remade after the migrations (views.sql).
DROP TABLE checks CASCADE;
ALTER TABLE checks_partitioned RENAME TO checks;
ALTER TABLE checks ADD PRIMARY KEY (check_id, kept);
CREATE INDEX checks_document_check ON checks (document_id, check_id);
CREATE INDEX checks_source_ref ON checks (source_ref) WHERE source_ref IS NOT NULL;

-- What cites a check cites a kept one.
ALTER TABLE versions ADD COLUMN check_kept boolean NOT NULL DEFAULT true CHECK (check_kept);
ALTER TABLE changes ADD COLUMN check_kept boolean NOT NULL DEFAULT true CHECK (check_kept),
    ADD COLUMN verified_check_kept boolean NOT NULL DEFAULT true CHECK (verified_check_kept);
ALTER TABLE versions ADD FOREIGN KEY (check_id, check_kept) REFERENCES checks (check_id, kept);
ALTER TABLE changes ADD FOREIGN KEY (check_id, check_kept) REFERENCES checks (check_id, kept);
ALTER TABLE changes ADD FOREIGN KEY (verified_check_id, verified_check_kept)
    REFERENCES checks (check_id, kept);
ALTER TABLE checks ADD FOREIGN KEY (verifies_check_id, verifies_kept)
    REFERENCES checks (check_id, kept);
ALTER TABLE checks ADD FOREIGN KEY (version_id) REFERENCES versions
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE check_pages ADD FOREIGN KEY (check_id, check_kept)
    REFERENCES checks (check_id, kept) ON DELETE CASCADE;

-- The document heads' triggers (migration 020), on the new table.
CREATE TRIGGER document_heads_checks_added AFTER INSERT ON checks
REFERENCING NEW TABLE AS added FOR EACH STATEMENT
EXECUTE FUNCTION document_heads_checks_added();
CREATE TRIGGER document_heads_outcome_set AFTER UPDATE OF outcome ON checks
FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
EXECUTE FUNCTION document_heads_outcome_set();

-- Archived ranges: what left, where to, and what verification keeps of it.
CREATE TABLE check_archives (
    archive_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_check_id bigint NOT NULL,      -- the range of IDs it held: [first, end)
    end_check_id   bigint NOT NULL CHECK (end_check_id > first_check_id),
    checks         bigint NOT NULL,      -- routine checks it held
    pages          bigint NOT NULL,      -- their check_pages rows
    oldest_check   timestamptz,
    newest_check   timestamptz,
    files          jsonb NOT NULL,       -- {file name: SHA-256}: the export, in its folder
    archived_at    timestamptz NOT NULL DEFAULT now()
);

-- Each archived check a remaining check's hash chain follows (the last archived check
-- before a kept or newer one): its evidence hash, which its ledger entry vouches for.
CREATE TABLE archived_check_heads (
    check_id      bigint PRIMARY KEY,
    document_id   bigint NOT NULL REFERENCES documents,
    evidence_hash text NOT NULL,
    archive_id    bigint NOT NULL REFERENCES check_archives
);
CREATE INDEX archived_check_heads_document ON archived_check_heads (document_id, check_id);

SELECT extend_check_partitions();
ANALYZE checks;
