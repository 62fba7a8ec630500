use chrono::{Duration, Utc};
use relais_model::{DepartementCode, Offer, OfferKey, SourceId};

use crate::testing::store_suite;
use crate::{IncomingRecord, RunKind, RunOutcome, Store};

fn source() -> SourceId {
    SourceId::parse("francetravail").unwrap()
}

fn record(id: &str, departement: &str, payload: &str) -> IncomingRecord {
    let key = OfferKey::new(source(), id).unwrap();
    let mut offer = Offer::new(key, &format!("Offre {id}"), "Description", Utc::now());
    offer.location.departement = Some(DepartementCode::parse(departement).unwrap());
    IncomingRecord {
        offer,
        raw_payload: payload.to_owned(),
    }
}

async fn batch_commit_counts_new_changed_unchanged_and_moves_the_cursor(store: Store) {
    let now = Utc::now();
    let run = store
        .start_run(&source(), RunKind::Full, now, now)
        .await
        .unwrap();
    let first = store
        .commit_batch(
            run,
            &[
                record("100AAAA", "46", "{\"v\":1}"),
                record("100AAAB", "75", "{\"v\":1}"),
            ],
            &serde_json::json!({"step": 1}),
            now,
        )
        .await
        .unwrap();
    assert_eq!((first.new, first.changed, first.unchanged), (2, 0, 0));
    let second = store
        .commit_batch(
            run,
            &[
                record("100AAAA", "46", "{\"v\":2}"),
                record("100AAAB", "75", "{\"v\":1}"),
            ],
            &serde_json::json!({"step": 2}),
            now + Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!((second.new, second.changed, second.unchanged), (0, 1, 1));
    assert_eq!(
        store.run(run).await.unwrap().cursor,
        Some(serde_json::json!({"step": 2}))
    );
    let key = OfferKey::new(source(), "100AAAA").unwrap();
    assert_eq!(
        store.raw_payload(&key).await.unwrap().as_deref(),
        Some("{\"v\":2}")
    );
    // Both versions are kept, oldest first; an unchanged payload is not stored twice.
    assert_eq!(
        store.raw_payloads(&key).await.unwrap(),
        ["{\"v\":1}", "{\"v\":2}"]
    );
    let unchanged = OfferKey::new(source(), "100AAAB").unwrap();
    assert_eq!(store.raw_payloads(&unchanged).await.unwrap(), ["{\"v\":1}"]);
    assert_eq!(store.source_counts(&source()).await.unwrap().active, 2);
}

async fn a_complete_sweep_withdraws_only_offers_unseen_since_its_snapshot_and_reappearing_offers_come_back(
    store: Store,
) {
    let t0 = Utc::now() - Duration::hours(2);
    let first = store
        .start_run(&source(), RunKind::Full, t0, t0)
        .await
        .unwrap();
    store
        .commit_batch(
            first,
            &[record("100AAAA", "46", "a"), record("100AAAB", "46", "b")],
            &serde_json::json!({}),
            t0,
        )
        .await
        .unwrap();
    let t1 = t0 + Duration::hours(1);
    let second = store
        .start_run(&source(), RunKind::Full, t1, t1)
        .await
        .unwrap();
    store
        .commit_batch(
            second,
            &[record("100AAAA", "46", "a")],
            &serde_json::json!({}),
            t1 + Duration::seconds(5),
        )
        .await
        .unwrap();
    let withdrawn = store
        .withdraw_offers_missing_from_complete_sweep(&source(), second, t1, t1)
        .await
        .unwrap();
    assert_eq!(withdrawn, vec!["100AAAB".to_owned()]);
    let counts = store.source_counts(&source()).await.unwrap();
    assert_eq!((counts.active, counts.withdrawn), (1, 1));
    let key = OfferKey::new(source(), "100AAAB").unwrap();
    assert!(!store.offer(&key).await.unwrap().unwrap().status.is_active());

    let t2 = t1 + Duration::hours(1);
    let third = store
        .start_run(&source(), RunKind::Incremental, t2, t2)
        .await
        .unwrap();
    let outcome = store
        .commit_batch(
            third,
            &[record("100AAAB", "46", "b")],
            &serde_json::json!({}),
            t2,
        )
        .await
        .unwrap();
    assert_eq!(outcome.reactivated, 1);
    assert!(store.offer(&key).await.unwrap().unwrap().status.is_active());
}

async fn running_runs_are_abandoned_and_latest_run_is_found(store: Store) {
    let now = Utc::now();
    let run = store
        .start_run(&source(), RunKind::Full, now, now)
        .await
        .unwrap();
    let abandoned = store.abandon_running_runs(&source()).await.unwrap();
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].id, run);
    let next = store
        .start_run(&source(), RunKind::Incremental, now, now)
        .await
        .unwrap();
    store
        .finish_run(
            next,
            RunOutcome::Failed,
            &["departement=46".into()],
            &serde_json::json!({"fetched": 3}),
            Some("boom"),
        )
        .await
        .unwrap();
    let latest = store
        .latest_run(&source(), None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (latest.id, latest.outcome, latest.failed_partitions.clone()),
        (next, RunOutcome::Failed, vec!["departement=46".to_owned()])
    );
    let full = store
        .latest_run(&source(), Some(RunKind::Full), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(full.outcome, RunOutcome::Abandoned);
}

async fn a_large_batch_with_repeats_and_two_sources_is_counted_in_order(store: Store) {
    let now = Utc::now();
    let run = store
        .start_run(&source(), RunKind::Full, now, now)
        .await
        .unwrap();
    // More records than one multi-row statement holds; one id repeated with new content.
    let mut records: Vec<IncomingRecord> = (0..450)
        .map(|i| record(&format!("{i:03}AAAA"), "46", "{\"v\":1}"))
        .collect();
    records.push(record("000AAAA", "46", "{\"v\":2}"));
    let mut other = record("000AAAA", "75", "{\"v\":1}");
    other.offer.key = OfferKey::new(SourceId::parse("hellowork").unwrap(), "000AAAA").unwrap();
    records.push(other);
    let preview = store.preview_batch(&records).await.unwrap();
    let outcome = store
        .commit_batch(run, &records, &serde_json::json!({}), now)
        .await
        .unwrap();
    assert_eq!(preview, outcome);
    assert_eq!(
        (outcome.new, outcome.changed, outcome.unchanged),
        (451, 1, 0)
    );
    let key = OfferKey::new(source(), "000AAAA").unwrap();
    assert_eq!(
        store.raw_payload(&key).await.unwrap().as_deref(),
        Some("{\"v\":2}")
    );
    assert_eq!(store.raw_payloads(&key).await.unwrap().len(), 2);
    let again = store
        .commit_batch(run, &records[..450], &serde_json::json!({}), now)
        .await
        .unwrap();
    assert_eq!((again.new, again.changed, again.unchanged), (0, 1, 449));
    assert_eq!(
        store
            .count_offers_seen_by_run(&source(), run)
            .await
            .unwrap(),
        450
    );
}

async fn every_change_is_logged_in_commit_order_and_pruning_keeps_the_sequence(store: Store) {
    use crate::ChangeKind::{self, *};
    assert_eq!(store.last_change_seq().await.unwrap(), 0);
    let t0 = Utc::now() - Duration::hours(2);
    let run = store
        .start_run(&source(), RunKind::Full, t0, t0)
        .await
        .unwrap();
    let commit = |records: Vec<IncomingRecord>, at| {
        let store = store.clone();
        async move {
            store
                .commit_batch(run, &records, &serde_json::json!({}), at)
                .await
                .unwrap()
        }
    };
    commit(vec![record("1", "46", "a"), record("2", "46", "b")], t0).await;
    // Unchanged: nothing logged; changed: logged.
    commit(vec![record("1", "46", "a"), record("2", "46", "b2")], t0).await;
    let t1 = t0 + Duration::hours(1);
    let sweep = store
        .start_run(&source(), RunKind::Full, t1, t1)
        .await
        .unwrap();
    store
        .commit_batch(
            sweep,
            &[record("2", "46", "b2")],
            &serde_json::json!({}),
            t1,
        )
        .await
        .unwrap();
    store
        .withdraw_offers_missing_from_complete_sweep(&source(), sweep, t1, t1)
        .await
        .unwrap();
    commit(vec![record("1", "46", "a")], t1 + Duration::seconds(1)).await;
    let gone = OfferKey::new(source(), "2").unwrap();
    assert!(
        store
            .withdraw_offer_gone_at_source(&gone, t1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .withdraw_offer_gone_at_source(&gone, t1)
            .await
            .unwrap(),
        "already withdrawn: not logged again"
    );

    let log = store.changes_after(0, 100).await.unwrap();
    let seen: Vec<(&str, ChangeKind)> = log
        .iter()
        .map(|c| (c.key.source_offer_id(), c.kind))
        .collect();
    assert_eq!(
        seen,
        [
            ("1", Created),
            ("2", Created),
            ("2", Changed),
            ("1", Withdrawn),
            ("1", Reactivated),
            ("2", Withdrawn)
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(store.changes_after(log[3].seq, 100).await.unwrap().len(), 2);
    assert_eq!(store.changes_after(0, 2).await.unwrap().len(), 2);

    let last = store.last_change_seq().await.unwrap();
    assert_eq!(last, log[5].seq);
    assert_eq!(store.prune_changes_before(log[4].seq).await.unwrap(), 4);
    assert_eq!(store.oldest_change_seq().await.unwrap(), Some(log[4].seq));
    assert_eq!(
        store.prune_changes_before(last + 1).await.unwrap(),
        1,
        "the newest entry is kept: it holds the highest number given"
    );
    assert_eq!(store.oldest_change_seq().await.unwrap(), Some(last));
    assert_eq!(
        store.last_change_seq().await.unwrap(),
        last,
        "numbers are never reused"
    );
    commit(vec![record("3", "46", "c")], t1).await;
    assert!(store.changes_after(last, 10).await.unwrap()[0].seq > last);
}

async fn offers_by_key_come_from_every_source_asked(store: Store) {
    let now = Utc::now();
    let other = SourceId::parse("hellowork").unwrap();
    for source in [source(), other.clone()] {
        let run = store
            .start_run(&source, RunKind::Full, now, now)
            .await
            .unwrap();
        let records: Vec<IncomingRecord> = ["A1", "A2", "A3"]
            .into_iter()
            .map(|id| {
                let mut record = record(id, "46", "{}");
                record.offer.key = OfferKey::new(source.clone(), id).unwrap();
                record
            })
            .collect();
        store
            .commit_batch(run, &records, &serde_json::Value::Null, now)
            .await
            .unwrap();
    }
    let asked = [
        OfferKey::new(source(), "A1").unwrap(),
        OfferKey::new(other.clone(), "A3").unwrap(),
        OfferKey::new(other.clone(), "A1").unwrap(),
        OfferKey::new(other, "absent").unwrap(),
    ];
    let mut found: Vec<String> = store
        .offers(&asked)
        .await
        .unwrap()
        .iter()
        .map(|offer| offer.key.to_string())
        .collect();
    found.sort();
    assert_eq!(
        found,
        ["francetravail:A1", "hellowork:A1", "hellowork:A3"],
        "each source's own offers, the absent left out"
    );
    assert!(store.offers(&[]).await.unwrap().is_empty());
}

/// Every feed page and publication write asks rows by key: each one a search of the primary
/// key, never a scan of the table (SQLite 3.40 scanned for a row-value list; the bundled 3.46
/// searches).
#[tokio::test]
async fn offers_by_key_search_the_primary_key_in_sqlite() {
    let (_keep, store) = crate::testing::sqlite_store().await;
    let asked = [
        OfferKey::new(source(), "A1").unwrap(),
        OfferKey::new(SourceId::parse("hellowork").unwrap(), "A3").unwrap(),
    ];
    for table in ["offers", "publications"] {
        let mut plan = crate::keys_in(
            format!(
                "EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE (source, source_offer_id) IN ("
            ),
            &asked,
        );
        let details: Vec<String> = plan
            .build()
            .fetch_all(crate::testing::sqlite_pool(&store))
            .await
            .unwrap()
            .iter()
            .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
            .collect();
        assert!(
            !details.contains(&format!("SCAN {table}"))
                && details
                    .iter()
                    .any(|detail| detail.starts_with(&format!("SEARCH {table} USING"))),
            "{table}: {details:?}"
        );
    }
}

store_suite!(
    every_change_is_logged_in_commit_order_and_pruning_keeps_the_sequence,
    batch_commit_counts_new_changed_unchanged_and_moves_the_cursor,
    a_complete_sweep_withdraws_only_offers_unseen_since_its_snapshot_and_reappearing_offers_come_back,
    running_runs_are_abandoned_and_latest_run_is_found,
    a_large_batch_with_repeats_and_two_sources_is_counted_in_order,
    offers_by_key_come_from_every_source_asked,
);
