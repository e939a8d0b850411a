-- Captures compressed against the same document's previous capture, as git packs do:
-- zstd with the base capture as dictionary. Every chain restarts with a full copy
-- after a bounded depth, so reading a capture never unpacks more than that many.
ALTER TABLE captures
    ADD COLUMN base_sha256 text REFERENCES captures,
    ADD COLUMN depth integer NOT NULL DEFAULT 0;
ALTER TABLE captures DROP CONSTRAINT captures_compression_check;
ALTER TABLE captures ADD CONSTRAINT captures_compression_check
    CHECK (compression IN ('zstd', 'zstd-delta', 'none'));
ALTER TABLE captures ADD CONSTRAINT captures_delta_has_base
    CHECK ((compression = 'zstd-delta') = (base_sha256 IS NOT NULL));
