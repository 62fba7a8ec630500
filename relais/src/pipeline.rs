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
    let store = Store::open_sqlite(&config.database_path())
        .await
        .with_context(|| {
            format!(
                "cannot open the store at `{}`",
                config.database_path().display()
            )
        })?;
    let index = OfferIndex::open_or_create(&config.index_dir())?;
    Ok((store, index))
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

/// Deduplicates the active offers of the store: one pass to count boilerplate, one to place
/// every offer with its source's trust rank.
pub async fn deduplicate(config: &Config, store: &Store) -> anyhow::Result<Deduplicator> {
    let mut dedup = Deduplicator::new(config.dedup.clone())?;
    store
        .for_each_active_offer(|offer| dedup.observe(&offer))
        .await?;
    store
        .for_each_active_offer(|offer| {
            let rank = config.trust_rank(offer.key.source());
            dedup.upsert(&offer, rank);
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
}

/// Deduplicates the active offers of the store, then rebuilds the index with one offer per job
/// (the canonical copy, with its "also published on" links), streaming them to an indexing thread.
pub async fn reindex(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
) -> anyhow::Result<Reindexed> {
    let dedup = deduplicate(config, store).await?;
    let (sender, receiver) = mpsc::sync_channel(1_024);
    let indexer = {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.rebuild_published(receiver))
    };
    let mut duplicates = 0;
    let streamed = store
        .for_each_active_offer(|offer| {
            let key = offer.key.to_string();
            let also_published_on = match dedup.cluster_of(&key) {
                Some(cluster) if *cluster.canonical.key != *key => {
                    duplicates += 1;
                    return;
                }
                Some(cluster) => cluster
                    .members
                    .iter()
                    .filter(|member| *member.key != *key)
                    .map(|member| AlsoPublishedOn {
                        key: member.key.to_string(),
                        source: member.source.to_string(),
                        url: member.offer_url.as_deref().map(str::to_owned),
                    })
                    .collect(),
                None => Vec::new(),
            };
            // The indexing thread only stops early on error, which `indexer` then reports.
            let _ = sender.send((offer, also_published_on));
        })
        .await;
    drop(sender);
    let indexed = indexer.await.context("indexing thread")??;
    streamed?;
    Ok(Reindexed {
        indexed,
        duplicates,
    })
}
