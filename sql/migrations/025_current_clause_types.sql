-- Today's provisions by clause type, in the order a reader sees them: worst severity
-- first, then platform, document type and provision. "How other platforms handle this",
-- compare and the type page read a type's first rows from one index, however many
-- documents hold the type: from today's provisions they looked up each text of the type
-- (its latest classifier, its provisions, their documents) before ordering, which at one
-- text per provision is thousands of lookups per type asked.
-- Derived data, maintained by the triggers below (today's provisions added or removed, a
-- text classified again, a document's type or a platform's name changed) and checked
-- by `verify` against today's provisions and the latest classifications.
CREATE TABLE current_clause_types (
    version_id    bigint NOT NULL,
    position      integer NOT NULL,
    clause_type   text NOT NULL,
    severity_rank smallint NOT NULL,   -- low 0, medium 1, high 2
    severity      text NOT NULL,
    platform      text NOT NULL,       -- platforms.name
    document_type text NOT NULL,
    provision_id  bigint NOT NULL,
    document_id   bigint NOT NULL,
    text_sha256   bytea NOT NULL,
    PRIMARY KEY (version_id, position, clause_type)
);
CREATE INDEX current_clause_types_order ON current_clause_types
    (clause_type, severity_rank DESC, platform, document_type, provision_id);
CREATE INDEX current_clause_types_text ON current_clause_types (text_sha256);

-- The types the latest classifier to read each of these texts found in it (the view
-- latest_clause_types, for the texts given; views are made after the migrations).
CREATE FUNCTION latest_types_of(texts bytea[])
RETURNS TABLE (text_sha256 bytea, clause_type text, severity text)
LANGUAGE sql STABLE AS $$
    SELECT ct.text_sha256, ct.clause_type, ct.severity
    FROM text_clause_types ct
    WHERE ct.text_sha256 = ANY(texts)
      AND ct.classifier_id = (SELECT max(c.classifier_id) FROM text_classifications c
                              WHERE c.text_sha256 = ct.text_sha256)
$$;

-- The rows of today's provisions holding these texts, made again from what is stored.
CREATE FUNCTION current_clause_types_refresh(texts bytea[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM current_clause_types WHERE text_sha256 = ANY(texts);
    INSERT INTO current_clause_types
    SELECT cp.version_id, cp.position, lt.clause_type,
           CASE lt.severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, lt.severity,
           p.name, d.document_type, cp.provision_id, cp.document_id, cp.text_sha256
    FROM latest_types_of(texts) lt
    JOIN current_provisions cp ON cp.text_sha256 = lt.text_sha256
    JOIN documents d ON d.document_id = cp.document_id
    JOIN platforms p USING (platform_id);
END $$;

-- The rows of today, made the same way.
SELECT current_clause_types_refresh(array(SELECT DISTINCT text_sha256 FROM current_provisions));

-- Today's provisions added, removed or altered.
CREATE FUNCTION current_clause_types_provisions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM current_clause_types t USING removed r
        WHERE (t.version_id, t.position) = (r.version_id, r.position);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO current_clause_types
        SELECT a.version_id, a.position, lt.clause_type,
               CASE lt.severity WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,
               lt.severity, p.name, d.document_type, a.provision_id, a.document_id,
               a.text_sha256
        FROM added a
        JOIN latest_types_of(array(SELECT DISTINCT text_sha256 FROM added)) lt
          ON lt.text_sha256 = a.text_sha256
        JOIN documents d ON d.document_id = a.document_id
        JOIN platforms p USING (platform_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER current_clause_types_added AFTER INSERT ON current_provisions
REFERENCING NEW TABLE AS added FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_provisions();
CREATE TRIGGER current_clause_types_removed AFTER DELETE ON current_provisions
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_provisions();
CREATE TRIGGER current_clause_types_altered AFTER UPDATE ON current_provisions
REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_provisions();

-- Texts classified (a new text, or a new classifier reading it: the latest takes over
-- text by text) or their classifications removed.
CREATE FUNCTION current_clause_types_classified() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM current_clause_types_refresh(array(SELECT DISTINCT text_sha256 FROM touched));
    RETURN NULL;
END $$;

CREATE TRIGGER current_clause_types_classified AFTER INSERT ON text_classifications
REFERENCING NEW TABLE AS touched FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_classified();
CREATE TRIGGER current_clause_types_unclassified AFTER DELETE ON text_classifications
REFERENCING OLD TABLE AS touched FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_classified();
CREATE TRIGGER current_clause_types_typed AFTER INSERT ON text_clause_types
REFERENCING NEW TABLE AS touched FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_classified();
CREATE TRIGGER current_clause_types_untyped AFTER DELETE ON text_clause_types
REFERENCING OLD TABLE AS touched FOR EACH STATEMENT
EXECUTE FUNCTION current_clause_types_classified();

-- What the order is made of, renamed (or a document moved to another platform).
CREATE FUNCTION current_clause_types_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'platforms' THEN
        UPDATE current_clause_types t SET platform = NEW.name
        FROM documents d
        WHERE d.platform_id = NEW.platform_id AND t.document_id = d.document_id;
    ELSE
        UPDATE current_clause_types
        SET document_type = NEW.document_type,
            platform = (SELECT p.name FROM platforms p WHERE p.platform_id = NEW.platform_id)
        WHERE document_id = NEW.document_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER current_clause_types_platform_renamed AFTER UPDATE OF name ON platforms
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION current_clause_types_renamed();
CREATE TRIGGER current_clause_types_document_moved
AFTER UPDATE OF document_type, platform_id ON documents FOR EACH ROW
WHEN ((OLD.document_type, OLD.platform_id) IS DISTINCT FROM (NEW.document_type, NEW.platform_id))
EXECUTE FUNCTION current_clause_types_renamed();
