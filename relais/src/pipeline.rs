//! The order of the stages: source → store → index → publication. Commands and the scheduler
//! call these functions; nothing else wires the crates together.

use std::collections::HashSet;
use std::sync::mpsc;

use anyhow::Context;
use rayon::prelude::*;
use relais_dedup::{ClusterView, Deduplicator, Prepared, Record};
use relais_index::{AlsoPublishedOn, OfferIndex};
use relais_ingest::RunReport;
use relais_ingest::feeds::{FeedRunOptions, FeedSource};
use relais_ingest::francetravail::{
    FranceTravailClient, FranceTravailSource, SOURCE_ID, SyncOptions,
};
use relais_model::{Offer, OfferKey};
use relais_storage::{LogState, PublicationRow, Store};

use crate::config::Config;

/// The store and the index of a configuration.
pub async fn open(config: &Config) -> anyhow::Result<(Store, OfferIndex)> {
    let store = open_store(config).await?;
    let index = OfferIndex::open_or_create(&config.index_dir())?;
    Ok((store, index))
}

/// Opens the store alone (the CLI's commands that do not read the index).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = match config.postgres_url() {
        Some(url) => Store::open_postgres(url).await,
        None => Store::open_sqlite(&config.database_path()).await,
    };
    store.with_context(|| format!("cannot open the store at `{}`", config.store_location()))
}

/// Which France Travail run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FranceTravailRun {
    /// The whole stock, with withdrawals.
    Full,
    /// What was created since the last complete run.
    Incremental,
    /// These offers, through the detail endpoint: refreshed, or withdrawn when gone (204).
    Check(Vec<String>),
}

/// Runs France Travail once under its lock; `Ok(None)` when another run holds the lock.
pub async fn sync_francetravail(
    config: &Config,
    store: &Store,
    run: FranceTravailRun,
) -> anyhow::Result<Option<RunReport>> {
    anyhow::ensure!(
        config.francetravail.has_credentials(),
        "France Travail credentials are not set: RELAIS_FRANCETRAVAIL__CLIENT_ID and RELAIS_FRANCETRAVAIL__CLIENT_SECRET"
    );
    let Some(_lease) = store.try_lease(SOURCE_ID).await? else {
        return Ok(None);
    };
    let client = FranceTravailClient::new(config.francetravail.client_config())?;
    let source = FranceTravailSource::new(client, store.clone(), SyncOptions::default());
    let report = match run {
        FranceTravailRun::Full => source.run_full_sweep().await?,
        FranceTravailRun::Incremental => source.run_incremental_sync().await?,
        FranceTravailRun::Check(ids) => source.check_offers(&ids).await?,
    };
    Ok(Some(report))
}

/// Runs the partner source `id` once under its lock; `Ok(None)` when another run holds the lock.
pub async fn sync_feed(
    config: &Config,
    store: &Store,
    id: &str,
    options: FeedRunOptions,
) -> anyhow::Result<Option<RunReport>> {
    let settings = config
        .source(id)
        .with_context(|| format!("no source `{id}` in the configuration"))?;
    let Some(_lease) = store.try_lease(id).await? else {
        return Ok(None);
    };
    let source = FeedSource::new(settings.clone(), store.clone(), config.downloads_dir())?;
    Ok(Some(source.run(options).await?))
}

/// The offer change log's reader that deduplicates and publishes (see `live::Publisher`).
pub const WORKER: &str = "worker";

/// Deduplicates the active offers of the store that may be published (see
/// [`Config::publishable`]): one pass to count boilerplate, one to place every offer with its
/// source's trust rank.
pub async fn deduplicate(config: &Config, store: &Store) -> anyhow::Result<Deduplicator> {
    Ok(deduplicate_counting(config, store).await?.0)
}

/// [`deduplicate`], also counting the active offers withheld (sources whose terms forbid
/// redistribution).
async fn deduplicate_counting(
    config: &Config,
    store: &Store,
) -> anyhow::Result<(Deduplicator, u64)> {
    let mut dedup = Deduplicator::new(config.dedup.clone())?;
    let mut withheld = 0;
    // Read in batches whose features are computed on every core; learned and placed in the
    // store's order, which gives the same jobs as one offer after the other.
    let mut batch: Vec<Offer> = Vec::with_capacity(REBUILD_BATCH);
    store
        .for_each_active_offer(|offer| {
            if config.publishable(offer.key.source()) {
                batch.push(offer);
                if batch.len() == REBUILD_BATCH {
                    observe_batch(&mut dedup, &mut batch);
                }
            } else {
                withheld += 1;
            }
        })
        .await?;
    observe_batch(&mut dedup, &mut batch);
    store
        .for_each_active_offer(|offer| {
            if config.publishable(offer.key.source()) {
                batch.push(offer);
                if batch.len() == REBUILD_BATCH {
                    place_batch(config, &mut dedup, &mut batch);
                }
            }
        })
        .await?;
    place_batch(config, &mut dedup, &mut batch);
    // Built from scratch: whoever uses it compares every offer's row, not only the moved ones.
    dedup.take_replaced();
    Ok((dedup, withheld))
}

/// Offers read from the store at a time when the deduplicator is rebuilt.
const REBUILD_BATCH: usize = 4_096;

/// Learns the frequent text of `offers`, their keys computed on every core: before their
/// features are extracted, as a rebuild learns every offer before it places any.
pub(crate) fn observe_offers(dedup: &mut Deduplicator, offers: &[&Offer]) {
    let keys: Vec<Vec<u64>> = offers
        .par_iter()
        .map(|offer| dedup.frequency_keys(offer))
        .collect();
    for keys in &keys {
        dedup.observe_keys(keys);
    }
}

/// The features of `offers` and their comparisons with the offers held (see
/// `Deduplicator::prepare`), on every core; placed in their order with `upsert_prepared`, they
/// give the same jobs as one by one.
pub(crate) fn prepare_offers(
    config: &Config,
    dedup: &Deduplicator,
    offers: &[&Offer],
) -> Vec<(Record, Prepared)> {
    offers
        .par_iter()
        .map(|offer| {
            let record = dedup.extract(offer, config.trust_rank(offer.key.source()));
            let prepared = dedup.prepare(&record);
            (record, prepared)
        })
        .collect()
}

/// Learns the frequent text of `offers`, and empties it.
fn observe_batch(dedup: &mut Deduplicator, offers: &mut Vec<Offer>) {
    observe_offers(dedup, &offers.iter().collect::<Vec<_>>());
    offers.clear();
}

/// Places `offers` in their order, prepared on every core first, and empties it.
fn place_batch(config: &Config, dedup: &mut Deduplicator, offers: &mut Vec<Offer>) {
    let prepared = prepare_offers(config, dedup, &offers.iter().collect::<Vec<_>>());
    offers.clear();
    for (record, prepared) in prepared {
        dedup.upsert_prepared(record, &prepared);
    }
}

/// What a reindex did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reindexed {
    /// Offers indexed (one per job).
    pub indexed: u64,
    /// Active offers shown only as "also published on" of another copy of their job.
    pub duplicates: u64,
    /// Active offers of sources whose terms forbid redistribution: neither indexed nor linked.
    pub withheld: u64,
}

/// Deduplicates the active offers of the store, brings the store's publications in line with
/// it (see [`reconcile`]), then rebuilds the index from them: one offer per job, the canonical
/// copy with its "also published on" links.
pub async fn reindex(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
) -> anyhow::Result<Reindexed> {
    // Read before the offers; the worker's position when it has one, since an index that
    // applied these publications does not reflect the changes it has yet to apply.
    let change_seq = match store.log_position(WORKER).await? {
        Some(position) => position,
        None => store.last_change_seq().await?,
    };
    let (dedup, withheld) = deduplicate_counting(config, store).await?;
    reconcile(store, &dedup, change_seq, false).await?;
    let (indexed, _) = rebuild_index(store, index).await?;
    Ok(Reindexed {
        indexed,
        duplicates: (dedup.len() - dedup.cluster_count()) as u64,
        withheld,
    })
}

/// Rebuilds the index from the store's publications, streaming them to an indexing thread;
/// returns how many offers it holds and where the logs stood before (the publication sequence
/// it reflects is recorded in its commit: a follower of the publication log goes on from there).
pub async fn rebuild_index(store: &Store, index: &OfferIndex) -> anyhow::Result<(u64, LogState)> {
    // Read before the publications: an entry written meanwhile is applied again by the
    // follower, which is harmless (applying an entry re-reads the offer).
    let state = store.log_state(WORKER).await?;
    let publication_seq = state.publication_seq;
    let (sender, receiver) = mpsc::sync_channel(1_024);
    let indexer = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            index.rebuild_published(receiver, Some(publication_seq))
        })
    };
    let streamed = store
        .for_each_published_offer(|offer, links| {
            let links = parse_links(&offer.key.to_string(), &links);
            // The indexing thread only stops early on error, which `indexer` then reports.
            let _ = sender.send((offer, links));
        })
        .await;
    drop(sender);
    let indexed = indexer.await.context("indexing thread")??;
    streamed?;
    Ok((indexed, state))
}

/// What the deduplicator publishes about offer `key`: the copy its job is shown through, and
/// its "also published on" links when it is that copy; `None` when it does not hold the offer.
pub fn publication_row(dedup: &Deduplicator, key: &str) -> Option<PublicationRow> {
    let cluster = dedup.cluster_of(key)?;
    let shown_through = cluster.canonical.key.to_string();
    let links = (shown_through == key).then(|| links_json(&links_of(&cluster)));
    Some(PublicationRow {
        shown_through,
        links,
    })
}

/// What the store's publication log must say when an offer's row goes from `old` to `new`:
/// `Some(Some(links))` to (re)index it, `Some(None)` to take it out of the indexes, `None`
/// for nothing. `changed`: the offer itself changed (its entry is rewritten even when its links
/// did not move).
pub fn log_entry(
    old: Option<&PublicationRow>,
    new: Option<&PublicationRow>,
    changed: bool,
) -> Option<Option<String>> {
    let old_links = old.and_then(|row| row.links.as_ref());
    match new.and_then(|row| row.links.as_ref()) {
        Some(links) if changed || old_links != Some(links) => Some(Some(links.clone())),
        Some(_) => None,
        None => old_links.map(|_| None),
    }
}

/// Writes to the store what the deduplicator publishes differently from what the store holds
/// (a worker's start, `relais reindex`): the rows that differ, and a log entry for each offer
/// published with other links, newly published or no longer published; with `every`, each
/// published offer is logged, changed or not (an index must re-read them all). `change_seq`:
/// the offer change the deduplicator reflects at least, the entries' base (see
/// `PublicationChange::base_change_seq`). Returns how many log entries were written.
pub async fn reconcile(
    store: &Store,
    dedup: &Deduplicator,
    change_seq: i64,
    every: bool,
) -> anyhow::Result<usize> {
    let mut diff = Diff::default();
    // The offers the store has a row for, against what the deduplicator says of them.
    let mut present: HashSet<Box<str>> = HashSet::new();
    store
        .for_each_publication_row(|key, old| {
            let text = key.to_string();
            let new = publication_row(dedup, &text);
            diff.add(key, Some(&old), new, every);
            present.insert(text.into());
        })
        .await?;
    // The offers the deduplicator holds that the store has no row for, written in chunks (all
    // of them at a first start).
    for cluster in dedup.clusters() {
        let shown_through = cluster.canonical.key.to_string();
        for member in &cluster.members {
            if present.contains(&*member.key) {
                continue;
            }
            let key = OfferKey::parse(&member.key)
                .with_context(|| format!("offer key `{}`", member.key))?;
            let links = (*member.key == *shown_through).then(|| links_json(&links_of(&cluster)));
            let row = PublicationRow {
                shown_through: shown_through.clone(),
                links,
            };
            diff.add(key, None, Some(row), every);
            if diff.rows.len() >= RECONCILE_CHUNK {
                diff.write(store, change_seq).await?;
            }
        }
    }
    diff.write(store, change_seq).await?;
    Ok(diff.logged)
}

/// Rows written per transaction by [`reconcile`]: its memory stays flat at a first start, and a
/// crash between two chunks is harmless (the next start reconciles again).
const RECONCILE_CHUNK: usize = 20_000;

/// Rows and log entries to write, and how many entries were written.
#[derive(Default)]
struct Diff {
    rows: Vec<(OfferKey, Option<PublicationRow>)>,
    log: Vec<(OfferKey, Option<String>)>,
    logged: usize,
}

impl Diff {
    /// An offer's row going from `old` to `new`.
    fn add(
        &mut self,
        key: OfferKey,
        old: Option<&PublicationRow>,
        new: Option<PublicationRow>,
        every: bool,
    ) {
        if let Some(entry) = log_entry(old, new.as_ref(), every) {
            self.log.push((key.clone(), entry));
        }
        if old != new.as_ref() {
            self.rows.push((key, new));
        }
    }

    async fn write(&mut self, store: &Store, change_seq: i64) -> anyhow::Result<()> {
        if self.rows.is_empty() && self.log.is_empty() {
            return Ok(());
        }
        store
            .write_publications(&self.rows, &self.log, change_seq, None)
            .await?;
        self.logged += self.log.len();
        self.rows.clear();
        self.log.clear();
        Ok(())
    }
}

/// The other members of a cluster, as "also published on" links of its canonical member.
fn links_of(cluster: &ClusterView<'_>) -> Vec<AlsoPublishedOn> {
    cluster
        .members
        .iter()
        .filter(|member| member.key != cluster.canonical.key)
        .map(|member| AlsoPublishedOn {
            key: member.key.to_string(),
            source: member.source.to_string(),
            url: member.offer_url.as_deref().map(str::to_owned),
        })
        .collect()
}

fn links_json(links: &[AlsoPublishedOn]) -> String {
    serde_json::to_string(links).expect("links serialise")
}

/// Links as the store keeps them; unreadable ones (which relais does not write) are dropped
/// with a warning rather than failing the whole index.
pub fn parse_links(key: &str, links: &str) -> Vec<AlsoPublishedOn> {
    serde_json::from_str(links).unwrap_or_else(|error| {
        tracing::warn!(key, %error, "unreadable \"also published on\" links in the store; left out");
        Vec::new()
    })
}
