-- The change log: every change of an offer, in commit order, written in the transaction of the
-- change itself. A live index (and, later, each API replica) applies the changes after the last
-- sequence number it applied. AUTOINCREMENT: a sequence number is never reused, even after the
-- oldest entries are pruned.
CREATE TABLE offer_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    source_offer_id TEXT NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('created', 'changed', 'withdrawn', 'reactivated')),
    changed_at INTEGER NOT NULL
);
CREATE INDEX offer_changes_by_time ON offer_changes (changed_at);
