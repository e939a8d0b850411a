-- Evidence that holds up: verified changes, WARC references, a hash chain per document,
-- stated dates, archived copies and public record IDs.

-- A new text is a 'candidate' until a second fetch confirms it ('changed') or brings
-- back the old text ('unconfirmed': an A/B test, a flapping page, a partial deploy).
ALTER TABLE checks DROP CONSTRAINT checks_outcome_check;
ALTER TABLE checks ADD CONSTRAINT checks_outcome_check
    CHECK (outcome IN ('first', 'unchanged', 'changed', 'failed', 'candidate', 'unconfirmed'));

-- The ledger: each check's evidence hash covers its own fields and the previous
-- check of the same document, so any edit or deletion breaks the chain.
ALTER TABLE checks
    ADD COLUMN evidence_hash text,
    ADD COLUMN previous_evidence_hash text,
    ADD COLUMN warc_digest text,          -- sha256 over the WARC payload digests of its pages
    ADD COLUMN verifies_check_id bigint REFERENCES checks;  -- the candidate it re-fetched

ALTER TABLE check_pages
    ADD COLUMN warc_file text,
    ADD COLUMN warc_offset bigint,
    ADD COLUMN warc_payload_digest text;

ALTER TABLE changes
    ADD COLUMN verified boolean NOT NULL DEFAULT false,
    ADD COLUMN verified_at timestamptz,
    ADD COLUMN verified_check_id bigint REFERENCES checks,
    ADD COLUMN silent boolean,             -- the text changed, its stated date did not
    ADD COLUMN date_only boolean NOT NULL DEFAULT false;  -- only the stated date changed

ALTER TABLE versions
    ADD COLUMN stated_date date,           -- the "last updated" / "effective" date it states
    ADD COLUMN archive_url text,
    ADD COLUMN archive_status text CHECK (archive_status IN ('pending', 'archived', 'failed')),
    ADD COLUMN archive_detail text;

-- Public record IDs, stable for the life of the database.
ALTER TABLE platforms ADD COLUMN record_id text
    GENERATED ALWAYS AS ('AC-P-' || lpad(platform_id::text, 5, '0')) STORED;
ALTER TABLE documents ADD COLUMN record_id text
    GENERATED ALWAYS AS ('AC-D-' || lpad(document_id::text, 5, '0')) STORED;
ALTER TABLE versions ADD COLUMN record_id text
    GENERATED ALWAYS AS ('AC-V-' || lpad(version_id::text, 6, '0')) STORED;
ALTER TABLE changes ADD COLUMN record_id text
    GENERATED ALWAYS AS ('AC-C-' || lpad(change_id::text, 6, '0')) STORED;
