//! From a store commit to the offer being found by search, under a steady rate of changes: the
//! offers are loaded into a real SQLite store, `relais serve`'s live index (`live::Publisher`
//! and `live::Follower` as `serve::start_live_index` runs them, the code that ships) builds the
//! deduplicator, the publications and the index and follows the change log, and changed offers
//! are committed at a fixed rate. A change counts as searchable once `/readyz`'s position says
//! the index reflects it: the worker has published it and the index commit holding what it
//! published is visible to searches (the reader is reloaded before the position advances);
//! every changed offer is then searched for by a word only it has, to check that it is really
//! found.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use relais_index::{OfferIndex, SearchRequest};
use relais_model::{Offer, OfferKey, SourceId};
use relais_storage::{IncomingRecord, RunKind, RunOutcome, Store};
use tokio_util::sync::CancellationToken;

use crate::commands::serve::start_live_index;
use crate::config::Config;

/// What the measurement saw.
#[derive(Debug)]
pub struct IngestLatency {
    /// Commit → searchable, in ms, sorted.
    pub latencies_ms: Vec<f64>,
    /// Changes committed.
    pub changes: usize,
    /// The data directory (store and index) left behind, for `--http` to serve.
    pub data_dir: tempfile::TempDir,
}

/// A word no generated text holds: `zq` and the change's number in consonants (a word with no
/// vowel is left whole by the French stemmer, so two markers never meet).
fn marker(n: usize) -> String {
    const LETTERS: &[u8; 16] = b"bcdfghjklmnpqrvw";
    let mut word = String::from("zq");
    let mut rest = n;
    loop {
        word.push(char::from(LETTERS[rest % 16]));
        rest /= 16;
        if rest == 0 {
            return word;
        }
    }
}

fn record(offer: Offer) -> IncomingRecord {
    // The store tells a change by its raw payload, as a source sends it.
    IncomingRecord {
        raw_payload: serde_json::to_string(&offer).expect("an offer serialises"),
        offer,
    }
}

/// Loads `offers`, then commits `rate` changed offers per second for `seconds` and times each.
pub fn measure(offers: Vec<Offer>, rate: usize, seconds: u64) -> anyhow::Result<IngestLatency> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(offers, rate, seconds))
}

async fn run(offers: Vec<Offer>, rate: usize, seconds: u64) -> anyhow::Result<IngestLatency> {
    let dir = tempfile::tempdir()?;
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite")).await?;
    let index = OfferIndex::open_or_create(&dir.path().join("index"))?;
    // One source for the whole corpus, ids in order: the store and the index see what a sync
    // writes. France Travail's: the corpus is its offers, and only a source the configuration may
    // publish is indexed (an unknown source's offers are withheld: the index would be empty).
    let source = SourceId::parse(relais_ingest::francetravail::SOURCE_ID).expect("valid source id");
    let offers: Vec<Offer> = offers
        .into_iter()
        .enumerate()
        .map(|(n, mut offer)| {
            offer.key = OfferKey::new(source.clone(), &format!("B{n:07}")).expect("valid key");
            offer
        })
        .collect();
    let now = chrono::Utc::now();
    let run_id = store.start_run(&source, RunKind::Full, now, now).await?;
    let loading = Instant::now();
    for chunk in offers.chunks(5_000) {
        let records: Vec<IncomingRecord> = chunk.iter().cloned().map(record).collect();
        store
            .commit_batch(run_id, &records, &serde_json::Value::Null, now)
            .await?;
    }
    // A complete run confirms the stock: a source never confirmed is withheld everywhere
    // (`duties.max_staleness_hours`), and `relais serve` would answer every search empty.
    store
        .finish_run(
            run_id,
            RunOutcome::Complete,
            &[],
            &serde_json::Value::Null,
            None,
        )
        .await?;
    eprintln!(
        "live: {} offers stored in {:.1} s",
        offers.len(),
        loading.elapsed().as_secs_f64()
    );

    let cancel = CancellationToken::new();
    let live = start_live_index(&Config::default(), &store, &index, &cancel);
    let status = live.status.clone();
    let starting = Instant::now();
    let loaded_seq = store.last_change_seq().await?;
    while !(status.readiness().following && status.readiness().index_change_seq >= loaded_seq) {
        anyhow::ensure!(
            starting.elapsed() < Duration::from_secs(3_600),
            "the live index did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "live: deduplicator, publications and index ready in {:.1} s ({} offers indexed)",
        starting.elapsed().as_secs_f64(),
        index.len()
    );
    // The corpus holds one offer per job; the deduplicator may merge a few lookalikes (at most
    // about 1 %): fewer offers than that means the follower withheld some (a source the
    // configuration may not publish), and the figures would not be those of the whole corpus.
    anyhow::ensure!(
        index.len() as usize >= offers.len() * 95 / 100,
        "the live index holds {} of {} offers",
        index.len(),
        offers.len()
    );

    // Changes every 100 ms; a watcher notes when each commit's sequence becomes searchable.
    let per_tick = (rate / 10).max(1);
    let mut pending: VecDeque<(i64, Instant)> = VecDeque::new();
    let mut latencies = Vec::new();
    // The last word each changed offer got (an offer changed twice keeps only its last).
    let mut markers = std::collections::BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut changed = 0usize;
    let mut next_offer = 0usize;
    while Instant::now() < deadline || !pending.is_empty() {
        if Instant::now() < deadline {
            tick.tick().await;
            let mut batch = Vec::with_capacity(per_tick);
            for _ in 0..per_tick {
                let mut offer = offers[next_offer % offers.len()].clone();
                next_offer += 7_919;
                let word = marker(changed);
                offer.title = format!("{} {word}", offer.title);
                markers.insert(offer.key.to_string(), word);
                batch.push(record(offer));
                changed += 1;
            }
            store
                .commit_batch(run_id, &batch, &serde_json::Value::Null, chrono::Utc::now())
                .await?;
            pending.push_back((store.last_change_seq().await?, Instant::now()));
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Poll at 1 ms between ticks.
        let until = Instant::now() + Duration::from_millis(95);
        while let Some(&(seq, committed)) = pending.front() {
            if status.readiness().index_change_seq >= seq {
                let elapsed = committed.elapsed().as_secs_f64() * 1e3;
                latencies.extend(std::iter::repeat_n(elapsed, per_tick));
                pending.pop_front();
            } else if Instant::now() < until && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            } else {
                break;
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline + Duration::from_secs(120),
            "changes not applied two minutes after the last commit"
        );
    }
    cancel.cancel();
    live.stopped().await;
    // Each change is really published, and found by its own word when it is the copy its job
    // is shown through (another copy's title is not indexed; it is listed as "also published on").
    for (key, word) in &markers {
        anyhow::ensure!(
            !index.published_with(key)?.is_empty(),
            "{key} is not published after its change"
        );
        if index.summary(key)?.is_some() {
            let found = index.search_offers(
                &SearchRequest {
                    text: Some(word.clone()),
                    limit: 1,
                    ..SearchRequest::default()
                },
                false,
            )?;
            anyhow::ensure!(
                found.hits.first().is_some_and(|hit| &hit.key == key),
                "change of {key} (`{word}`) is not searchable"
            );
        }
    }
    latencies.sort_by(f64::total_cmp);
    store.close().await;
    drop(index);
    Ok(IngestLatency {
        latencies_ms: latencies,
        changes: changed,
        data_dir: dir,
    })
}
