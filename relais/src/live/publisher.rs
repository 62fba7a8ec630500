//! The worker's half of the live index: the deduplicator follows the offer change log and
//! writes what it publishes to the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::Context;
use relais_dedup::{Deduplicator, Prepared, Record};
use relais_model::{Offer, OfferKey};
use relais_publish::IndexStatus;
use relais_storage::{OfferChange, PublicationRow, StorageError, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::{BATCH, POLL, RETRY, pause};
use crate::config::Config;
use crate::pipeline::{self, WORKER};

/// What one applied batch of offer changes published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// The last offer change applied.
    pub change_seq: i64,
    /// Changes read.
    pub changes: usize,
    /// Publication rows written.
    pub rows: usize,
    /// Publication log entries written.
    pub entries: usize,
}

/// The deduplicating worker: follows the offer change log, writes the publications.
pub struct Publisher {
    config: Config,
    store: Store,
    dedup: Option<Deduplicator>,
    position: i64,
    /// The next batch, read and prepared while the last one was placed and written.
    ahead: Option<Batch>,
    /// Changes read at most per batch.
    batch: u32,
    /// When the logs were last pruned.
    pruned_at: Option<std::time::Instant>,
}

/// How often an idle worker prunes the logs.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3_600);

impl Publisher {
    /// A publisher that has not started yet (see [`Self::start`]).
    pub fn new(config: Config, store: Store) -> Self {
        Self {
            config,
            store,
            dedup: None,
            position: 0,
            ahead: None,
            batch: BATCH,
            pruned_at: None,
        }
    }

    /// Prunes both logs of what is older than `storage.log_retention_days` and applied, at most
    /// every [`PRUNE_EVERY`] (at 100 changes a second each log grows by 8.6 million rows a day).
    /// An index replica stopped for longer rebuilds from the publications when it starts
    /// again, and one that falls behind while running rebuilds too (see `Follower::apply_next`).
    pub async fn prune_if_due(&mut self) -> anyhow::Result<()> {
        if self.pruned_at.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return Ok(());
        }
        let retention = chrono::TimeDelta::days(self.config.storage.log_retention_days.into());
        let before = chrono::Utc::now() - retention;
        let pruned = self.store.prune_logs(before, self.position).await?;
        self.pruned_at = Some(std::time::Instant::now());
        if pruned.changes + pruned.publications > 0 {
            tracing::info!(
                changes = pruned.changes,
                publications = pruned.publications,
                %before,
                "old log entries pruned"
            );
        }
        Ok(())
    }

    /// Rebuilds the deduplicator from the store and writes what it publishes differently from
    /// the store's publications; then resumes after the last change its previous run applied.
    /// When that run's position is unknown, or the log was pruned past it, every published
    /// offer is logged again, so that each index re-reads what changed meanwhile.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        self.ahead = None;
        let last = self.store.last_change_seq().await?;
        let oldest = self.store.oldest_change_seq().await?;
        let recorded = self.store.log_position(WORKER).await?;
        let dedup = pipeline::deduplicate(&self.config, &self.store).await?;
        let followable = |seq: i64| last <= seq || oldest.is_some_and(|oldest| oldest <= seq + 1);
        let resumed = recorded.filter(|&seq| followable(seq));
        self.position = resumed.unwrap_or(last);
        // Written as of the position the worker resumes from: an index that applied them does
        // not reflect the changes after it until the worker has applied those too. Without a
        // position to resume from, every published offer is logged, changed or not.
        let reconciled =
            pipeline::reconcile(&self.store, &dedup, self.position, resumed.is_none()).await?;
        if resumed.is_none() {
            tracing::info!(
                recorded_change_seq = ?recorded,
                store_change_seq = last,
                logged = reconciled,
                "the worker cannot follow the change log from where it was (or never ran): every published offer logged"
            );
        }
        // Recorded even when nothing was written: an index waits for it before rebuilding.
        self.store
            .write_publications(&[], &[], self.position, Some((WORKER, self.position)))
            .await?;
        let heap = dedup.heap_usage();
        let mb = |bytes: usize| bytes / 1_000_000;
        tracing::info!(
            offers = dedup.len(),
            jobs = dedup.cluster_count(),
            reconciled,
            change_seq = self.position,
            heap_mb = mb(heap.total()),
            records_mb = mb(heap.records),
            texts_mb = mb(heap.texts),
            blocking_mb = mb(heap.blocking),
            clusters_mb = mb(heap.clusters),
            sketch_mb = mb(heap.sketch),
            "deduplicator ready"
        );
        self.dedup = Some(dedup);
        Ok(())
    }

    /// The same worker reading at most `changes` changes per batch (so that tests go through
    /// several batches, each read and prepared during the last).
    #[cfg(test)]
    pub fn with_batch(mut self, changes: u32) -> Self {
        self.batch = changes;
        self
    }

    /// The deduplicator as the worker holds it (once started).
    #[cfg(test)]
    pub fn deduplicator(&self) -> Option<&Deduplicator> {
        self.dedup.as_ref()
    }

    /// Applies the next batch of offer changes, if any.
    pub async fn apply_next(&mut self) -> anyhow::Result<Option<Published>> {
        let batch = match self.ahead.take() {
            Some(batch) if batch.after == self.position => batch,
            _ => Batch::read(self.store.clone(), self.position, self.batch).await?,
        };
        if batch.changes.is_empty() {
            return Ok(None);
        }
        let published = self.apply(batch).await?;
        self.position = published.change_seq;
        Ok(Some(published))
    }

    /// Applies every change in the log, batch after batch, until none is left.
    #[cfg(test)]
    pub async fn catch_up(&mut self) -> anyhow::Result<i64> {
        while self.apply_next().await?.is_some() {}
        Ok(self.position)
    }

    /// Where the worker stands in the offer change log.
    #[cfg(test)]
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Moves the worker back in the offer change log (a crash after a write of the store that
    /// a later start does not know of).
    #[cfg(test)]
    pub fn rewind(&mut self, change_seq: i64) {
        self.position = change_seq;
    }

    /// Places a batch and writes what it publishes. The next batch is read while this one is
    /// placed, and learned and prepared (see [`pipeline::prepare_offers`]) while this one's publications are
    /// written: it is kept for the next call, which uses it if the worker is still where it was.
    async fn apply(&mut self, mut batch: Batch) -> anyhow::Result<Published> {
        let started = std::time::Instant::now();
        let change_seq = batch.changes.last().map_or(self.position, |c| c.seq);
        let next_read = AbortOnDropHandle::new(tokio::spawn(Batch::read(
            self.store.clone(),
            change_seq,
            self.batch,
        )));
        let config = &self.config;
        let dedup = self
            .dedup
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the worker has not started"))?;
        let incoming = to_publish(config, &batch.changed, &batch.offers);
        let published: Vec<&Offer> = incoming.iter().filter_map(|(_, offer)| *offer).collect();
        let records = match batch.prepared.take() {
            Some(records) => records,
            None => {
                pipeline::observe_offers(dedup, &published);
                pipeline::prepare_offers(config, dedup, &published)
            }
        };
        let t_prepare = started.elapsed();
        let mut records = records.into_iter();
        for (key, offer) in &incoming {
            match offer {
                Some(_) => {
                    let (record, prepared) =
                        records.next().expect("one record per published offer");
                    dedup.upsert_prepared(record, &prepared);
                }
                None => {
                    dedup.remove(key);
                }
            }
        }
        let t_place = started.elapsed();

        // The offers of other jobs that the upserts moved (see `Deduplicator::take_replaced`):
        // left out, a job split off by a repair stayed shown through its old copy, unpublished.
        let mut affected = batch.seen.clone();
        affected.extend(dedup.take_replaced().into_iter().map(String::from));
        let stored = affected_rows(&self.store, dedup, &affected).await?;
        let mut rows = Vec::new();
        let mut log = Vec::new();
        for (key, old) in stored {
            let Ok(offer_key) = OfferKey::parse(&key) else {
                continue;
            };
            let new = pipeline::publication_row(dedup, &key);
            if let Some(entry) =
                pipeline::log_entry(old.as_ref(), new.as_ref(), batch.seen.contains(&key))
            {
                log.push((offer_key.clone(), entry));
            }
            if old != new {
                rows.push((offer_key, new));
            }
        }
        let t_affected = started.elapsed();
        let done = Published {
            change_seq,
            changes: batch.changes.len(),
            rows: rows.len(),
            entries: log.len(),
        };

        // The next batch, if it came: learned now, prepared while the store writes this one's
        // publications (the write reads nothing of the deduplicator).
        let mut next = match next_read.await {
            Ok(Ok(next)) if !next.changes.is_empty() => Some(next),
            Ok(Ok(_)) => None,
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "the next batch will be read again");
                None
            }
            Err(error) => {
                tracing::warn!(error = %error, "the task reading the next batch failed; it will be read again");
                None
            }
        };
        let write = {
            let (store, position) = (self.store.clone(), self.position);
            AbortOnDropHandle::new(tokio::spawn(async move {
                store
                    .write_publications(&rows, &log, position, Some((WORKER, change_seq)))
                    .await
            }))
        };
        if let Some(next) = next.as_mut() {
            let incoming = to_publish(config, &next.changed, &next.offers);
            let published: Vec<&Offer> = incoming.iter().filter_map(|(_, offer)| *offer).collect();
            pipeline::observe_offers(dedup, &published);
            let records = pipeline::prepare_offers(config, dedup, &published);
            next.prepared = Some(records);
        }
        let t_next = started.elapsed();
        write.await.context("the publications' writing task")??;
        self.ahead = next;
        let t_write = started.elapsed();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1_000.0;
        tracing::debug!(
            changes = done.changes,
            prepare_ms = ms(t_prepare),
            place_ms = ms(t_place - t_prepare),
            affected_ms = ms(t_affected - t_place),
            next_prepare_ms = ms(t_next - t_affected),
            write_wait_ms = ms(t_write - t_next),
            "worker batch: where its time went"
        );
        Ok(done)
    }

    /// Starts (see [`Self::start`]; `status` told when it is done), then applies changes as
    /// they come until `cancel`: woken by `wake` (a run of this process ended) or every
    /// [`POLL`] (another process may write); wakes `published` after each write. Failures are
    /// logged and retried; they never stop the server.
    pub async fn follow(
        mut self,
        wake: Arc<Notify>,
        published: Arc<Notify>,
        status: Arc<IndexStatus>,
        cancel: CancellationToken,
    ) {
        loop {
            match self.start().await {
                Ok(()) => {
                    status.set_worker_ready();
                    published.notify_one();
                    break;
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "the worker cannot start; retrying");
                    if pause(RETRY, &wake, &cancel).await {
                        return;
                    }
                }
            }
        }
        loop {
            match self.apply_next().await {
                Ok(Some(done)) => {
                    tracing::debug!(
                        change_seq = done.change_seq,
                        changes = done.changes,
                        rows = done.rows,
                        entries = done.entries,
                        "changes published"
                    );
                    published.notify_one();
                    if cancel.is_cancelled() {
                        return;
                    }
                }
                Ok(None) => {
                    if let Err(error) = self.prune_if_due().await {
                        tracing::warn!(error = %format!("{error:#}"), "cannot prune the logs");
                    }
                    if pause(POLL, &wake, &cancel).await {
                        return;
                    }
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "publishing changes failed; retrying");
                    if pause(RETRY, &wake, &cancel).await {
                        return;
                    }
                }
            }
        }
    }
}

/// A batch of offer changes read from the log, with the offers they name.
struct Batch {
    /// The position in the log it was read after.
    after: i64,
    changes: Vec<OfferChange>,
    /// The changed offers' keys, once each, in the log's order.
    changed: Vec<OfferKey>,
    /// The same, as text.
    seen: BTreeSet<String>,
    /// The changed offers as the store held them when the batch was read.
    offers: HashMap<String, Offer>,
    /// The features and comparisons of the offers to publish, once learned and prepared.
    prepared: Option<Vec<(Record, Prepared)>>,
}

impl Batch {
    /// The changes after `after` (at most `limit`) and the offers they name.
    async fn read(store: Store, after: i64, limit: u32) -> Result<Self, StorageError> {
        let changes = store.changes_after(after, limit).await?;
        let mut changed: Vec<OfferKey> = Vec::new();
        let mut seen = BTreeSet::new();
        for change in &changes {
            if seen.insert(change.key.to_string()) {
                changed.push(change.key.clone());
            }
        }
        let offers = if changed.is_empty() {
            HashMap::new()
        } else {
            store
                .offers(&changed)
                .await?
                .into_iter()
                .map(|offer| (offer.key.to_string(), offer))
                .collect()
        };
        Ok(Self {
            after,
            changes,
            changed,
            seen,
            offers,
            prepared: None,
        })
    }
}

/// Each changed offer, in the log's order, with its content when it is to be published.
fn to_publish<'a>(
    config: &Config,
    changed: &[OfferKey],
    offers: &'a HashMap<String, Offer>,
) -> Vec<(String, Option<&'a Offer>)> {
    changed
        .iter()
        .map(|key| {
            let text = key.to_string();
            let offer = offers
                .get(&text)
                .filter(|offer| offer.status.is_active() && config.publishable(offer.key.source()));
            (text, offer)
        })
        .collect()
}

/// Every offer whose publication a change of the offers `changed` (and of those a repair moved)
/// can affect, with its row as
/// the store holds it: closed under the jobs as the store publishes them (the copy shown and its
/// links) and as the deduplicator now sees them, so that a job that split, merged or moved is
/// rewritten whole.
async fn affected_rows(
    store: &Store,
    dedup: &Deduplicator,
    changed: &BTreeSet<String>,
) -> anyhow::Result<BTreeMap<String, Option<PublicationRow>>> {
    let mut stored: BTreeMap<String, Option<PublicationRow>> = BTreeMap::new();
    let mut frontier: BTreeSet<String> = changed.clone();
    while !frontier.is_empty() {
        // Each key read once, and its row kept.
        let keys: Vec<OfferKey> = frontier
            .iter()
            .filter_map(|key| OfferKey::parse(key).ok())
            .collect();
        let mut read = store.publication_rows(&keys).await?;
        let mut next = BTreeSet::new();
        for key in std::mem::take(&mut frontier) {
            let row = read.remove(&key);
            if let Some(row) = &row {
                next.insert(row.shown_through.clone());
                if let Some(links) = &row.links {
                    let links = pipeline::parse_links(&key, links);
                    next.extend(links.into_iter().map(|link| link.key));
                }
            }
            if let Some(cluster) = dedup.cluster_of(&key) {
                next.extend(cluster.members.iter().map(|m| m.key.to_string()));
            }
            stored.insert(key, row);
        }
        frontier = next
            .into_iter()
            .filter(|key| !stored.contains_key(key))
            .collect();
    }
    Ok(stored)
}
