-- Provisions (issue 13): each version text cut into the clauses a reader cites, with an
-- identity that follows each clause from version to version. Everything here is derived
-- from version texts (which the ledger binds): `verify` cuts and matches them again.
-- Hashes are stored as bytes (half the size of hex); the public views show hex. The
-- views are named provisions, provision_versions and provision_changes (views.sql).

-- Each distinct provision text once, addressed by its SHA-256 (UTF-8).
CREATE TABLE provision_texts (
    text_sha256 bytea PRIMARY KEY CHECK (length(text_sha256) = 32),
    text        text NOT NULL CHECK (text <> '')
);

-- One row per provision for its whole life; its record ID is AC-P-000123.
CREATE TABLE provision_records (
    provision_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id      bigint NOT NULL REFERENCES documents,
    first_version_id bigint NOT NULL REFERENCES versions,
    ended_version_id bigint REFERENCES versions,          -- the first version without it
    split_from       bigint REFERENCES provision_records,  -- the provision it came out of
    record_id        text GENERATED ALWAYS AS ('AC-P-' || lpad(provision_id::text, 6, '0'))
                     STORED
);
CREATE INDEX provision_records_document ON provision_records (document_id);

-- The provisions of each version, in reading order.
CREATE TABLE version_provisions (
    version_id   bigint NOT NULL REFERENCES versions,
    position     integer NOT NULL CHECK (position > 0),
    provision_id bigint NOT NULL REFERENCES provision_records,
    text_sha256  bytea NOT NULL REFERENCES provision_texts,
    heading      text NOT NULL,                           -- "2. Use > 2.4 Generative AI"
    PRIMARY KEY (version_id, position)
);
CREATE INDEX version_provisions_provision ON version_provisions (provision_id);

-- What each document change did to each provision it touched.
CREATE TABLE provision_edits (
    change_id    bigint NOT NULL REFERENCES changes,
    provision_id bigint NOT NULL REFERENCES provision_records,
    kind         text NOT NULL
                 CHECK (kind IN ('added', 'removed', 'modified', 'moved', 'split', 'merged')),
    technical    boolean NOT NULL,                        -- made by a technical change
    from_sha256  bytea REFERENCES provision_texts,
    to_sha256    bytea REFERENCES provision_texts,
    related_id   bigint REFERENCES provision_records,     -- split: from; merged: into
    diff         text,                                    -- modified: the patch, old to new
    PRIMARY KEY (change_id, provision_id)
);
CREATE INDEX provision_edits_provision ON provision_edits (provision_id);

-- Which versions have been cut, by which segmenter: `provisions rebuild` resumes here.
CREATE TABLE version_segmentations (
    version_id  bigint PRIMARY KEY REFERENCES versions,
    segmenter   text NOT NULL,
    provisions  integer NOT NULL
);
