//! The order of the stages: source → store → index → publication. Commands and the scheduler
//! call these functions; nothing else wires the crates together.

use std::sync::mpsc;

use anyhow::Context;
use relais_dedup::Deduplicator;
use relais_index::{AlsoPublishedOn, OfferIndex};
use relais_ingest::RunReport;
use relais_ingest::feeds::{FeedRunOptions, FeedSource};
use relais_ingest::francetravail::{
    FranceTravailClient, FranceTravailSource, SOURCE_ID, SyncOptions,
};
use relais_storage::Store;

use crate::config::Config;
use crate::lock::try_lock_source;

/// The store and the index of a configuration.
pub async fn open(config: &Config) -> anyhow::Result<(Store, OfferIndex)> {
    let store = open_store(config).await?;
    let index = OfferIndex::open_or_create(&config.index_dir())?;
    Ok((store, index))
}

/// Opens the store alone (the CLI's commands that do not read the index).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::open_sqlite(&config.database_path())
        .await
        .with_context(|| {
            format!(
                "cannot open the store at `{}`",
                config.database_path().display()
            )
        })
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
    let Some(_lock) = try_lock_source(&config.storage.data_dir, SOURCE_ID)? else {
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
    let Some(_lock) = try_lock_source(&config.storage.data_dir, id)? else {
        return Ok(None);
    };
    let source = FeedSource::new(settings.clone(), store.clone(), config.downloads_dir())?;
    Ok(Some(source.run(options).await?))
}

/// Deduplicates the active offers of the store that may be published (see
/// [`Config::publishable`]): one pass to count boilerplate, one to place every offer with its
/// source's trust rank.
pub async fn deduplicate(config: &Config, store: &Store) -> anyhow::Result<Deduplicator> {
    let mut dedup = Deduplicator::new(config.dedup.clone())?;
    store
        .for_each_active_offer(|offer| {
            if config.publishable(offer.key.source()) {
                dedup.observe(&offer);
            }
        })
        .await?;
    store
        .for_each_active_offer(|offer| {
            if config.publishable(offer.key.source()) {
                let rank = config.trust_rank(offer.key.source());
                dedup.upsert(&offer, rank);
            }
        })
        .await?;
    Ok(dedup)
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

/// Deduplicates the active offers of the store, then rebuilds the index with one offer per job
/// (the canonical copy, with its "also published on" links), streaming them to an indexing thread.
pub async fn reindex(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
) -> anyhow::Result<Reindexed> {
    Ok(rebuild(config, store, index).await?.0)
}

/// [`reindex`], also giving the deduplicator it built and the change-log sequence the new
/// index reflects (recorded in its commit: the live index follows the log from there).
pub async fn rebuild(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
) -> anyhow::Result<(Reindexed, Deduplicator, i64)> {
    // Read before the offers: a change committed meanwhile is applied again by the follower,
    // which is harmless (applying a change re-reads the offer).
    let change_seq = store.last_change_seq().await?;
    let dedup = deduplicate(config, store).await?;
    let (sender, receiver) = mpsc::sync_channel(1_024);
    let indexer = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.rebuild_published(receiver, Some(change_seq)))
    };
    let (mut duplicates, mut withheld) = (0, 0);
    let streamed = store
        .for_each_active_offer(|offer| {
            if !config.publishable(offer.key.source()) {
                withheld += 1;
                return;
            }
            let Some(also_published_on) = published_links(&dedup, &offer.key.to_string()) else {
                duplicates += 1;
                return;
            };
            // The indexing thread only stops early on error, which `indexer` then reports.
            let _ = sender.send((offer, also_published_on));
        })
        .await;
    drop(sender);
    let indexed = indexer.await.context("indexing thread")??;
    streamed?;
    Ok((
        Reindexed {
            indexed,
            duplicates,
            withheld,
        },
        dedup,
        change_seq,
    ))
}

/// The "also published on" links of offer `key` when it is the copy its job is published
/// through; `None` when another copy is (or the deduplicator does not hold it).
pub fn published_links(dedup: &Deduplicator, key: &str) -> Option<Vec<AlsoPublishedOn>> {
    let cluster = dedup.cluster_of(key)?;
    if *cluster.canonical.key != *key {
        return None;
    }
    Some(
        cluster
            .members
            .iter()
            .filter(|member| *member.key != *key)
            .map(|member| AlsoPublishedOn {
                key: member.key.to_string(),
                source: member.source.to_string(),
                url: member.offer_url.as_deref().map(str::to_owned),
            })
            .collect(),
    )
}
