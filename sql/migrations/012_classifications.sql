-- Clause types (issue 14): what the classifier found in each provision text, by which
-- classifier. Classifications belong to texts (provision_texts is content-addressed), so
-- a provision that did not change keeps its classification without reading it again; a
-- new classifier version reads every stored text again (`atlas-crawl reclassify`) and the
-- run is recorded in `reclassifications`, never as a change of a document. The public
-- view is provision_classifications (views.sql).

-- Each classifier version ever used ("model 1 / taxonomy 1"), in the order first used.
CREATE TABLE classifiers (
    classifier_id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    classifier_version text NOT NULL UNIQUE,
    first_used_at      timestamptz NOT NULL DEFAULT now()
);

-- Which texts each classifier has read, types found or not.
CREATE TABLE text_classifications (
    text_sha256   bytea NOT NULL REFERENCES provision_texts,
    classifier_id integer NOT NULL REFERENCES classifiers,
    classified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (text_sha256, classifier_id)
);

-- The clause types found: one row per text, classifier and type.
CREATE TABLE text_clause_types (
    text_sha256   bytea NOT NULL,
    classifier_id integer NOT NULL,
    clause_type   text NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    confidence    real NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    evidence      text NOT NULL,                 -- the words that triggered it
    PRIMARY KEY (text_sha256, classifier_id, clause_type),
    FOREIGN KEY (text_sha256, classifier_id) REFERENCES text_classifications
);

-- Document changes that add a provision of high severity or raise a provision's
-- severity (for alerts), as the classifier of the time read both texts.
CREATE TABLE change_severity_marks (
    change_id     bigint NOT NULL REFERENCES changes,
    provision_id  bigint NOT NULL REFERENCES provision_records,
    clause_type   text NOT NULL,
    mark          text NOT NULL CHECK (mark IN ('new-high', 'raised')),
    from_severity text CHECK (from_severity IN ('low', 'medium', 'high')),
    to_severity   text NOT NULL CHECK (to_severity IN ('low', 'medium', 'high')),
    classifier_id integer NOT NULL REFERENCES classifiers,
    PRIMARY KEY (change_id, provision_id, clause_type)
);
CREATE INDEX change_severity_marks_provision ON change_severity_marks (provision_id);

-- Each run of `atlas-crawl reclassify`, and the texts whose types or severities it
-- found different from the classifier before it.
CREATE TABLE reclassifications (
    reclassification_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    classifier_id       integer NOT NULL REFERENCES classifiers,
    previous_id         integer REFERENCES classifiers,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    texts               integer NOT NULL DEFAULT 0,
    differing           integer NOT NULL DEFAULT 0
);

CREATE TABLE reclassified_types (
    reclassification_id integer NOT NULL REFERENCES reclassifications,
    text_sha256         bytea NOT NULL REFERENCES provision_texts,
    clause_type         text NOT NULL,
    from_severity       text,                    -- NULL: the type is new
    to_severity         text,                    -- NULL: the type is gone
    PRIMARY KEY (reclassification_id, text_sha256, clause_type)
);
