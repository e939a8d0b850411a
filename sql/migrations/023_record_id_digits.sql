-- Record IDs keep every digit. They were the prefix and the number padded with lpad() to
-- five digits (platforms, documents) or six (versions, changes, provisions), and lpad()
-- also cuts a longer number to that width: document 100,000 read AC-D-10000, the ID of
-- document 10,000, and provision 1,000,000 read AC-P-100000 (ten thousand documents of
-- a hundred provisions each reach it). Every ID below those sizes stays the same text;
-- a longer number is printed whole, as Python prints it (f"{n:06d}").
-- PostgreSQL 15 cannot change a generated column's expression: each column is dropped
-- (with the views over it, which views.sql makes again after the migrations) and added
-- again, computing the same text for every row that was right.
ALTER TABLE platforms DROP COLUMN record_id CASCADE, DROP COLUMN former_record_id CASCADE;
ALTER TABLE platforms
    ADD COLUMN record_id text GENERATED ALWAYS AS (
        'AC-PL-' || lpad(platform_id::text, greatest(5, length(platform_id::text)), '0'))
        STORED,
    -- The IDs platforms had before migration 015 (five digits; never a longer one, which
    -- would read as a provision's).
    ADD COLUMN former_record_id text GENERATED ALWAYS AS (
        CASE WHEN platform_id < 100000 THEN 'AC-P-' || lpad(platform_id::text, 5, '0') END)
        STORED;

ALTER TABLE documents DROP COLUMN record_id CASCADE;
ALTER TABLE documents ADD COLUMN record_id text GENERATED ALWAYS AS (
    'AC-D-' || lpad(document_id::text, greatest(5, length(document_id::text)), '0')) STORED;

ALTER TABLE versions DROP COLUMN record_id CASCADE;
ALTER TABLE versions ADD COLUMN record_id text GENERATED ALWAYS AS (
    'AC-V-' || lpad(version_id::text, greatest(6, length(version_id::text)), '0')) STORED;

ALTER TABLE changes DROP COLUMN record_id CASCADE;
ALTER TABLE changes ADD COLUMN record_id text GENERATED ALWAYS AS (
    'AC-C-' || lpad(change_id::text, greatest(6, length(change_id::text)), '0')) STORED;

ALTER TABLE provision_records DROP COLUMN record_id CASCADE;
ALTER TABLE provision_records ADD COLUMN record_id text GENERATED ALWAYS AS (
    'AC-P-' || lpad(provision_id::text, greatest(6, length(provision_id::text)), '0')) STORED;
