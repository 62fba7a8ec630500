//! What the store's tests share: a store in a temporary directory holding offers of one board.

use chrono::Utc;
use relais_model::{Offer, OfferKey, SourceId};

use sqlx::Row;

use crate::{IncomingRecord, RunKind, Store};

/// The key of offer `id` of the board `board`.
pub(crate) fn key(id: &str) -> OfferKey {
    OfferKey::new(SourceId::parse("board").unwrap(), id).unwrap()
}

/// A store holding one active offer of `board` per id, committed by one full run.
pub(crate) async fn store_with_offers(ids: &[&str]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite"))
        .await
        .unwrap();
    let now = Utc::now();
    let source = SourceId::parse("board").unwrap();
    let run = store
        .start_run(&source, RunKind::Full, now, now)
        .await
        .unwrap();
    let records: Vec<IncomingRecord> = ids
        .iter()
        .map(|id| IncomingRecord {
            offer: Offer::new(key(id), &format!("Offre {id}"), "Texte", now),
            raw_payload: format!("{{\"id\":\"{id}\"}}"),
        })
        .collect();
    store
        .commit_batch(run, &records, &serde_json::json!({}), now)
        .await
        .unwrap();
    (dir, store)
}

/// The steps of SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`, its parameters unbound).
pub(crate) async fn query_plan(store: &Store, sql: &str) -> Vec<String> {
    sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}
