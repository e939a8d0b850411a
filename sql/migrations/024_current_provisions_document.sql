-- Today's provisions carry their document. A clause type's provisions today (compare,
-- the type page and API, "other platforms") are ordered by platform and document type:
-- read from today's provisions and the documents alone, the provisions' own records are
-- read only for the rows shown (a type held in thousands of documents read thousands of
-- provision records, one by one, to order them). The text index covers the keys, so a
-- type's provisions are found without visiting the table's rows.
ALTER TABLE current_provisions ADD COLUMN document_id bigint;
UPDATE current_provisions cp SET document_id = h.document_id
FROM document_heads h WHERE h.last_version_id = cp.version_id;
-- A row no head points to (none should be; `verify` names them) takes its version's.
UPDATE current_provisions cp SET document_id = v.document_id
FROM versions v WHERE cp.document_id IS NULL AND v.version_id = cp.version_id;
DELETE FROM current_provisions WHERE document_id IS NULL;
ALTER TABLE current_provisions ALTER COLUMN document_id SET NOT NULL;

DROP INDEX current_provisions_text;
CREATE INDEX current_provisions_text ON current_provisions (text_sha256)
    INCLUDE (document_id, provision_id);

CREATE OR REPLACE FUNCTION current_provisions_head_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.last_version_id IS NOT NULL THEN
        DELETE FROM current_provisions WHERE version_id = OLD.last_version_id;
    END IF;
    IF NEW.last_version_id IS NOT NULL THEN
        INSERT INTO current_provisions (version_id, position, text_sha256, provision_id,
                                        document_id)
        SELECT version_id, position, text_sha256, provision_id, NEW.document_id
        FROM version_provisions WHERE version_id = NEW.last_version_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION current_provisions_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO current_provisions (version_id, position, text_sha256, provision_id,
                                    document_id)
    SELECT a.version_id, a.position, a.text_sha256, a.provision_id, h.document_id
    FROM added a JOIN document_heads h ON h.last_version_id = a.version_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

