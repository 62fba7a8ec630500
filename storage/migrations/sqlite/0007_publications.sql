-- What the deduplicating worker publishes, for the indexes to follow (see publications.rs).
-- One row per active offer that may be published: the copy its job is shown through (itself
-- when it is that copy) and, for that copy alone, the other copies of its job (JSON).
CREATE TABLE publications (
    source TEXT NOT NULL,
    source_offer_id TEXT NOT NULL,
    shown_through TEXT NOT NULL,
    links TEXT,
    PRIMARY KEY (source, source_offer_id)
);
-- Every change of what is published, in commit order: an offer to (re)index with its links,
-- or no longer published (links NULL), and the offer change the worker had applied up to before
-- the write that logged it (an index that applied every entry before a write reflects every
-- offer change up to that write's base). AUTOINCREMENT: a number is never reused after pruning.
CREATE TABLE publication_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    source_offer_id TEXT NOT NULL,
    links TEXT,
    base_change_seq BIGINT NOT NULL
);
-- Where a reader kept by the store stands in a log (the worker in offer_changes), written in
-- the transaction of what it did up to there.
CREATE TABLE log_positions (
    reader TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
