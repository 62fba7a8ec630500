//! The live index: the deduplicating worker publishes, the index follows what it publishes.
//!
//! Two parts, which `relais serve` runs together and which a later deployment runs apart (one
//! worker, any number of API replicas):
//!
//! - [`Publisher`] (the worker) follows the store's offer change log: each changed offer is
//!   placed in the deduplicator kept in memory (upsert, or remove when withdrawn), and what that
//!   changes in the published jobs is written to the store's publications and their log, with
//!   the worker's position in the offer change log, in one transaction.
//! - [`Follower`] (every index) follows the publication log: it re-reads and re-indexes each
//!   offer logged with its links and removes each offer no longer published, in one index
//!   commit that records the last publication sequence applied. It holds no deduplicator.
//!
//! At start the persisted index is served at once (`/readyz` ready) while the worker rebuilds
//! its deduplicator; a crash between two commits loses nothing: the next start applies the same
//! entries again, and applying an entry twice gives the same index. An index with no recorded
//! position (new, or written by an older version), or one whose position the log was pruned
//! past, is rebuilt from the publications first.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use relais_index::OfferIndex;
use relais_model::OfferKey;
use relais_publish::IndexStatus;
use relais_storage::{LogState, PublicationChange, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::pipeline;

mod publisher;

pub use publisher::Publisher;

/// Log entries read at most per commit (of the store or of the index). Following a few
/// changes a second, a batch holds what came since the last one; catching up (a full sweep's
/// backlog), each commit's fixed cost (a transaction, an index segment and its merges) is paid
/// once per ten thousand changes: at a thousand, the index spent most of its time committing.
const BATCH: u32 = 10_000;
/// How often a log is read when nothing wakes its reader (another process may write it).
pub(crate) const POLL: Duration = Duration::from_millis(200);
/// How often the publication log is read when PostgreSQL announces its writes: only to catch
/// an announcement lost with a connection.
const POLL_WHEN_ANNOUNCED: Duration = Duration::from_secs(5);
/// Pause after a failure (store unreachable, index error) before trying again.
const RETRY: Duration = Duration::from_secs(2);

/// What one applied batch of publication entries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// The last publication sequence applied.
    pub publication_seq: i64,
    /// Entries read.
    pub entries: usize,
    /// Published offers (re-)indexed.
    pub indexed: usize,
    /// Published offers removed (withdrawn, or now shown through another copy).
    pub removed: usize,
}

/// An index's follower of the publication log.
pub struct Follower {
    store: Store,
    index: OfferIndex,
    status: Arc<IndexStatus>,
    /// The last publication entry applied.
    position: i64,
    /// The last offer change the index was reported to reflect (it never goes back).
    reflected: i64,
    /// How often the log is read when nothing wakes the follower.
    poll: Duration,
}

impl Follower {
    /// A follower that has not started yet (see [`Self::start`]).
    pub fn new(store: Store, index: OfferIndex, status: Arc<IndexStatus>) -> Self {
        Self {
            store,
            index,
            status,
            position: 0,
            reflected: 0,
            poll: POLL,
        }
    }

    /// Reads the log less often: its writes are announced (see [`forward_announcements`]).
    pub fn announced(mut self) -> Self {
        self.poll = POLL_WHEN_ANNOUNCED;
        self
    }

    /// Reports to `/readyz` where the store and the index stand, in offer changes: an index
    /// that applied every publication entry reflects every change the worker applied; one
    /// behind reflects the changes the worker had applied before the write of the next entry
    /// (a batch may end inside a write: only the writes before it count then).
    async fn report(&mut self) -> anyhow::Result<LogState> {
        let state = self.store.log_state(pipeline::WORKER).await?;
        let reflected = if self.position >= state.publication_seq {
            state.worker_change_seq.unwrap_or(0)
        } else {
            self.store
                .next_publication_base(self.position)
                .await?
                .unwrap_or(self.reflected)
        };
        self.reflected = self.reflected.max(reflected);
        self.status.set_store_change_seq(state.change_seq);
        self.status.set_index_change_seq(self.reflected);
        Ok(state)
    }

    /// Makes the index servable: served as it is when it can follow the publication log from
    /// where it is, else rebuilt from the publications once a worker has written them (`false`
    /// until then: nothing is served yet).
    pub async fn start(&mut self) -> anyhow::Result<bool> {
        let recorded = self.index.applied_publication_seq()?;
        let state = self.store.log_state(pipeline::WORKER).await?;
        let last = state.publication_seq;
        let followable = match recorded {
            Some(seq) => self.can_follow(seq).await?,
            None => false,
        };
        match recorded {
            Some(seq) if followable => {
                tracing::info!(
                    index_publication_seq = seq,
                    store_publication_seq = last,
                    "serving the persisted index"
                );
                self.position = seq;
            }
            _ => {
                if state.worker_change_seq.is_none() {
                    return Ok(false);
                }
                tracing::info!(
                    recorded_publication_seq = ?recorded,
                    store_publication_seq = last,
                    "the index cannot follow the publication log from where it is: rebuilding it"
                );
                let (indexed, state) = pipeline::rebuild_index(&self.store, &self.index).await?;
                tracing::info!(
                    indexed,
                    publication_seq = state.publication_seq,
                    "index rebuilt from the store"
                );
                self.position = state.publication_seq;
            }
        }
        self.report().await?;
        self.status.set_ready(self.reflected);
        self.status.set_following();
        Ok(true)
    }

    /// Applies the next batch of publication entries, if any; rebuilds the index from the
    /// publications when the entries after its position were pruned.
    pub async fn apply_next(&mut self) -> anyhow::Result<Option<Applied>> {
        let entries = self
            .store
            .publication_changes_after(self.position, BATCH)
            .await?;
        if entries
            .first()
            .is_none_or(|first| first.seq > self.position + 1)
            && !self.can_follow(self.position).await?
        {
            tracing::warn!(
                index_publication_seq = self.position,
                "the publication log was pruned past this index: rebuilding it"
            );
            let (indexed, state) = pipeline::rebuild_index(&self.store, &self.index).await?;
            self.position = state.publication_seq;
            self.report().await?;
            return Ok(Some(Applied {
                publication_seq: state.publication_seq,
                indexed: indexed as usize,
                ..Applied::default()
            }));
        }
        let Some(last) = entries.last() else {
            return Ok(None);
        };
        let last_seq = last.seq;
        let applied = self.apply(&entries).await?;
        self.position = last_seq;
        self.report().await?;
        Ok(Some(applied))
    }

    /// Whether every entry after `seq` is still in the log: none was written, or the first one
    /// kept follows it.
    async fn can_follow(&self, seq: i64) -> anyhow::Result<bool> {
        let last = self.store.last_publication_seq().await?;
        let oldest = self.store.oldest_publication_seq().await?;
        Ok(last <= seq || oldest.is_some_and(|oldest| oldest <= seq + 1))
    }

    /// Applies every entry in the log, batch after batch, until none is left.
    #[cfg(test)]
    pub async fn catch_up(&mut self) -> anyhow::Result<Applied> {
        let mut total = Applied {
            publication_seq: self.position,
            ..Applied::default()
        };
        while let Some(applied) = self.apply_next().await? {
            total = Applied {
                publication_seq: applied.publication_seq,
                entries: total.entries + applied.entries,
                indexed: total.indexed + applied.indexed,
                removed: total.removed + applied.removed,
            };
        }
        Ok(total)
    }

    async fn apply(&mut self, entries: &[PublicationChange]) -> anyhow::Result<Applied> {
        let publication_seq = entries.last().map_or(self.position, |e| e.seq);
        // The last entry of each offer wins.
        let mut latest: BTreeMap<String, (&OfferKey, Option<&String>)> = BTreeMap::new();
        for entry in entries {
            latest.insert(entry.key.to_string(), (&entry.key, entry.links.as_ref()));
        }
        let to_index: Vec<OfferKey> = latest
            .values()
            .filter(|(_, links)| links.is_some())
            .map(|(key, _)| (*key).clone())
            .collect();
        let mut offers: BTreeMap<String, relais_model::Offer> = self
            .store
            .offers(&to_index)
            .await?
            .into_iter()
            .map(|offer| (offer.key.to_string(), offer))
            .collect();
        let mut upserts = Vec::new();
        let mut removals = Vec::new();
        for (key, (_, links)) in &latest {
            match (links, offers.remove(key)) {
                (Some(links), Some(offer)) => {
                    upserts.push((offer, pipeline::parse_links(key, links)));
                }
                // No longer published, or gone from the store (purged).
                _ => removals.push(key.clone()),
            }
        }
        let applied = Applied {
            publication_seq,
            entries: entries.len(),
            indexed: upserts.len(),
            removed: removals.len(),
        };
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || {
            index.apply_published(&upserts, &removals, Some(publication_seq))
        })
        .await
        .context("indexing thread")??;
        Ok(applied)
    }

    /// Starts (see [`Self::start`]), then applies entries as they come until `cancel`: woken by
    /// `wake` (the worker of this process wrote, or another's write was announced) or at each
    /// poll (another process may write).
    /// Failures are logged and retried; they never stop the server.
    pub async fn follow(mut self, wake: Arc<Notify>, cancel: CancellationToken) {
        let mut told = false;
        loop {
            match self.start().await {
                Ok(true) => break,
                Ok(false) => {
                    if !std::mem::replace(&mut told, true) {
                        tracing::info!(
                            "the index waits for the worker's first publications to be rebuilt"
                        );
                    }
                    if pause(RETRY, &wake, &cancel).await {
                        return;
                    }
                }
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
                        publication_seq = applied.publication_seq,
                        entries = applied.entries,
                        indexed = applied.indexed,
                        removed = applied.removed,
                        "publications applied to the index"
                    );
                    if cancel.is_cancelled() {
                        return;
                    }
                }
                Ok(None) => {
                    // The worker may have moved on without publishing anything.
                    if let Err(error) = self.report().await {
                        tracing::warn!(error = %format!("{error:#}"), "cannot read where the logs stand");
                    }
                    if pause(self.poll, &wake, &cancel).await {
                        return;
                    }
                }
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "applying publications failed; retrying");
                    if pause(RETRY, &wake, &cancel).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Wakes `wake` at each write of publications that the store announces (PostgreSQL's
/// `LISTEN`, whichever process wrote), and when the listening connection is made again (what
/// was announced meanwhile is caught up from the log), until `cancel`. On SQLite there is
/// nothing to listen to: returns at once, and the follower polls.
pub async fn forward_announcements(store: Store, wake: Arc<Notify>, cancel: CancellationToken) {
    let mut listener = loop {
        match store.listen_for_publications().await {
            Ok(Some(listener)) => break listener,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for publications; retrying");
                if pause(RETRY, &Notify::new(), &cancel).await {
                    return;
                }
            }
        }
    };
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            heard = listener.next() => match heard {
                Ok(relais_storage::Heard::Published(_)) => wake.notify_one(),
                Ok(relais_storage::Heard::Reconnected) => {
                    tracing::info!("listening for publications again");
                    wake.notify_one();
                }
                Err(error) => {
                    tracing::warn!(%error, "lost the publications' announcements; retrying");
                    if pause(RETRY, &Notify::new(), &cancel).await {
                        return;
                    }
                }
            },
        }
    }
}

/// Waits `duration`, or until woken; true when cancelled.
pub(crate) async fn pause(duration: Duration, wake: &Notify, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => false,
        () = wake.notified() => false,
        () = cancel.cancelled() => true,
    }
}

#[cfg(test)]
mod tests;
