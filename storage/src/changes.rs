//! The change log (`offer_changes`): every creation, change, withdrawal and reactivation of an
//! offer, with a monotonic sequence number, written in the same transaction as the change.
//!
//! Readers keep the last sequence they applied and ask for what follows ([`Store::changes_after`]);
//! old entries are pruned ([`Store::prune_changes_before`]), and a reader whose position is older
//! than the oldest entry kept ([`Store::oldest_change_seq`]) has missed changes and must rebuild
//! from the offers (`relais reindex`).
//!
//! One writer at a time commits (SQLite's write lock; on PostgreSQL, the transaction-level
//! advisory lock every writer takes, see `backend.rs`), so sequence numbers become visible in
//! order.

use chrono::{DateTime, Utc};
use relais_model::OfferKey;
use serde::Serialize;
use sqlx::{QueryBuilder, Row};

use crate::{StorageError, Store, from_millis, millis};

/// The first offer change made since a time: one step down the time index (a minimum over a
/// week of entries would read them all); entries are written in time order.
const FIRST_CHANGE_SINCE: &str =
    "SELECT seq FROM offer_changes WHERE changed_at >= $1 ORDER BY changed_at LIMIT 1";

/// What happened to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First received.
    Created,
    /// Its content changed.
    Changed,
    /// Withdrawn (missing from a complete sweep, or gone at its source).
    Withdrawn,
    /// Active again after a withdrawal.
    Reactivated,
}

impl ChangeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Changed => "changed",
            ChangeKind::Withdrawn => "withdrawn",
            ChangeKind::Reactivated => "reactivated",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            ChangeKind::Created,
            ChangeKind::Changed,
            ChangeKind::Withdrawn,
            ChangeKind::Reactivated,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferChange {
    /// Sequence number: increasing in commit order, never reused.
    pub seq: i64,
    /// The offer.
    pub key: OfferKey,
    /// What happened.
    pub kind: ChangeKind,
    /// When.
    pub at: DateTime<Utc>,
}

/// Appends changes to the log inside the caller's transaction.
pub(crate) async fn record_changes<C: ChangeLog>(
    tx: &mut C,
    changes: &[(&str, &str, ChangeKind)],
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.record_changes(changes, at).await
}

/// The change log written on a connection of either backend.
pub(crate) trait ChangeLog {
    async fn record_changes(
        &mut self,
        changes: &[(&str, &str, ChangeKind)],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
}

impl_for_both!(ChangeLog for sqlx::SqliteConnection, sqlx::PgConnection {
    async fn record_changes(
        &mut self,
        changes: &[(&str, &str, ChangeKind)],
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        for chunk in changes.chunks(200) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO offer_changes (source, source_offer_id, change, changed_at) ",
            );
            insert.push_values(chunk, |mut row, (source, id, kind)| {
                row.push_bind(*source)
                    .push_bind(*id)
                    .push_bind(kind.as_str())
                    .push_bind(millis(at));
            });
            insert.build().execute(&mut *self).await?;
        }
        Ok(())
    }
});

impl Store {
    /// The changes after sequence `after`, in order, at most `limit`.
    pub async fn changes_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<OfferChange>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT seq, source, source_offer_id, change, changed_at FROM offer_changes
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let key = crate::key_of(row, "offer_changes")?;
                    let change: String = row.try_get("change")?;
                    let kind =
                        ChangeKind::parse(&change).ok_or_else(|| StorageError::CorruptValue {
                            what: "offer_changes.change".into(),
                            value: format!("{key} {change}"),
                        })?;
                    Ok(OfferChange {
                        seq: row.try_get("seq")?,
                        key,
                        kind,
                        at: from_millis(row.try_get("changed_at")?),
                    })
                })
                .collect()
        })
    }

    /// The last sequence number written (0 when the log is empty and was never written).
    pub async fn last_change_seq(&self) -> Result<i64, StorageError> {
        self.last_seq(Log::OfferChanges).await
    }

    /// The oldest sequence number still in the log, if any: a reader behind it must rebuild.
    pub async fn oldest_change_seq(&self) -> Result<Option<i64>, StorageError> {
        self.oldest_seq(Log::OfferChanges).await
    }

    /// Deletes the entries before `seq` (every reader is past them); returns how many.
    pub async fn prune_changes_before(&self, seq: i64) -> Result<u64, StorageError> {
        self.prune_before(Log::OfferChanges, seq).await
    }

    /// Deletes from both logs what is older than `before` and applied by the worker (its
    /// position `applied_change_seq`): the offer changes made before `before`, and the
    /// publication entries written for them. A reader whose next entries are pruned rebuilds
    /// (the worker from the offers, an index from the publications).
    pub async fn prune_logs(
        &self,
        before: DateTime<Utc>,
        applied_change_seq: i64,
    ) -> Result<PrunedLogs, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(FIRST_CHANGE_SINCE)
                .bind(millis(before))
                .fetch_optional(pool)
                .await?;
            let first_kept = match row {
                Some(row) => row.try_get("seq")?,
                None => self.last_change_seq().await? + 1,
            }
            .min(applied_change_seq + 1);
            // Publication entries follow the changes they were written for, in order: an entry's
            // base is where the worker stood before the batch it was written for, so the entries of
            // the batch holding the first change kept are kept (a reader behind what is pruned finds
            // the gap and rebuilds, wherever the cut falls).
            let row = sqlx::query(
            "SELECT seq FROM publication_changes WHERE base_change_seq >= $1 ORDER BY seq LIMIT 1",
        )
        .bind(first_kept - 1)
        .fetch_optional(pool)
        .await?;
            let first_entry_kept = match row {
                Some(row) => row.try_get("seq")?,
                None => self.last_seq(Log::PublicationChanges).await? + 1,
            };
            Ok(PrunedLogs {
                changes: self.prune_before(Log::OfferChanges, first_kept).await?,
                publications: self
                    .prune_before(Log::PublicationChanges, first_entry_kept)
                    .await?,
            })
        })
    }

    /// The last sequence number a log gave (0 when it never gave one).
    pub(crate) async fn last_seq(&self, log: Log) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            // Pruning keeps each log's newest entry, so its highest number is never lost.
            let row = sqlx::query(&last_seq_query(log)).fetch_one(pool).await?;
            Ok(row.try_get("seq")?)
        })
    }

    /// The oldest sequence number still in a log, if any.
    pub(crate) async fn oldest_seq(&self, log: Log) -> Result<Option<i64>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(&format!("SELECT MIN(seq) AS seq FROM {}", log.table()))
                .fetch_one(pool)
                .await?;
            Ok(row.try_get("seq")?)
        })
    }

    /// Deletes a log's entries before `seq`, but never its newest entry (which holds the
    /// highest number the log gave, on both backends); returns how many.
    pub(crate) async fn prune_before(&self, log: Log, seq: i64) -> Result<u64, StorageError> {
        with_pool!(self, |pool| {
            let table = log.table();
            let done = sqlx::query(&format!(
                "DELETE FROM {table} WHERE seq < $1 AND seq < (SELECT MAX(seq) FROM {table})"
            ))
            .bind(seq)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
        })
    }
}

/// What [`Store::prune_logs`] deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PrunedLogs {
    /// Offer changes.
    pub changes: u64,
    /// Publication entries.
    pub publications: u64,
}

/// The store's logs read by sequence.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Log {
    /// `offer_changes`.
    OfferChanges,
    /// `publication_changes`.
    PublicationChanges,
}

/// The last sequence number a log gave, as a scalar subquery (`0` when it never gave one).
pub(crate) fn last_seq_query(log: Log) -> String {
    format!("SELECT COALESCE(MAX(seq), 0) AS seq FROM {}", log.table())
}

impl Log {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Log::OfferChanges => "offer_changes",
            Log::PublicationChanges => "publication_changes",
        }
    }
}

#[cfg(test)]
mod tests;
