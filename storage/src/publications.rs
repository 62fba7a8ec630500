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
use relais_model::{Offer, OfferKey, SourceId};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::offers::{OFFER_COLUMNS, offer_from_row};
use crate::{StorageError, Store};

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
}

fn key_of(row: &sqlx::sqlite::SqliteRow, table: &str) -> Result<OfferKey, StorageError> {
    let source: String = row.try_get("source")?;
    let id: String = row.try_get("source_offer_id")?;
    SourceId::parse(&source)
        .ok()
        .and_then(|s| OfferKey::new(s, &id).ok())
        .ok_or_else(|| StorageError::CorruptValue {
            what: format!("{table}.key"),
            value: format!("{source}:{id}"),
        })
}

fn row_of(row: &sqlx::sqlite::SqliteRow) -> Result<(String, PublicationRow), StorageError> {
    Ok((
        key_of(row, "publications")?.to_string(),
        PublicationRow {
            shown_through: row.try_get("shown_through")?,
            links: row.try_get("links")?,
        },
    ))
}

impl Store {
    /// Writes rows of `publications` (`None`: the offer is no longer there), appends `log` to the
    /// publication log, and records that `reader` has applied the offer change log up to
    /// `position`, in one transaction. Returns the last publication sequence written.
    pub async fn write_publications(
        &self,
        rows: &[(OfferKey, Option<PublicationRow>)],
        log: &[(OfferKey, Option<String>)],
        reader: &str,
        position: i64,
    ) -> Result<i64, StorageError> {
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(500) {
            let mut delete = QueryBuilder::<Sqlite>::new(
                "DELETE FROM publications WHERE (source, source_offer_id) IN (",
            );
            let mut separated = delete.separated(", ");
            for (key, _) in chunk {
                separated
                    .push("(")
                    .push_bind_unseparated(key.source().as_str().to_owned())
                    .push_unseparated(", ")
                    .push_bind_unseparated(key.source_offer_id().to_owned())
                    .push_unseparated(")");
            }
            delete.push(")");
            delete.build().execute(&mut *tx).await?;
            let kept: Vec<_> = chunk
                .iter()
                .filter_map(|(key, row)| row.as_ref().map(|row| (key, row)))
                .collect();
            if kept.is_empty() {
                continue;
            }
            let mut insert = QueryBuilder::<Sqlite>::new(
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
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO publication_changes (source, source_offer_id, links) ",
            );
            insert.push_values(chunk, |mut values, (key, links)| {
                values
                    .push_bind(key.source().as_str().to_owned())
                    .push_bind(key.source_offer_id().to_owned())
                    .push_bind(links.clone());
            });
            insert.build().execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO log_positions (reader, seq) VALUES ($1, $2)
             ON CONFLICT (reader) DO UPDATE SET seq = excluded.seq",
        )
        .bind(reader)
        .bind(position)
        .execute(&mut *tx)
        .await?;
        let last: i64 = sqlx::query(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'publication_changes'), 0) AS seq",
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get("seq")?;
        tx.commit().await?;
        Ok(last)
    }

    /// Where `reader` stands in the offer change log, as its last write recorded it.
    pub async fn log_position(&self, reader: &str) -> Result<Option<i64>, StorageError> {
        let row = sqlx::query("SELECT seq FROM log_positions WHERE reader = $1")
            .bind(reader)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("seq")).transpose()?)
    }

    /// The rows of `publications` of `keys` (by key text; absent keys are left out).
    pub async fn publication_rows(
        &self,
        keys: &[OfferKey],
    ) -> Result<HashMap<String, PublicationRow>, StorageError> {
        let mut rows = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let mut select = QueryBuilder::<Sqlite>::new(
                "SELECT source, source_offer_id, shown_through, links FROM publications
                 WHERE (source, source_offer_id) IN (",
            );
            let mut separated = select.separated(", ");
            for key in chunk {
                separated
                    .push("(")
                    .push_bind_unseparated(key.source().as_str().to_owned())
                    .push_unseparated(", ")
                    .push_bind_unseparated(key.source_offer_id().to_owned())
                    .push_unseparated(")");
            }
            select.push(")");
            for row in select.build().fetch_all(&self.pool).await? {
                let (key, row) = row_of(&row)?;
                rows.insert(key, row);
            }
        }
        Ok(rows)
    }

    /// Every row of `publications`, by key text.
    pub async fn all_publication_rows(
        &self,
    ) -> Result<HashMap<String, PublicationRow>, StorageError> {
        let mut all = HashMap::new();
        let mut rows =
            sqlx::query("SELECT source, source_offer_id, shown_through, links FROM publications")
                .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let (key, row) = row_of(&row)?;
            all.insert(key, row);
        }
        Ok(all)
    }

    /// Calls `visit` on every published offer with its links (JSON), streaming.
    pub async fn for_each_published_offer(
        &self,
        mut visit: impl FnMut(Offer, String),
    ) -> Result<u64, StorageError> {
        let query = format!(
            "SELECT {OFFER_COLUMNS}, p.links AS links FROM publications p
             JOIN offers o ON o.source = p.source AND o.source_offer_id = p.source_offer_id
             WHERE p.links IS NOT NULL ORDER BY p.source, p.source_offer_id"
        );
        let mut rows = sqlx::query(&query).fetch(&self.pool);
        let mut count = 0;
        while let Some(row) = rows.try_next().await? {
            let links: String = row.try_get("links")?;
            visit(offer_from_row(&row)?, links);
            count += 1;
        }
        Ok(count)
    }

    /// The publication changes after sequence `after`, in order, at most `limit`.
    pub async fn publication_changes_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PublicationChange>, StorageError> {
        let rows = sqlx::query(
            "SELECT seq, source, source_offer_id, links FROM publication_changes
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PublicationChange {
                    seq: row.try_get("seq")?,
                    key: key_of(row, "publication_changes")?,
                    links: row.try_get("links")?,
                })
            })
            .collect()
    }

    /// The last publication sequence written (0 when none ever was).
    pub async fn last_publication_seq(&self) -> Result<i64, StorageError> {
        let row = sqlx::query(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'publication_changes'), 0) AS seq",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("seq")?)
    }

    /// The oldest publication sequence still in the log, if any: an index behind it must be
    /// rebuilt from `publications`.
    pub async fn oldest_publication_seq(&self) -> Result<Option<i64>, StorageError> {
        let row = sqlx::query("SELECT MIN(seq) AS seq FROM publication_changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("seq")?)
    }

    /// Deletes the publication changes before `seq` (every index is past them); returns how many.
    pub async fn prune_publication_changes_before(&self, seq: i64) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM publication_changes WHERE seq < $1")
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests;
