-- The background check of partner offers' apply links: consecutive 404/410 answers hide an
-- offer (hidden_at), an answer again shows it.
CREATE TABLE link_checks (
    source TEXT NOT NULL,
    source_offer_id TEXT NOT NULL,
    url TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_status INTEGER,
    checked_at BIGINT NOT NULL,
    hidden_at BIGINT,
    PRIMARY KEY (source, source_offer_id)
);
