-- Identifiers, hex hashes, categories and dates are ASCII: give their
-- columns the "C" collation, so that their indexes compare bytes instead of
-- going through the database's locale, whose rules have nothing to say about
-- hex digits and make every index insert and lookup slower (a 10^6-record
-- import spent a fifth of its server time there). Orders by these columns
-- become byte order, which is what SQLite uses already; on a C.UTF-8
-- database (code point order) nothing changes. The type change rewrites the
-- tables and their indexes once, and rebuilds the foreign keys to batches.
ALTER TABLE batches
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN category TYPE text COLLATE "C",
    ALTER COLUMN root TYPE text COLLATE "C";
ALTER TABLE batch_leaves ALTER COLUMN batch_id TYPE text COLLATE "C";
ALTER TABLE batch_leaf_blocks ALTER COLUMN batch_id TYPE text COLLATE "C";
ALTER TABLE records
    ALTER COLUMN citizen_ref TYPE text COLLATE "C",
    ALTER COLUMN category TYPE text COLLATE "C",
    ALTER COLUMN record_date TYPE text COLLATE "C",
    ALTER COLUMN record_hash TYPE text COLLATE "C",
    ALTER COLUMN batch_id TYPE text COLLATE "C";
