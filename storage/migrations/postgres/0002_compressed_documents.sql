-- The normalised offer and the raw payload are written compressed by relais (LZ4, see
-- storage/src/documents.rs): bytes, no longer text. The rows written before stay readable: their
-- text becomes its UTF-8 bytes, which relais reads as they are. PostgreSQL's own compression of
-- these columns would only spend time on bytes that no longer shrink.
ALTER TABLE offers ALTER COLUMN offer TYPE BYTEA USING convert_to(offer, 'UTF8');
ALTER TABLE offers ALTER COLUMN offer SET STORAGE EXTERNAL;
ALTER TABLE raw_records ALTER COLUMN payload TYPE BYTEA USING convert_to(payload, 'UTF8');
ALTER TABLE raw_records ALTER COLUMN payload SET STORAGE EXTERNAL;
