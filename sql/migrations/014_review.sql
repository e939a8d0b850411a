-- A new text held back for a second look: much shorter than the current version (a
-- rewrite to a short notice, or a page that lost its body). It is a candidate like any
-- other new text, confirmed or not by the next fetch; the change it leads to is flagged
-- for review (views document_status and change_reviews). Before this, such a text was a
-- failed check ('too short') until it had been seen on two checks in a row.
ALTER TABLE checks ADD COLUMN review_reason text,
                   ADD COLUMN review_detail text;
ALTER TABLE checks ADD CONSTRAINT checks_review_is_a_new_text
    CHECK (review_reason IS NULL OR outcome IN ('candidate', 'changed', 'unconfirmed'));
