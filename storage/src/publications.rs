//! What the deduplicating worker publishes, for the indexes to follow.
//!
//! The worker places every changed offer in its deduplicator and writes here what that changes
//! in the published jobs: `publications` holds, for each active offer that may be published,
//! the copy its job is shown through and, for that copy, the other copies of its job (the "also
//! published on" links, JSON); `publication_changes` logs each offer to (re)index and each offer
//! no longer published, in commit order, for every index to apply after the last sequence it
//! applied. An index needs no deduplicator: API replicas hold the offers' index alone.
//!
//! The worker's position in the offer change log is written in the transaction of what it
//! published up to there ([`Store::write_publications`]): a worker that stops between two
//! writes applies the same changes again, which rewrites the same rows.

use std::collections::HashMap;

use futures::TryStreamExt;
use relais_model::{Offer, OfferKey};
use sqlx::{QueryBuilder, Row};

use crate::backend::{Announce, WritePool};

use crate::changes::{Log, last_seq_query};
use crate::offers::{OFFER_COLUMNS, offer_from_row};
use crate::{StorageError, Store, keys_in};

/// Where an active offer stands in what is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationRow {
    /// The key of the copy its job is shown through (its own when it is that copy).
    pub shown_through: String,
    /// The other copies of its job (JSON), when it is the copy shown.
    pub links: Option<String>,
}

/// One entry of the publication log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationChange {
    /// Sequence number: increasing in commit order, never reused.
    pub seq: i64,
    /// The offer.
    pub key: OfferKey,
    /// Its links when it is to be (re)indexed; `None` when it is no longer published.
    pub links: Option<String>,
    /// The offer change the worker had applied up to before the write that logged the entry.
    pub base_change_seq: i64,
}

/// Where the logs stand, read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    /// The last offer change.
    pub change_seq: i64,
    /// The last publication entry.
    pub publication_seq: i64,
    /// The offer change the worker has applied up to (`None`: no worker ever wrote).
    pub worker_change_seq: Option<i64>,
}

fn row_of<R: Row>(row: &R) -> Result<(String, PublicationRow), StorageError>
where
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    Ok((
        crate::key_of(row, "publications")?.to_string(),
        PublicationRow {
            shown_through: row.try_get("shown_through")?,
            links: row.try_get("links")?,
        },
    ))
}

impl Store {
    /// Writes rows of `publications` (`None`: the offer is no longer there) and appends `log` to
    /// the publication log, written by a worker that had applied the offer changes up to
    /// `base_change_seq` before; with `reader`, records that reader's new position (it has
    /// applied every offer change up to it); in one transaction. Returns the last publication
    /// sequence written.
    pub async fn write_publications(
        &self,
        rows: &[(OfferKey, Option<PublicationRow>)],
        log: &[(OfferKey, Option<String>)],
        base_change_seq: i64,
        reader: Option<(&str, i64)>,
    ) -> Result<i64, StorageError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for chunk in rows.chunks(500) {
                let mut delete = keys_in(
                    "DELETE FROM publications WHERE (source, source_offer_id) IN (",
                    chunk.iter().map(|(key, _)| key),
                );
                delete.build().execute(&mut *tx).await?;
                let kept: Vec<_> = chunk
                    .iter()
                    .filter_map(|(key, row)| row.as_ref().map(|row| (key, row)))
                    .collect();
                if kept.is_empty() {
                    continue;
                }
                let mut insert = QueryBuilder::new(
                    "INSERT INTO publications (source, source_offer_id, shown_through, links) ",
                );
                insert.push_values(kept, |mut values, (key, row)| {
                    values
                        .push_bind(key.source().as_str().to_owned())
                        .push_bind(key.source_offer_id().to_owned())
                        .push_bind(row.shown_through.clone())
                        .push_bind(row.links.clone());
                });
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in log.chunks(500) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO publication_changes (source, source_offer_id, links, base_change_seq) ",
                );
                insert.push_values(chunk, |mut values, (key, links)| {
                    values
                        .push_bind(key.source().as_str().to_owned())
                        .push_bind(key.source_offer_id().to_owned())
                        .push_bind(links.clone())
                        .push_bind(base_change_seq);
                });
                insert.build().execute(&mut *tx).await?;
            }
            if let Some((reader, position)) = reader {
                sqlx::query(
                    "INSERT INTO log_positions (reader, seq) VALUES ($1, $2)
                 ON CONFLICT (reader) DO UPDATE SET seq = excluded.seq",
                )
                .bind(reader)
                .bind(position)
                .execute(&mut *tx)
                .await?;
            }
            let last: i64 = sqlx::query(&last_seq_query(Log::PublicationChanges))
                .fetch_one(&mut *tx)
                .await?
                .try_get("seq")?;
            if !log.is_empty() {
                tx.announce_publications(last).await?;
            }
            tx.commit().await?;
            Ok(last)
        })
    }

    /// Where `reader` stands in the offer change log, as its last write recorded it.
    pub async fn log_position(&self, reader: &str) -> Result<Option<i64>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query("SELECT seq FROM log_positions WHERE reader = $1")
                .bind(reader)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|row| row.try_get("seq")).transpose()?)
        })
    }

    /// The rows of `publications` of `keys` (by key text; absent keys are left out).
    pub async fn publication_rows(
        &self,
        keys: &[OfferKey],
    ) -> Result<HashMap<String, PublicationRow>, StorageError> {
        with_pool!(self, |pool| {
            let mut rows = HashMap::with_capacity(keys.len());
            for chunk in keys.chunks(500) {
                let mut select = keys_in(
                    "SELECT source, source_offer_id, shown_through, links FROM publications
                 WHERE (source, source_offer_id) IN (",
                    chunk,
                );
                for row in select.build().fetch_all(pool).await? {
                    let (key, row) = row_of(&row)?;
                    rows.insert(key, row);
                }
            }
            Ok(rows)
        })
    }

    /// Calls `visit` on every row of `publications`, streaming.
    pub async fn for_each_publication_row(
        &self,
        mut visit: impl FnMut(OfferKey, PublicationRow),
    ) -> Result<u64, StorageError> {
        with_pool!(self, |pool| {
            let mut rows = sqlx::query(
                "SELECT source, source_offer_id, shown_through, links FROM publications",
            )
            .fetch(pool);
            let mut count = 0;
            while let Some(row) = rows.try_next().await? {
                visit(
                    crate::key_of(&row, "publications")?,
                    PublicationRow {
                        shown_through: row.try_get("shown_through")?,
                        links: row.try_get("links")?,
                    },
                );
                count += 1;
            }
            Ok(count)
        })
    }

    /// Calls `visit` on every published offer with its links (JSON), streaming.
    pub async fn for_each_published_offer(
        &self,
        mut visit: impl FnMut(Offer, String),
    ) -> Result<u64, StorageError> {
        with_pool!(self, |pool| {
            let query = format!(
                "SELECT {OFFER_COLUMNS}, p.links AS links FROM publications p
             JOIN offers o ON o.source = p.source AND o.source_offer_id = p.source_offer_id
             WHERE p.links IS NOT NULL ORDER BY p.source, p.source_offer_id"
            );
            let mut rows = sqlx::query(&query).fetch(pool);
            let mut count = 0;
            while let Some(row) = rows.try_next().await? {
                let links: String = row.try_get("links")?;
                visit(offer_from_row(&row)?, links);
                count += 1;
            }
            Ok(count)
        })
    }

    /// The publication changes after sequence `after`, in order, at most `limit`.
    pub async fn publication_changes_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PublicationChange>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
            "SELECT seq, source, source_offer_id, links, base_change_seq FROM publication_changes
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
            rows.iter()
                .map(|row| {
                    Ok(PublicationChange {
                        seq: row.try_get("seq")?,
                        key: crate::key_of(row, "publication_changes")?,
                        links: row.try_get("links")?,
                        base_change_seq: row.try_get("base_change_seq")?,
                    })
                })
                .collect()
        })
    }

    /// The base of the first publication entry after `seq` (see
    /// [`PublicationChange::base_change_seq`]), `None` when there is none: an index that applied
    /// the entries up to `seq` reflects every offer change up to it.
    pub async fn next_publication_base(&self, seq: i64) -> Result<Option<i64>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
            "SELECT base_change_seq FROM publication_changes WHERE seq > $1 ORDER BY seq LIMIT 1",
        )
        .bind(seq)
        .fetch_optional(pool)
        .await?;
            Ok(row.map(|row| row.try_get("base_change_seq")).transpose()?)
        })
    }

    /// Where the logs stand, read in one statement (so that a worker's write is seen whole or
    /// not at all): an index that applied every publication entry reflects every offer change
    /// the worker applied.
    pub async fn log_state(&self, worker: &str) -> Result<LogState, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(&format!(
                "SELECT ({}) AS changes, ({}) AS publications,
                    (SELECT seq FROM log_positions WHERE reader = $1) AS worker",
                last_seq_query(Log::OfferChanges),
                last_seq_query(Log::PublicationChanges),
            ))
            .bind(worker)
            .fetch_one(pool)
            .await?;
            Ok(LogState {
                change_seq: row.try_get("changes")?,
                publication_seq: row.try_get("publications")?,
                worker_change_seq: row.try_get("worker")?,
            })
        })
    }

    /// The last publication sequence written (0 when none ever was).
    pub async fn last_publication_seq(&self) -> Result<i64, StorageError> {
        self.last_seq(Log::PublicationChanges).await
    }

    /// The oldest publication sequence still in the log, if any: an index behind it must be
    /// rebuilt from `publications`.
    pub async fn oldest_publication_seq(&self) -> Result<Option<i64>, StorageError> {
        self.oldest_seq(Log::PublicationChanges).await
    }

    /// Deletes the publication changes before `seq` (every index is past them); returns how many.
    pub async fn prune_publication_changes_before(&self, seq: i64) -> Result<u64, StorageError> {
        self.prune_before(Log::PublicationChanges, seq).await
    }
}

#[cfg(test)]
mod tests;
