-- Full-text search of provisions (the web view's /search): every provision text's words
-- kept beside it (the 'simple' configuration: every language the same way, no stemming)
-- and indexed, and the provisions of a text, to find the current ones a hit belongs to.
ALTER TABLE provision_texts
    ADD COLUMN words tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
CREATE INDEX provision_texts_words ON provision_texts USING gin (words);
CREATE INDEX version_provisions_text ON version_provisions (text_sha256);
