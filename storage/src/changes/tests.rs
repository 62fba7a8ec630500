use super::FIRST_CHANGE_SINCE;
use crate::Store;
use crate::testing::{key, query_plan, store_suite, store_with_offers};

/// Pruning finds where the recent changes start in one step down the time index, however long
/// the log (a week at 100 changes a second is 60 million entries).
#[tokio::test]
async fn the_first_recent_change_is_found_down_the_time_index() {
    let (_dir, store) = store_with_offers(&["1"]).await;
    let plan = query_plan(&store, FIRST_CHANGE_SINCE).await;
    assert_eq!(
        plan,
        ["SEARCH offer_changes USING COVERING INDEX offer_changes_by_time (changed_at>?)"],
        "no sort, no scan"
    );
}

/// Writers committing at once, and a reader following the log by position: the reader sees
/// every change exactly once. On PostgreSQL this holds because writers take turns: a sequence
/// number given to a transaction that committed late would otherwise appear behind the reader.
async fn a_reader_following_concurrent_writers_misses_nothing(store: Store) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 15;
    const PER_BATCH: usize = 5;
    let now = chrono::Utc::now();
    let source = relais_model::SourceId::parse("board").unwrap();
    let run = store
        .start_run(&source, crate::RunKind::Full, now, now)
        .await
        .unwrap();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for batch in 0..BATCHES {
                    let records: Vec<crate::IncomingRecord> = (0..PER_BATCH)
                        .map(|i| {
                            let id = format!("{writer}-{batch}-{i}");
                            crate::IncomingRecord {
                                offer: relais_model::Offer::new(key(&id), "Offre", "Texte", now),
                                raw_payload: id,
                            }
                        })
                        .collect();
                    store
                        .commit_batch(run, &records, &serde_json::json!({}), now)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let mut position = 0;
    let mut seen = std::collections::HashSet::new();
    let mut read = |changes: Vec<crate::OfferChange>, position: &mut i64| {
        for change in changes {
            *position = change.seq;
            assert!(seen.insert(change.key.to_string()), "{} twice", change.key);
        }
    };
    while !writers.iter().all(|writer| writer.is_finished()) {
        let changes = store.changes_after(position, 7).await.unwrap();
        read(changes, &mut position);
        tokio::task::yield_now().await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let rest = store.changes_after(position, 10_000).await.unwrap();
    read(rest, &mut position);
    assert_eq!(
        seen.len(),
        WRITERS * BATCHES * PER_BATCH,
        "every change seen once"
    );
}

store_suite!(a_reader_following_concurrent_writers_misses_nothing);
