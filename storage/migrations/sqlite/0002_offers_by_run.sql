-- Counting what a run saw (partner feed snapshots) reads this index instead of the offers' rows.
CREATE INDEX offers_by_last_run ON offers (source, last_seen_run);
