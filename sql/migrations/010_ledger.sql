-- The ledger: every check, version and change as one entry of an append-only log, in
-- commit order, under a Merkle tree (RFC 6962) whose signed checkpoints can be published
-- outside the database. An entry names the record and the fields of it that never
-- change; the leaf is SHA-256(0x00 || entry). atlas_crawl/evidence/ledger_entries.py
-- builds the same entries in Python.
CREATE TABLE ledger (
    position bigint PRIMARY KEY,        -- 0, 1, 2, ... in commit order, no gaps
    kind     text NOT NULL CHECK (kind IN ('check', 'version', 'change')),
    record   bigint NOT NULL,           -- check_id, version_id or change_id
    leaf     bytea NOT NULL,
    UNIQUE (kind, record)
);

-- The history recorded before the ledger existed enters it in the order it was made.
INSERT INTO ledger (position, kind, record, leaf)
SELECT row_number() OVER (ORDER BY made, rank, id) - 1, kind, id,
       sha256('\x00'::bytea || convert_to(entry, 'UTF8'))
FROM (
    SELECT check_id AS id, 'check' AS kind, check_id AS made, 0 AS rank,
           'check|' || check_id || '|' || coalesce(evidence_hash, '') AS entry
    FROM checks
    UNION ALL
    SELECT version_id, 'version', check_id, 1,
           'version|' || version_id || '|' || document_id || '|' || version_number || '|'
           || text_sha256 || '|' || check_id
    FROM versions
    UNION ALL
    SELECT change_id, 'change', check_id, 2,
           'change|' || change_id || '|' || from_version_id || '|' || to_version_id || '|'
           || encode(sha256(convert_to(diff, 'UTF8')), 'hex') || '|' || chars_added || '|'
           || chars_removed
    FROM changes
) entries;

-- Signed tree heads, as `atlas-crawl checkpoint` made them: citations prove inclusion
-- against the latest one.
CREATE TABLE checkpoints (
    checkpoint_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tree_size     bigint NOT NULL,
    root_hash     text NOT NULL,            -- hex
    made_at       timestamptz NOT NULL,
    public_key    text NOT NULL,            -- Ed25519, hex
    signature     text NOT NULL,            -- hex, over the checkpoint's signed text
    block_roots   text NOT NULL             -- hex roots of each block of 256, comma-separated
);
