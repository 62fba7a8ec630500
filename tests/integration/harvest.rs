//! Full sweeps and incremental syncs against the simulator.

use std::collections::BTreeSet;

use relais_ingest::RunReportOutcome;
use relais_model::{OfferKey, SourceId};
use relais_storage::Store;
use std::time::Duration;

use relais_fixtures::Latency;
use relais_ingest::francetravail::{
    FranceTravailClient, FranceTravailConfig, FranceTravailSource, SyncOptions,
};
use relais_tests::{client_config, simulator, source, store};

fn francetravail() -> SourceId {
    SourceId::parse("francetravail").unwrap()
}

async fn withdrawn_ids(store: &Store, candidates: &[String]) -> BTreeSet<String> {
    let mut withdrawn = BTreeSet::new();
    for id in candidates {
        let offer = store
            .offer(&OfferKey::new(francetravail(), id).unwrap())
            .await
            .unwrap()
            .unwrap();
        if !offer.status.is_active() {
            withdrawn.insert(id.clone());
        }
    }
    withdrawn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sweep_stores_the_whole_stock_once_even_above_the_cap() {
    let sim = simulator(12_000, 3, |_| {}).await;
    let (_dir, store) = store().await;
    let report = source(&sim, &store).run_full_sweep().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Complete, "{report:?}");
    assert_eq!(report.expected, Some(12_000));
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.new, 12_000);
    assert_eq!(
        store.source_counts(&francetravail()).await.unwrap().active,
        12_000
    );
    // Paris alone is above the cap: the sweep needed several windows, and they did not overlap.
    assert!(report.requests >= 12_000 / 150);
}

/// The API answers in a second here (the real one takes a few hundred milliseconds to a second,
/// and 10 % of its calls more). A harvest that waits for each window before asking the next, or
/// keeps a fixed handful of calls in flight, leaves the rate idle a second at a time; this one
/// keeps the rate's worth of calls answering and leaves no gap but the one after its first call
/// (whose answer says how many pages follow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_api_is_kept_busy_at_its_rate() {
    let second = Duration::from_secs(1);
    let sim = simulator(12_000, 3, |config| {
        config.latency = Some(Latency {
            median: second,
            p90: second,
        });
    })
    .await;
    let (_dir, store) = store().await;
    let client = FranceTravailClient::new(FranceTravailConfig {
        max_retries: 2,
        ..client_config(&sim, 20)
    })
    .unwrap();
    let ft = FranceTravailSource::new(client, store.clone(), SyncOptions::default());
    let report = ft.run_full_sweep().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Complete, "{report:?}");
    assert_eq!(report.new, 12_000);

    // Twenty calls a second that each take a second: twenty answering at once.
    assert!(
        sim.most_calls_answering() >= 15,
        "at most {} calls answering at once",
        sim.most_calls_answering()
    );
    let gaps = sim.long_call_gaps();
    // A harvest that waits for an answer before its next call leaves a gap of the whole latency;
    // a busy CI machine may delay a call by a few hundred milliseconds.
    let idle: Vec<_> = gaps
        .iter()
        .skip(1)
        .filter(|gap| **gap > Duration::from_millis(900))
        .collect();
    assert!(idle.is_empty(), "the rate stood idle: gaps {gaps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_sweep_withdraws_exactly_the_withdrawn_offers_and_brings_back_those_that_reappear()
 {
    let sim = simulator(8_000, 4, |_| {}).await;
    let (_dir, store) = store().await;
    let ft = source(&sim, &store);
    ft.run_full_sweep().await.unwrap();
    let all = sim.active_ids();
    let gone = sim.withdraw(1_000);

    let report = ft.run_full_sweep().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Complete, "{report:?}");
    assert_eq!(report.withdrawn, 1_000);
    let expected: BTreeSet<String> = gone.iter().cloned().collect();
    assert_eq!(withdrawn_ids(&store, &all).await, expected);

    let back = sim.restore(&gone[..10]);
    assert_eq!(back.len(), 10);
    let report = ft.run_full_sweep().await.unwrap();
    assert_eq!((report.reactivated, report.withdrawn), (10, 0));
    let counts = store.source_counts(&francetravail()).await.unwrap();
    assert_eq!((counts.active, counts.withdrawn), (7_010, 990));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_with_a_failing_partition_withdraws_nothing_and_names_it() {
    let sim = simulator(4_000, 5, |_| {}).await;
    let (_dir, store) = store().await;
    let ft = source(&sim, &store);
    ft.run_full_sweep().await.unwrap();
    sim.withdraw(200);
    sim.fail_partition("46");
    let report = ft.run_full_sweep().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Failed);
    assert_eq!(report.failed_partitions, vec!["departement=46".to_owned()]);
    assert_eq!(report.withdrawn, 0);
    let counts = store.source_counts(&francetravail()).await.unwrap();
    assert_eq!((counts.active, counts.withdrawn), (4_000, 0));
    let last = store
        .latest_run(&francetravail(), None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.failed_partitions, vec!["departement=46".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_whose_national_window_read_fails_withdraws_nothing() {
    let sim = simulator(4_000, 5, |_| {}).await;
    let (_dir, store) = store().await;
    let ft = source(&sim, &store);
    ft.run_full_sweep().await.unwrap();
    sim.withdraw(200);
    // One window of the national harvest fails (retries exhausted), the counts do not.
    let some_offer = sim.active_ids()[1234].clone();
    sim.fail_window_containing(sim.creation_of(&some_offer).unwrap());
    let report = ft.run_full_sweep().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Failed, "{report:?}");
    assert_eq!(report.withdrawn, 0, "{report:?}");
    assert!(!report.failed_partitions.is_empty(), "{report:?}");
    let counts = store.source_counts(&francetravail()).await.unwrap();
    assert_eq!((counts.active, counts.withdrawn), (4_000, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_reads_new_offers_and_withdraws_nothing() {
    let sim = simulator(3_000, 6, |_| {}).await;
    let (_dir, store) = store().await;
    let ft = source(&sim, &store);
    ft.run_full_sweep().await.unwrap();
    sim.withdraw(100);
    let created = sim.create(40);
    let report = ft.run_incremental_sync().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Complete, "{report:?}");
    assert_eq!((report.new, report.withdrawn), (40, 0));
    for id in &created {
        assert!(
            store
                .offer(&OfferKey::new(francetravail(), id).unwrap())
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        store.source_counts(&francetravail()).await.unwrap().active,
        3_040
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detail_answering_204_withdraws_the_offer() {
    let sim = simulator(500, 7, |_| {}).await;
    let (_dir, store) = store().await;
    let ft = source(&sim, &store);
    ft.run_full_sweep().await.unwrap();
    let gone = sim.withdraw(3);
    let still_there = sim.active_ids()[..2].to_vec();
    let ids: Vec<String> = gone.iter().chain(&still_there).cloned().collect();
    let report = ft.check_offers(&ids).await.unwrap();
    assert_eq!(report.withdrawn, 3);
    assert_eq!(report.unchanged, 2);
    assert_eq!(
        withdrawn_ids(&store, &ids).await,
        gone.into_iter().collect()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_tokens_expiring_and_throttling_lose_nothing() {
    let sim = simulator(5_000, 8, |c| {
        c.error_rate = 0.10;
        c.throttle_rate = 0.05;
        c.truncate_rate = 0.03;
        c.token_ttl = std::time::Duration::from_millis(400);
    })
    .await;
    let (_dir, store) = store().await;
    let config = relais_ingest::francetravail::FranceTravailConfig {
        max_retries: 8,
        ..relais_tests::client_config(&sim, 2_000)
    };
    let client = relais_ingest::francetravail::FranceTravailClient::new(config).unwrap();
    let ft = relais_ingest::francetravail::FranceTravailSource::new(
        client,
        store.clone(),
        Default::default(),
    );
    let report = ft.run_full_sweep().await.unwrap();
    assert_eq!(report.outcome, RunReportOutcome::Complete, "{report:?}");
    assert_eq!((report.new, report.duplicates), (5_000, 0));
    let stats = &ft.client().stats;
    assert!(stats.retries.load(std::sync::atomic::Ordering::Relaxed) > 0);
    // Tokens expired during the sweep and were renewed: more than one was asked and served.
    let asked = stats
        .token_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(asked >= 2 && sim.token_calls() >= 2, "{asked} tokens asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_while_the_stock_moves_loses_no_offer_that_stayed_available() {
    let sim = std::sync::Arc::new(simulator(15_000, 9, |c| c.rate_per_second = 300).await);
    let (_dir, store) = store().await;
    let before: BTreeSet<String> = sim.active_ids().into_iter().collect();
    let config = relais_ingest::francetravail::FranceTravailConfig {
        max_retries: 4,
        ..relais_tests::client_config(&sim, 300)
    };
    let client = relais_ingest::francetravail::FranceTravailClient::new(config).unwrap();
    let ft = relais_ingest::francetravail::FranceTravailSource::new(
        client,
        store.clone(),
        Default::default(),
    );

    // While the sweep pages, offers are withdrawn and created, as in the real stock.
    let churn = {
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut withdrawn = Vec::new();
            let mut changed_at = Vec::new();
            for _ in 0..20 {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                withdrawn.extend(sim.withdraw(5));
                sim.create(5);
                changed_at.push(std::time::Instant::now());
            }
            (withdrawn, changed_at)
        })
    };
    let started = std::time::Instant::now();
    let report = ft.run_full_sweep().await.unwrap();
    let ended = std::time::Instant::now();
    let (withdrawn, changed_at) = churn.await.unwrap();
    let withdrawn: BTreeSet<String> = withdrawn.into_iter().collect();
    assert!(!withdrawn.is_empty());
    let during = changed_at
        .iter()
        .filter(|at| (started..ended).contains(*at))
        .count();
    assert!(
        during >= 2,
        "the stock moved {during} times during the sweep ({:.1} s)",
        (ended - started).as_secs_f64()
    );

    // Whatever the outcome, every offer available from start to end is stored, once, and active.
    let mut missing = Vec::new();
    for id in before.difference(&withdrawn) {
        let stored = store
            .offer(&OfferKey::new(francetravail(), id).unwrap())
            .await
            .unwrap();
        if !stored.is_some_and(|offer| offer.status.is_active()) {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} offers lost or withdrawn: {:?}; {report:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(report.duplicates, 0);
    // Withdrawals during the sweep only lower the API's counts: the checks still pass.
    assert_eq!(report.outcome, RunReportOutcome::Complete, "{report:?}");
}
