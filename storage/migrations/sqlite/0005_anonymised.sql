-- When a withdrawn offer's retained copy was anonymised (licence art. 7); NULL while it was not.
ALTER TABLE offers ADD COLUMN anonymised_at BIGINT;
CREATE INDEX offers_by_withdrawal ON offers (status, withdrawn_at);
