-- A scale database (bench/scale.py) turned into one whose provisions each have a text of
-- their own, as real policies do: the build reuses boilerplate paragraphs across
-- platforms (about 2,000 distinct texts for 300,000 provisions at a million checks), so
-- that the classifier reads each once. Reads by clause type and search go text by text;
-- this shows them at one text per provision. Run it on a copy, never on a history that
-- matters: the texts are rewritten without their versions (verify then fails on them).
--
--   createdb -h 127.0.0.1 -U postgres -T atlas_scale_1m atlas_scale_1m_texts
--   psql -h 127.0.0.1 -U postgres atlas_scale_1m_texts -f bench/one_text_per_provision.sql
--   .venv/bin/python bench/scale.py --reuse --no-verify --checks 1000000 \
--       --database-url postgresql://postgres@127.0.0.1/atlas_scale_1m_texts
BEGIN;
-- Today's provisions each get a new text (the former one with its place appended) and
-- the clause types the former one had, from the same classifier.
CREATE TEMPORARY TABLE remap ON COMMIT DROP AS
SELECT version_id, position, text_sha256 AS old,
       sha256(convert_to(version_id || ':' || position, 'UTF8')) AS new
FROM current_provisions;
INSERT INTO provision_texts (text_sha256, text)
SELECT r.new, t.text || ' (' || r.version_id || ':' || r.position || ')'
FROM remap r JOIN provision_texts t ON t.text_sha256 = r.old;
INSERT INTO text_classifications (text_sha256, classifier_id, classified_at)
SELECT r.new, c.classifier_id, c.classified_at
FROM remap r JOIN text_classifications c ON c.text_sha256 = r.old;
INSERT INTO text_clause_types
SELECT r.new, ct.classifier_id, ct.clause_type, ct.severity, ct.confidence, ct.evidence
FROM remap r JOIN text_clause_types ct ON ct.text_sha256 = r.old;
UPDATE version_provisions vp SET text_sha256 = r.new
FROM remap r WHERE (vp.version_id, vp.position) = (r.version_id, r.position);
UPDATE current_provisions cp SET text_sha256 = r.new
FROM remap r WHERE (cp.version_id, cp.position) = (r.version_id, r.position);
COMMIT;
VACUUM ANALYZE provision_texts, text_classifications, text_clause_types, version_provisions,
               current_provisions, current_clause_types;
