-- Checks imported from archives name their source, so re-running a backfill adds
-- nothing twice: 'ota:<commit>:<path>', 'warc:<record id>'.
ALTER TABLE checks ADD COLUMN source_ref text;
CREATE UNIQUE INDEX checks_source_ref ON checks (source_ref) WHERE source_ref IS NOT NULL;

-- The recorder reads a document's latest checks by id on every check.
CREATE INDEX checks_document_check ON checks (document_id, check_id);
