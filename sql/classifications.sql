-- Named queries of the clause-type store (atlas_crawl/storage/classifications.py).

-- name: find_classifier
SELECT classifier_id FROM classifiers WHERE classifier_version = %(version)s

-- name: add_classifier
INSERT INTO classifiers (classifier_version) VALUES (%(version)s)
ON CONFLICT (classifier_version) DO NOTHING

-- name: unclassified_of
SELECT h FROM unnest(%(hashes)s::bytea[]) AS u(h)
WHERE NOT EXISTS (SELECT 1 FROM text_classifications c
                  WHERE c.text_sha256 = u.h AND c.classifier_id = %(classifier)s)

-- name: unclassified_texts
SELECT t.text_sha256, t.text FROM provision_texts t
WHERE NOT EXISTS (SELECT 1 FROM text_classifications c
                  WHERE c.text_sha256 = t.text_sha256 AND c.classifier_id = %(classifier)s)
ORDER BY t.text_sha256
LIMIT %(limit)s

-- name: texts_of
SELECT text_sha256, text FROM provision_texts WHERE text_sha256 = ANY(%(hashes)s::bytea[])

-- name: insert_classified
INSERT INTO text_classifications (text_sha256, classifier_id)
SELECT h, %(classifier)s FROM unnest(%(hashes)s::bytea[]) AS u(h)
ON CONFLICT DO NOTHING

-- name: insert_clause_types
INSERT INTO text_clause_types (text_sha256, classifier_id, clause_type, severity,
                               confidence, evidence)
SELECT h, %(classifier)s, t, s, c, e
FROM unnest(%(hashes)s::bytea[], %(types)s::text[], %(severities)s::text[],
            %(confidences)s::real[], %(evidence)s::text[]) AS u(h, t, s, c, e)
ON CONFLICT DO NOTHING

-- name: clause_types_of
-- One row per text the classifier read (type NULL when it found none) and per type found.
SELECT c.text_sha256, t.clause_type, t.severity
FROM text_classifications c
LEFT JOIN text_clause_types t USING (text_sha256, classifier_id)
WHERE c.classifier_id = %(classifier)s AND c.text_sha256 = ANY(%(hashes)s::bytea[])

-- name: insert_marks
INSERT INTO change_severity_marks (change_id, provision_id, clause_type, mark,
                                   from_severity, to_severity, classifier_id)
SELECT %(change)s, p, t, m, f, s, %(classifier)s
FROM unnest(%(ids)s::bigint[], %(types)s::text[], %(marks)s::text[], %(froms)s::text[],
            %(tos)s::text[]) AS u(p, t, m, f, s)

-- name: previous_classifier
-- The latest classifier before this one that read any text: what a reclassification
-- is compared with.
SELECT c.classifier_id FROM classifiers c
WHERE c.classifier_id < %(classifier)s
  AND EXISTS (SELECT 1 FROM text_classifications t WHERE t.classifier_id = c.classifier_id)
ORDER BY c.classifier_id DESC LIMIT 1

-- name: open_reclassification
SELECT reclassification_id FROM reclassifications
WHERE classifier_id = %(classifier)s AND finished_at IS NULL
ORDER BY reclassification_id DESC LIMIT 1

-- name: start_reclassification
INSERT INTO reclassifications (classifier_id, previous_id)
VALUES (%(classifier)s, %(previous)s) RETURNING reclassification_id

-- name: insert_reclassified
INSERT INTO reclassified_types (reclassification_id, text_sha256, clause_type,
                                from_severity, to_severity)
SELECT %(run)s, * FROM unnest(%(hashes)s::bytea[], %(types)s::text[], %(froms)s::text[],
                              %(tos)s::text[])

-- name: count_reclassified
UPDATE reclassifications SET texts = texts + %(texts)s, differing = differing + %(differing)s
WHERE reclassification_id = %(run)s

-- name: finish_reclassification
UPDATE reclassifications SET finished_at = now() WHERE reclassification_id = %(run)s
RETURNING texts, differing, started_at, finished_at
