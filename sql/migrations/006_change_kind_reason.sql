-- Why a change is 'technical', so a reader can weigh it:
--   'reread'    the previous capture, read with the new rules, gives the new text;
--   'redesign'  the page and its rules changed together: neither the old rules read
--               the new capture nor the new rules the old one, so wording and layout
--               cannot be told apart (the diff is kept: review it);
--   'reextract' `atlas-crawl reextract` read a stored capture again.
-- NULL for content changes and for technical changes recorded before this migration.
ALTER TABLE changes
    ADD COLUMN kind_reason text
        CHECK (kind_reason IN ('reread', 'redesign', 'reextract')),
    ADD CONSTRAINT changes_reason_is_technical CHECK (kind = 'technical' OR kind_reason IS NULL);
