-- The ledger keeps a run of checks as one row. Most entries are routine rechecks, one
-- per transaction, committed one after the other: consecutive positions holding
-- consecutive check IDs. A row of ledger_store is now either one entry (a version, a
-- change, or a check whose leaf is kept) or a run of `entries` checks: positions
-- position .. position + entries - 1 hold checks record .. record + entries - 1, in that
-- order. A check's leaf is not stored: it is rebuilt from the check (its ID and evidence
-- hash, which covers its fields and its predecessor's), as every reader did already;
-- the signed checkpoints bind it. What stays stored: the leaves of versions and changes,
-- of checks archived out of the database (storage/archive_checks.py keeps them before a
-- range leaves), and of any check whose stored leaf no longer matched it when this
-- migration ran (so that verify still names it). Positions, records and every leaf, so
-- every root, checkpoint and citation, stay the same.
DROP VIEW IF EXISTS atlas_read.ledger;
ALTER TABLE ledger RENAME TO ledger_rows_before_runs;

CREATE TABLE ledger_store (
    position bigint NOT NULL,   -- the run's first position
    kind     text NOT NULL CHECK (kind IN ('check', 'version', 'change')),
    record   bigint NOT NULL,   -- the run's first record
    leaf     bytea,             -- NULL: a check's, rebuilt from it
    entries  integer NOT NULL DEFAULT 1 CHECK (entries >= 1),
    CONSTRAINT ledger_store_leaf CHECK (leaf IS NOT NULL OR kind = 'check'),
    CONSTRAINT ledger_store_run CHECK (entries = 1 OR leaf IS NULL)
);

WITH old AS (
    SELECT l.position, l.kind, l.record, l.leaf,
           l.kind = 'check' AND l.leaf = sha256('\x00'::bytea || convert_to(
               'check|' || k.check_id || '|' || coalesce(hash_text(k.evidence_hash), ''),
               'UTF8')) AS rebuilt
    FROM ledger_rows_before_runs l
    LEFT JOIN check_store k ON l.kind = 'check' AND k.check_id = l.record
), runs AS (
    SELECT position, record,
           sum(starts) OVER (ORDER BY position) AS run
    FROM (SELECT position, record,
                 (lag(position) OVER w IS DISTINCT FROM position - 1
                  OR lag(record) OVER w IS DISTINCT FROM record - 1)::int AS starts
          FROM old WHERE rebuilt
          WINDOW w AS (ORDER BY position)) s
)
INSERT INTO ledger_store (position, kind, record, leaf, entries)
SELECT min(position), 'check', min(record), NULL, count(*) FROM runs GROUP BY run
UNION ALL
SELECT position, kind, record, leaf, 1 FROM old WHERE rebuilt IS NOT TRUE;

ALTER TABLE ledger_store ADD PRIMARY KEY (position),
    ADD CONSTRAINT ledger_store_kind_record_key UNIQUE (kind, record);
DROP TABLE ledger_rows_before_runs;

-- The entries from position `from_position` up to `to_position` (excluded), one row
-- each; leaf NULL where it is a check's (rebuilt from the check). Reads the runs by their
-- index.
CREATE FUNCTION ledger_entries(from_position bigint, to_position bigint)
RETURNS TABLE ("position" bigint, kind text, record bigint, leaf bytea)
LANGUAGE sql STABLE AS $$
    SELECT s.position + g.i, s.kind, s.record + g.i, s.leaf
    FROM ledger_store s,
         generate_series(greatest(from_position - s.position, 0),
                         least(s.entries::bigint, to_position - s.position) - 1) AS g(i)
    WHERE s.position >= coalesce((SELECT max(p.position) FROM ledger_store p
                                  WHERE p.position <= from_position), 0)
      AND s.position < to_position
$$;

-- One row per entry, as the table `ledger` was (leaf NULL: a check's, rebuilt from it).
-- Written out rather than through ledger_entries() so that the readers' role, which
-- reads this view and not ledger_store, needs nothing more.
CREATE VIEW ledger AS
SELECT s.position + g.i AS position, s.kind, s.record + g.i AS record, s.leaf
FROM ledger_store s, generate_series(0, s.entries - 1) AS g(i);

-- The ledger position of a record, or NULL: the run (or entry) starting at the greatest
-- record not above it, if the run reaches it.
CREATE FUNCTION ledger_position(entry_kind text, entry_record bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT s.position + (entry_record - s.record)
    FROM (SELECT position, record, entries FROM ledger_store
          WHERE kind = entry_kind AND record <= entry_record
          ORDER BY record DESC LIMIT 1) s
    WHERE entry_record < s.record + s.entries
$$;

-- How many entries the ledger holds (positions have no gaps).
CREATE FUNCTION ledger_size() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT position + entries FROM ledger_store
                     ORDER BY position DESC LIMIT 1), 0)
$$;

-- A transaction's entries, in order, after the last position (called under the ledger
-- lock, sql/recording.sql). A check whose ID follows the last run's last check extends
-- that run; any other check opens a run; a version or change is an entry of its own,
-- with its leaf. Checks' leaves, given or not, are not stored.
CREATE FUNCTION ledger_append(kinds text[], records bigint[], leaves bytea[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    next_position bigint := 0;
    run_position bigint;
    run_record bigint;
    run_entries integer := 0;   -- 0: no run open
    stored_entries integer := 0; -- the open run's size in ledger_store (0: not written)
    i integer;
BEGIN
    SELECT s.position + s.entries,
           CASE WHEN s.kind = 'check' AND s.leaf IS NULL THEN s.position END,
           s.record, s.entries
      INTO next_position, run_position, run_record, run_entries
      FROM ledger_store s ORDER BY s.position DESC LIMIT 1;
    next_position := coalesce(next_position, 0);
    IF run_position IS NULL THEN
        run_entries := 0;
    END IF;
    stored_entries := run_entries;
    FOR i IN 1 .. coalesce(array_length(kinds, 1), 0) LOOP
        IF kinds[i] = 'check' AND run_entries > 0 AND records[i] = run_record + run_entries THEN
            run_entries := run_entries + 1;
        ELSE
            PERFORM ledger_write_run(run_position, run_record, run_entries, stored_entries);
            IF kinds[i] = 'check' THEN
                run_position := next_position;
                run_record := records[i];
                run_entries := 1;
            ELSE
                INSERT INTO ledger_store (position, kind, record, leaf)
                VALUES (next_position, kinds[i], records[i], leaves[i]);
                run_entries := 0;
            END IF;
            stored_entries := 0;
        END IF;
        next_position := next_position + 1;
    END LOOP;
    PERFORM ledger_write_run(run_position, run_record, run_entries, stored_entries);
END
$$;

-- A run of checks written: inserted if new, its size updated if it grew.
CREATE FUNCTION ledger_write_run(run_position bigint, run_record bigint, run_entries integer,
                                 stored_entries integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF run_entries = 0 OR run_entries = stored_entries THEN
        RETURN;
    ELSIF stored_entries = 0 THEN
        INSERT INTO ledger_store (position, kind, record, entries)
        VALUES (run_position, 'check', run_record, run_entries);
    ELSE
        UPDATE ledger_store SET entries = run_entries WHERE position = run_position;
    END IF;
END
$$;

-- The checks first_id .. end_id - 1 each as an entry of its own with its leaf, rebuilt
-- from the check as it stands: what archiving a range does before the checks leave.
-- The parts of their runs outside the range stay runs.
CREATE FUNCTION ledger_keep_check_leaves(first_id bigint, end_id bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN DELETE FROM ledger_store
             WHERE kind = 'check' AND leaf IS NULL AND record < end_id
               AND record + entries > first_id
             RETURNING position, record, entries
    LOOP
        IF r.record < first_id THEN
            INSERT INTO ledger_store (position, kind, record, entries)
            VALUES (r.position, 'check', r.record, first_id - r.record);
        END IF;
        INSERT INTO ledger_store (position, kind, record, leaf)
        SELECT r.position + (g.id - r.record), 'check', g.id,
               CASE WHEN k.check_id IS NOT NULL THEN sha256('\x00'::bytea || convert_to(
                   'check|' || g.id || '|' || coalesce(hash_text(k.evidence_hash), ''),
                   'UTF8')) END  -- none for a check already gone: verify names it
        FROM generate_series(greatest(r.record, first_id),
                             least(r.record + r.entries, end_id) - 1) AS g(id)
        LEFT JOIN check_store k ON k.check_id = g.id;
        IF r.record + r.entries > end_id THEN
            INSERT INTO ledger_store (position, kind, record, entries)
            VALUES (r.position + (end_id - r.record), 'check', end_id,
                    r.record + r.entries - end_id);
        END IF;
    END LOOP;
END
$$;
