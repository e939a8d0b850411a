-- Today's provisions, kept as they are written: the provisions of each document's latest
-- version (document_heads.last_version_id), indexed by text. A clause type's provisions
-- today ("compare", the type page, "other platforms") and search start from the texts
-- of a type or a query and reach today's provisions in one index lookup each, instead of
-- joining every version that ever held the text and keeping the latest ones (at ten
-- thousand documents and years of versions, most of the rows read were not today's).
-- Derived data, maintained by the database itself (the triggers below) and checked by
-- `verify` against version_provisions and document_heads.
CREATE TABLE current_provisions (
    version_id   bigint NOT NULL,
    position     integer NOT NULL,
    text_sha256  bytea NOT NULL,
    provision_id bigint NOT NULL,
    PRIMARY KEY (version_id, position)
);
CREATE INDEX current_provisions_text ON current_provisions (text_sha256);

INSERT INTO current_provisions
SELECT vp.version_id, vp.position, vp.text_sha256, vp.provision_id
FROM document_heads h JOIN version_provisions vp ON vp.version_id = h.last_version_id;

-- A document's latest version changed: its provisions replace the former version's.
CREATE FUNCTION current_provisions_head_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.last_version_id IS NOT NULL THEN
        DELETE FROM current_provisions WHERE version_id = OLD.last_version_id;
    END IF;
    IF NEW.last_version_id IS NOT NULL THEN
        INSERT INTO current_provisions
        SELECT version_id, position, text_sha256, provision_id
        FROM version_provisions WHERE version_id = NEW.last_version_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER current_provisions_head_moved
AFTER UPDATE OF last_version_id ON document_heads
FOR EACH ROW WHEN (OLD.last_version_id IS DISTINCT FROM NEW.last_version_id)
EXECUTE FUNCTION current_provisions_head_moved();

CREATE TRIGGER current_provisions_head_added
AFTER INSERT ON document_heads
FOR EACH ROW WHEN (NEW.last_version_id IS NOT NULL)
EXECUTE FUNCTION current_provisions_head_moved();

-- A version's provisions are written after the version itself (which moved the head):
-- those of a document's latest version join today's.
CREATE FUNCTION current_provisions_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO current_provisions
    SELECT a.version_id, a.position, a.text_sha256, a.provision_id
    FROM added a JOIN document_heads h ON h.last_version_id = a.version_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER current_provisions_added AFTER INSERT ON version_provisions
REFERENCING NEW TABLE AS added FOR EACH STATEMENT
EXECUTE FUNCTION current_provisions_added();

-- Provisions deleted (no command deletes them; an operator cutting a version again
-- would) leave today's with them, so what is kept never outlives what it is made of.
CREATE FUNCTION current_provisions_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM current_provisions cp USING removed r
    WHERE (cp.version_id, cp.position) = (r.version_id, r.position);
    RETURN NULL;
END $$;

CREATE TRIGGER current_provisions_removed AFTER DELETE ON version_provisions
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
EXECUTE FUNCTION current_provisions_removed();

-- A document's changes newest first (its page, its feed, a platform's feed through its
-- documents): read from the document's own, not by walking every change newest first
-- until enough of the document's are found.
CREATE INDEX changes_document ON changes (document_id, detected_at DESC, change_id DESC);
