-- A change is 'content' (the document's text changed) or 'technical' (only the way it
-- is extracted changed: the previous capture, read with the new rules, gives the new
-- text). Technical changes keep the history continuous without claiming a policy change.
ALTER TABLE changes
    ADD COLUMN kind text NOT NULL DEFAULT 'content' CHECK (kind IN ('content', 'technical'));
