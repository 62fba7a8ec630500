//! The live index: `relais serve` follows the store's change log and keeps the index in step.
//!
//! The index's commits record the last change-log sequence they reflect. At start the persisted
//! index is served at once (`/readyz` ready) while the deduplicator is rebuilt from the store;
//! then the changes after the index's sequence are applied in batches: each changed offer is
//! placed in the deduplicator (upsert, or remove when withdrawn), and exactly the published
//! offers whose copy or "also published on" list changed are re-indexed, in one commit that
//! records the batch's last sequence. A crash between two commits loses nothing: the next start
//! applies the same changes again, and applying a change twice gives the same index.
//!
//! An index with no recorded sequence (new, or written by `relais reindex` of an older
//! version), or one whose sequence the log was pruned past, is rebuilt from the store first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use relais_dedup::Deduplicator;
use relais_index::{IndexedOffer, OfferIndex};
use relais_model::{Offer, OfferKey};
use relais_publish::IndexStatus;
use relais_storage::{OfferChange, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::pipeline;

/// Changes read from the log per index commit.
const BATCH: u32 = 1_000;
/// How often the log is read when nothing wakes the follower (another process may write it).
const POLL: Duration = Duration::from_millis(200);
/// Pause after a failure (store unreachable, index error) before trying again.
const RETRY: Duration = Duration::from_secs(2);

/// What one applied batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// The last sequence applied.
    pub change_seq: i64,
    /// Changes read.
    pub changes: usize,
    /// Published offers (re-)indexed.
    pub indexed: usize,
    /// Published offers removed (withdrawn, or now shown through another copy).
    pub removed: usize,
}

/// The index's follower of the change log.
pub struct Follower {
    config: Config,
    store: Store,
    index: OfferIndex,
    status: Arc<IndexStatus>,
    dedup: Option<Deduplicator>,
    position: i64,
}

impl Follower {
    /// A follower that has not started yet (see [`Self::start`]).
    pub fn new(config: Config, store: Store, index: OfferIndex, status: Arc<IndexStatus>) -> Self {
        Self {
            config,
            store,
            index,
            status,
            dedup: None,
            position: 0,
        }
    }

    /// Makes the index servable (rebuilding it when it cannot be followed), then rebuilds the
    /// deduplicator from the store.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let recorded = self.index.applied_change_seq()?;
        let last = self.store.last_change_seq().await?;
        let oldest = self.store.oldest_change_seq().await?;
        // Changes after `seq` are all still in the log when the first one kept follows it.
        let followable = |seq: i64| last <= seq || oldest.is_some_and(|oldest| oldest <= seq + 1);
        match recorded {
            Some(seq) if followable(seq) => {
                self.status.set_ready(seq);
                self.status.set_store_change_seq(last);
                tracing::info!(
                    index_change_seq = seq,
                    store_change_seq = last,
                    "serving the persisted index; rebuilding the deduplicator"
                );
                self.position = seq;
                self.dedup = Some(pipeline::deduplicate(&self.config, &self.store).await?);
            }
            _ => {
                tracing::info!(
                    recorded_change_seq = ?recorded,
                    store_change_seq = last,
                    "the index cannot follow the change log from where it is: rebuilding it"
                );
                let (done, dedup, seq) =
                    pipeline::rebuild(&self.config, &self.store, &self.index).await?;
                tracing::info!(
                    indexed = done.indexed,
                    duplicates = done.duplicates,
                    change_seq = seq,
                    "index rebuilt from the store"
                );
                self.status.set_ready(seq);
                self.position = seq;
                self.dedup = Some(dedup);
            }
        }
        if let Some(dedup) = &self.dedup {
            let heap = dedup.heap_usage();
            let mb = |bytes: usize| bytes / 1_000_000;
            tracing::info!(
                offers = dedup.len(),
                heap_mb = mb(heap.total()),
                records_mb = mb(heap.records),
                texts_mb = mb(heap.texts),
                blocking_mb = mb(heap.blocking),
                clusters_mb = mb(heap.clusters),
                sketch_mb = mb(heap.sketch),
                "deduplicator ready"
            );
        }
        self.status.set_following();
        Ok(())
    }

    /// Applies the next batch of changes, if any.
    pub async fn apply_next(&mut self) -> anyhow::Result<Option<Applied>> {
        let changes = self.store.changes_after(self.position, BATCH).await?;
        let Some(last) = changes.last() else {
            return Ok(None);
        };
        let last_seq = last.seq;
        self.status
            .set_store_change_seq(self.store.last_change_seq().await?);
        let applied = self.apply(&changes).await?;
        self.position = last_seq;
        self.status.set_index_change_seq(last_seq);
        Ok(Some(applied))
    }

    /// Applies every change in the log, batch after batch, until none is left.
    #[cfg(test)]
    pub async fn catch_up(&mut self) -> anyhow::Result<Applied> {
        let mut total = Applied {
            change_seq: self.position,
            ..Applied::default()
        };
        while let Some(applied) = self.apply_next().await? {
            total = Applied {
                change_seq: applied.change_seq,
                changes: total.changes + applied.changes,
                indexed: total.indexed + applied.indexed,
                removed: total.removed + applied.removed,
            };
        }
        Ok(total)
    }

    async fn apply(&mut self, changes: &[OfferChange]) -> anyhow::Result<Applied> {
        let dedup = self
            .dedup
            .as_mut()
            .context("the follower has not started")?;
        let change_seq = changes.last().map_or(self.position, |c| c.seq);
        let mut changed: Vec<OfferKey> = Vec::new();
        let mut seen = BTreeSet::new();
        for change in changes {
            if seen.insert(change.key.to_string()) {
                changed.push(change.key.clone());
            }
        }
        let mut offers: HashMap<String, Offer> = self
            .store
            .offers(&changed)
            .await?
            .into_iter()
            .map(|offer| (offer.key.to_string(), offer))
            .collect();

        for key in &changed {
            let text = key.to_string();
            match offers.get(&text) {
                Some(offer)
                    if offer.status.is_active() && self.config.publishable(offer.key.source()) =>
                {
                    dedup.observe(offer);
                    dedup.upsert(offer, self.config.trust_rank(key.source()));
                }
                _ => {
                    dedup.remove(&text);
                }
            }
        }

        // Every offer whose entry a change can affect: closed under the jobs as the index
        // publishes them (an entry and its "also published on" copies) and as the deduplicator
        // now sees them, so that a job that split, merged or moved is rewritten whole, even when
        // the deduplicator was rebuilt after a restart and saw the history in another order.
        let mut published: BTreeMap<String, IndexedOffer> = BTreeMap::new();
        let mut affected: BTreeSet<String> = BTreeSet::new();
        let mut pending: Vec<String> = seen.iter().cloned().collect();
        while let Some(key) = pending.pop() {
            if !affected.insert(key.clone()) {
                continue;
            }
            for entry in self.index.published_with(&key)? {
                pending.push(entry.key.clone());
                pending.extend(entry.also_published_on.iter().map(|m| m.key.clone()));
                published.insert(entry.key.clone(), entry);
            }
            if let Some(cluster) = dedup.cluster_of(&key) {
                pending.extend(cluster.members.iter().map(|m| m.key.to_string()));
            }
        }

        // The unchanged copies whose entry may change (their job's links moved) are read too.
        let missing: Vec<OfferKey> = affected
            .iter()
            .filter(|key| !offers.contains_key(*key))
            .filter(|key| pipeline::published_links(dedup, key).is_some())
            .filter_map(|key| OfferKey::parse(key).ok())
            .collect();
        for offer in self.store.offers(&missing).await? {
            offers.insert(offer.key.to_string(), offer);
        }

        let mut upserts = Vec::new();
        let mut removals = Vec::new();
        for key in &affected {
            match (pipeline::published_links(dedup, key), offers.get(key)) {
                (Some(links), Some(offer)) => {
                    let entry = IndexedOffer {
                        also_published_on: links.clone(),
                        ..IndexedOffer::of(offer)
                    };
                    // An unchanged offer whose entry is the same keeps its document.
                    let same = !seen.contains(key) && published.get(key) == Some(&entry);
                    if !same {
                        upserts.push((offer.clone(), links));
                    }
                }
                _ if published.contains_key(key) => removals.push(key.clone()),
                _ => {}
            }
        }
        let applied = Applied {
            change_seq,
            changes: changes.len(),
            indexed: upserts.len(),
            removed: removals.len(),
        };
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || {
            index.apply_published(&upserts, &removals, Some(change_seq))
        })
        .await
        .context("indexing thread")??;
        Ok(applied)
    }

    /// Starts (see [`Self::start`]), then applies changes as they come until `cancel`: woken by
    /// `wake` (a run of this process ended) or every [`POLL`] (another process may write).
    /// Failures are logged and retried; they never stop the server.
    pub async fn follow(mut self, wake: Arc<Notify>, cancel: CancellationToken) {
        loop {
            match self.start().await {
                Ok(()) => break,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "live index cannot start; retrying");
                    if pause(RETRY, &wake, &cancel).await {
                        return;
                    }
                }
            }
        }
        loop {
            match self.apply_next().await {
                Ok(Some(applied)) => {
                    tracing::debug!(
                        change_seq = applied.change_seq,
                        changes = applied.changes,
                        indexed = applied.indexed,
                        removed = applied.removed,
                        "changes applied to the index"
                    );
                    if cancel.is_cancelled() {
                        return;
                    }
                }
                Ok(None) => {
                    if pause(POLL, &wake, &cancel).await {
                        return;
                    }
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "applying changes failed; retrying");
                    if pause(RETRY, &wake, &cancel).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Waits `duration`, or until woken; true when cancelled.
async fn pause(duration: Duration, wake: &Notify, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = wake.notified() => false,
        () = cancel.cancelled() => true,
    }
}

#[cfg(test)]
mod tests;
