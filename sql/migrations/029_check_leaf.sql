-- A check's ledger leaf written once in SQL: the leaf of the entry
-- "check|<check ID>|<evidence hash in hex>", as atlas_crawl/evidence/ledger_entries.py
-- makes it (check_entry, entry_leaf: the reference, held equal to this by the tests).
-- Migration 028 wrote it out twice; archiving now calls this one. The body is quoted so
-- that hash_text() is bound when called, as in the other functions here, and the
-- functions of older migrations stay replaceable.
CREATE OR REPLACE FUNCTION check_leaf(check_id bigint, evidence_hash bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256('\x00'::bytea || convert_to(
        'check|' || check_id || '|' || coalesce(hash_text(evidence_hash), ''), 'UTF8'))
$$;

-- As in 028: the checks first_id .. end_id - 1 each as an entry of its own with its
-- leaf, rebuilt from the check as it stands, before a range is archived; the parts of
-- their runs outside the range stay runs.
CREATE OR REPLACE FUNCTION ledger_keep_check_leaves(first_id bigint, end_id bigint)
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
               -- none for a check already gone: verify names it
               CASE WHEN k.check_id IS NOT NULL THEN check_leaf(g.id, k.evidence_hash) END
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
