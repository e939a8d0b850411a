-- Platforms get a prefix of their own: AC-PL-00001. Their former IDs (AC-P-00001, five
-- digits) shared the letter P with provisions (AC-P-000001, six digits), so a platform's
-- ID could be read as a provision's. The former IDs stay readable: record_ids.py takes
-- AC-P- with five digits as the platform it named (views keep it as former_record_id).
ALTER TABLE platforms DROP COLUMN record_id;
ALTER TABLE platforms ADD COLUMN record_id text
    GENERATED ALWAYS AS ('AC-PL-' || lpad(platform_id::text, 5, '0')) STORED;
ALTER TABLE platforms ADD COLUMN former_record_id text
    GENERATED ALWAYS AS ('AC-P-' || lpad(platform_id::text, 5, '0')) STORED;
