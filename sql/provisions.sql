-- Named queries of the provision tracker (atlas_crawl/storage/provisions.py).

-- name: version_provisions
SELECT vp.position, vp.heading, t.text, vp.provision_id
FROM version_provisions vp JOIN provision_texts t USING (text_sha256)
WHERE vp.version_id = %(version)s ORDER BY vp.position

-- name: insert_texts
INSERT INTO provision_texts (text_sha256, text)
SELECT * FROM unnest(%(hashes)s::bytea[], %(texts)s::text[])
ON CONFLICT DO NOTHING

-- name: insert_provisions
INSERT INTO provision_records (document_id, first_version_id, split_from)
SELECT %(document)s, %(version)s, s FROM unnest(%(split_from)s::bigint[]) WITH ORDINALITY AS u(s, n)
ORDER BY n
RETURNING provision_id

-- name: end_provisions
UPDATE provision_records SET ended_version_id = %(version)s
WHERE provision_id = ANY(%(ids)s::bigint[])

-- name: insert_version_provisions
INSERT INTO version_provisions (version_id, position, provision_id, text_sha256, heading)
SELECT %(version)s, * FROM unnest(%(positions)s::int[], %(ids)s::bigint[],
                                  %(hashes)s::bytea[], %(headings)s::text[])

-- name: insert_provision_changes
INSERT INTO provision_edits (change_id, provision_id, kind, technical, from_sha256,
                               to_sha256, related_id, diff)
SELECT %(change)s, p, k, %(technical)s, f, t, r, d
FROM unnest(%(ids)s::bigint[], %(kinds)s::text[], %(froms)s::bytea[], %(tos)s::bytea[],
            %(related)s::bigint[], %(diffs)s::text[]) AS u(p, k, f, t, r, d)

-- name: mark_segmented
INSERT INTO version_segmentations (version_id, segmenter, provisions)
VALUES (%(version)s, %(segmenter)s, %(count)s)

-- name: unsegmented_versions
SELECT v.version_id, v.version_number, v.text, c.change_id, c.kind, c.from_version_id
FROM versions v
LEFT JOIN changes c ON c.to_version_id = v.version_id
WHERE v.document_id = %(document)s
  AND (%(before)s::bigint IS NULL OR v.version_number < (
        SELECT version_number FROM versions WHERE version_id = %(before)s))
  AND NOT EXISTS (SELECT 1 FROM version_segmentations s WHERE s.version_id = v.version_id)
ORDER BY v.version_number
