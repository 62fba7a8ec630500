//! Offers and their raw records: batch commits with the run cursor, withdrawals, reads.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use relais_model::{Offer, OfferKey, OfferStatus, SourceId, WithdrawalReason};
use serde::Serialize;
use std::collections::HashMap;

use sqlx::{QueryBuilder, Row};

use crate::backend::WritePool;
use crate::changes::{ChangeKind, record_changes};
use crate::{StorageError, Store, from_millis, millis};

/// A normalised offer with the payload it was made from.
#[derive(Debug, Clone)]
pub struct IncomingRecord {
    /// The normalised offer.
    pub offer: Offer,
    /// The record exactly as the source sent it.
    pub raw_payload: String,
}

/// What a batch commit changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchOutcome {
    /// Offers never seen before.
    pub new: u64,
    /// Offers whose content changed at the source.
    pub changed: u64,
    /// Offers seen again unchanged.
    pub unchanged: u64,
    /// Withdrawn offers that are available again.
    pub reactivated: u64,
}

impl BatchOutcome {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: BatchOutcome) {
        self.new += other.new;
        self.changed += other.changed;
        self.unchanged += other.unchanged;
        self.reactivated += other.reactivated;
    }
}

/// Active and withdrawn offers of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SourceCounts {
    /// Offers that may be published.
    pub active: u64,
    /// Offers withdrawn.
    pub withdrawn: u64,
}

/// FNV-1a: a stable content hash (the standard library's hasher may change between releases).
fn content_hash(payload: &str) -> String {
    let hash = payload.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// An offer read from a row of [`OFFER_COLUMNS`], of either backend.
pub(crate) fn offer_from_row<R: Row>(row: &R) -> Result<Offer, StorageError>
where
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    let text = crate::documents::unpack(row.try_get("offer")?, "offers.offer")?;
    let mut offer: Offer =
        serde_json::from_str(&text).map_err(|source| StorageError::CorruptDocument {
            what: "offers.offer".into(),
            source,
        })?;
    // The lifecycle columns are authoritative; the document holds the content.
    offer.first_seen_at = from_millis(row.try_get("first_seen_at")?);
    offer.last_seen_at = from_millis(row.try_get("last_seen_at")?);
    offer.status = match row.try_get::<String, _>("status")?.as_str() {
        "withdrawn" => OfferStatus::Withdrawn {
            reason: match row
                .try_get::<Option<String>, _>("withdrawn_reason")?
                .as_deref()
            {
                Some("gone_at_source") => WithdrawalReason::GoneAtSource,
                _ => WithdrawalReason::MissingFromCompleteSweep,
            },
            at: from_millis(
                row.try_get::<Option<i64>, _>("withdrawn_at")?
                    .unwrap_or_default(),
            ),
        },
        _ => OfferStatus::Active,
    };
    Ok(offer)
}

/// Rows per multi-row statement: 11 bound values each, well under SQLite's 32 766.
const ROWS_PER_STATEMENT: usize = 200;

/// `(source, id)` of an offer, the key of [`known_states`].
fn state_key(key: &OfferKey) -> (String, String) {
    (
        key.source().as_str().to_owned(),
        key.source_offer_id().to_owned(),
    )
}

/// What a batch does to the stored offers, and which records need which statement.
struct Classified {
    outcome: BatchOutcome,
    /// Records whose content is already stored: only their lifecycle columns move.
    unchanged: Vec<usize>,
    /// New or changed records: upserted whole.
    upserted: Vec<usize>,
    /// What the change log records, per record index.
    changes: Vec<(usize, ChangeKind)>,
}

/// Classifies `records` in order against `known` (a record repeated in the batch is compared
/// with its previous occurrence).
fn classify(
    mut known: HashMap<(String, String), (String, bool)>,
    records: &[IncomingRecord],
    hashes: &[String],
) -> Classified {
    let mut classified = Classified {
        outcome: BatchOutcome::default(),
        unchanged: Vec::new(),
        upserted: Vec::new(),
        changes: Vec::new(),
    };
    let outcome = &mut classified.outcome;
    for (i, record) in records.iter().enumerate() {
        match known.insert(state_key(&record.offer.key), (hashes[i].clone(), true)) {
            None => {
                outcome.new += 1;
                classified.upserted.push(i);
                classified.changes.push((i, ChangeKind::Created));
            }
            Some((old_hash, active)) => {
                if !active {
                    outcome.reactivated += 1;
                    classified.changes.push((i, ChangeKind::Reactivated));
                }
                if old_hash == hashes[i] {
                    outcome.unchanged += 1;
                    classified.unchanged.push(i);
                } else {
                    outcome.changed += 1;
                    classified.upserted.push(i);
                    if active {
                        classified.changes.push((i, ChangeKind::Changed));
                    }
                }
            }
        }
    }
    classified
}

/// Content hash and whether active, of the stored offers among `records`.
async fn known_states<C: KnownStates>(
    connection: &mut C,
    records: &[IncomingRecord],
) -> Result<HashMap<(String, String), (String, bool)>, StorageError> {
    connection.known_states(records).await
}

/// [`known_states`] on a connection of either backend.
trait KnownStates {
    async fn known_states(
        &mut self,
        records: &[IncomingRecord],
    ) -> Result<HashMap<(String, String), (String, bool)>, StorageError>;
}

impl_for_both!(KnownStates for sqlx::SqliteConnection, sqlx::PgConnection {
    async fn known_states(
        &mut self,
        records: &[IncomingRecord],
    ) -> Result<HashMap<(String, String), (String, bool)>, StorageError> {
    let mut known = HashMap::with_capacity(records.len());
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let mut select = crate::keys_in(
            "SELECT source, source_offer_id, content_hash, status FROM offers \
             WHERE (source, source_offer_id) IN (",
            chunk.iter().map(|record| &record.offer.key),
        );
        // Unprepared, planned at each run (see `crate::keys_in`).
        for row in select.build().persistent(false).fetch_all(&mut *self).await? {
            known.insert(
                (
                    row.try_get::<String, _>("source")?,
                    row.try_get::<String, _>("source_offer_id")?,
                ),
                (
                    row.try_get::<String, _>("content_hash")?,
                    row.try_get::<String, _>("status")? == "active",
                ),
            );
        }
    }
    Ok(known)
}
});

pub(crate) const OFFER_COLUMNS: &str =
    "offer, first_seen_at, last_seen_at, status, withdrawn_reason, withdrawn_at";

impl Store {
    /// Stores a batch of records seen by `run_id` at `seen_at` and moves the run's cursor, in one
    /// transaction. Re-committing the same records is harmless: offers are keyed by source and id.
    /// A record repeated within the batch counts once per occurrence, the last one winning.
    pub async fn commit_batch(
        &self,
        run_id: i64,
        records: &[IncomingRecord],
        cursor: &serde_json::Value,
        seen_at: DateTime<Utc>,
    ) -> Result<BatchOutcome, StorageError> {
        with_pool!(self, |pool| {
            let seen = millis(seen_at);
            let mut tx = pool.begin_write().await?;
            let known = known_states(&mut *tx, records).await?;
            let hashes: Vec<String> = records
                .iter()
                .map(|r| content_hash(&r.raw_payload))
                .collect();
            let Classified {
                outcome,
                unchanged,
                upserted,
                changes,
            } = classify(known, records, &hashes);
            for chunk in upserted.chunks(ROWS_PER_STATEMENT) {
                let documents: Vec<Vec<u8>> = chunk
                    .iter()
                    .map(|&i| {
                        crate::documents::pack(
                            &serde_json::to_string(&records[i].offer).expect("offers serialise"),
                        )
                    })
                    .collect();
                let mut insert = QueryBuilder::new(
                    "INSERT INTO offers (source, source_offer_id, status, departement, commune, created_at_source, first_seen_at, last_seen_at, last_seen_run, content_hash, offer) ",
                );
                insert.push_values(chunk.iter().zip(&documents), |mut row, (&i, document)| {
                    let offer = &records[i].offer;
                    row.push_bind(offer.key.source().as_str())
                        .push_bind(offer.key.source_offer_id())
                        .push_bind("active")
                        .push_bind(offer.location.departement.as_ref().map(|d| d.as_str()))
                        .push_bind(offer.location.commune.as_ref().map(|c| c.as_str()))
                        .push_bind(offer.dates.created_at.map(millis))
                        .push_bind(seen)
                        .push_bind(seen)
                        .push_bind(run_id)
                        .push_bind(&hashes[i])
                        .push_bind(document);
                });
                insert.push(
                " ON CONFLICT (source, source_offer_id) DO UPDATE SET status = 'active', withdrawn_reason = NULL, withdrawn_at = NULL, anonymised_at = NULL,
                  last_seen_at = excluded.last_seen_at, last_seen_run = excluded.last_seen_run, departement = excluded.departement,
                  commune = excluded.commune, created_at_source = excluded.created_at_source, content_hash = excluded.content_hash,
                  offer = excluded.offer",
            );
                insert.build().execute(&mut *tx).await?;
            }
            for chunk in unchanged.chunks(ROWS_PER_STATEMENT) {
                let mut update = QueryBuilder::new(
                    "UPDATE offers SET status = 'active', withdrawn_reason = NULL, withdrawn_at = NULL, last_seen_at = ",
                );
                update
                    .push_bind(seen)
                    .push(", last_seen_run = ")
                    .push_bind(run_id)
                    .push(" WHERE (source, source_offer_id) IN (");
                crate::push_keys(&mut update, chunk.iter().map(|&i| &records[i].offer.key));
                update.push(")");
                update.build().execute(&mut *tx).await?;
            }
            // A payload is written when it is new to its offer: one seen again unchanged is
            // already there (its offer's `last_seen_at` says it was seen).
            for chunk in upserted.chunks(ROWS_PER_STATEMENT) {
                let payloads: Vec<Vec<u8>> = chunk
                    .iter()
                    .map(|&i| crate::documents::pack(&records[i].raw_payload))
                    .collect();
                let mut insert = QueryBuilder::new(
                    "INSERT INTO raw_records (source, source_offer_id, content_hash, first_received_at, last_received_at, run_id, payload) ",
                );
                insert.push_values(chunk.iter().zip(&payloads), |mut row, (&i, payload)| {
                    let key = &records[i].offer.key;
                    row.push_bind(key.source().as_str())
                        .push_bind(key.source_offer_id())
                        .push_bind(&hashes[i])
                        .push_bind(seen)
                        .push_bind(seen)
                        .push_bind(run_id)
                        .push_bind(payload);
                });
                insert.push(
                " ON CONFLICT (source, source_offer_id, content_hash)
                  DO UPDATE SET last_received_at = excluded.last_received_at, run_id = excluded.run_id",
            );
                insert.build().execute(&mut *tx).await?;
            }
            let logged: Vec<(&str, &str, ChangeKind)> = changes
                .iter()
                .map(|&(i, kind)| {
                    let key = &records[i].offer.key;
                    (key.source().as_str(), key.source_offer_id(), kind)
                })
                .collect();
            record_changes(&mut *tx, &logged, seen_at).await?;
            sqlx::query("UPDATE runs SET cursor = $1, heartbeat_at = $2 WHERE id = $3")
                .bind(cursor.to_string())
                .bind(seen)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// Withdraws the active offers of `source` that the complete sweep `run_id` did not see and
    /// that nobody saw since the sweep's snapshot. Returns the withdrawn ids.
    pub async fn withdraw_offers_missing_from_complete_sweep(
        &self,
        source: &SourceId,
        run_id: i64,
        snapshot_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StorageError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let rows = sqlx::query(
            "UPDATE offers SET status = 'withdrawn', withdrawn_reason = 'missing_from_complete_sweep', withdrawn_at = $1
             WHERE source = $2 AND status = 'active' AND (last_seen_run IS NULL OR last_seen_run <> $3) AND last_seen_at < $4
             RETURNING source_offer_id",
        )
        .bind(millis(at))
        .bind(source.as_str())
        .bind(run_id)
        .bind(millis(snapshot_at))
        .fetch_all(&mut *tx)
        .await?;
            let ids: Vec<String> = rows
                .iter()
                .map(|r| r.try_get("source_offer_id").map_err(StorageError::from))
                .collect::<Result<_, _>>()?;
            let logged: Vec<(&str, &str, ChangeKind)> = ids
                .iter()
                .map(|id| (source.as_str(), id.as_str(), ChangeKind::Withdrawn))
                .collect();
            record_changes(&mut *tx, &logged, at).await?;
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// What committing `records` would change, without writing anything (dry runs).
    pub async fn preview_batch(
        &self,
        records: &[IncomingRecord],
    ) -> Result<BatchOutcome, StorageError> {
        with_pool!(self, |pool| {
            let mut connection = pool.acquire().await?;
            let known = known_states(&mut *connection, records).await?;
            let hashes: Vec<String> = records
                .iter()
                .map(|r| content_hash(&r.raw_payload))
                .collect();
            Ok(classify(known, records, &hashes).outcome)
        })
    }

    /// The ids of the active offers of a source.
    pub async fn active_offer_ids(&self, source: &SourceId) -> Result<Vec<String>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT source_offer_id FROM offers WHERE source = $1 AND status = 'active'",
            )
            .bind(source.as_str())
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| r.try_get("source_offer_id").map_err(StorageError::from))
                .collect()
        })
    }

    /// How many distinct offers of `source` the run `run_id` saw last.
    pub async fn count_offers_seen_by_run(
        &self,
        source: &SourceId,
        run_id: i64,
    ) -> Result<u64, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM offers WHERE source = $1 AND last_seen_run = $2",
            )
            .bind(source.as_str())
            .bind(run_id)
            .fetch_one(pool)
            .await?;
            Ok(row.try_get::<i64, _>("n")? as u64)
        })
    }

    /// Calls `visit` on every offer of `source` (active and withdrawn), by id, streaming.
    pub async fn for_each_offer_of_source(
        &self,
        source: &SourceId,
        mut visit: impl FnMut(Offer),
    ) -> Result<u64, StorageError> {
        with_pool!(self, |pool| {
            let query = format!(
                "SELECT {OFFER_COLUMNS} FROM offers WHERE source = $1 ORDER BY source_offer_id"
            );
            let mut rows = sqlx::query(&query).bind(source.as_str()).fetch(pool);
            let mut count = 0;
            while let Some(row) = rows.try_next().await? {
                visit(offer_from_row(&row)?);
                count += 1;
            }
            Ok(count)
        })
    }

    /// Withdraws one offer that its source says no longer exists. Returns whether it was active.
    pub async fn withdraw_offer_gone_at_source(
        &self,
        key: &OfferKey,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let result = sqlx::query(
            "UPDATE offers SET status = 'withdrawn', withdrawn_reason = 'gone_at_source', withdrawn_at = $1
             WHERE source = $2 AND source_offer_id = $3 AND status = 'active'",
        )
        .bind(millis(at))
        .bind(key.source().as_str())
        .bind(key.source_offer_id())
        .execute(&mut *tx)
        .await?;
            let withdrawn = result.rows_affected() == 1;
            if withdrawn {
                record_changes(
                    &mut *tx,
                    &[(
                        key.source().as_str(),
                        key.source_offer_id(),
                        ChangeKind::Withdrawn,
                    )],
                    at,
                )
                .await?;
            }
            tx.commit().await?;
            Ok(withdrawn)
        })
    }

    /// Active and withdrawn counts of a source.
    pub async fn source_counts(&self, source: &SourceId) -> Result<SourceCounts, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT status, COUNT(*) AS n FROM offers WHERE source = $1 GROUP BY status",
            )
            .bind(source.as_str())
            .fetch_all(pool)
            .await?;
            let mut counts = SourceCounts::default();
            for row in rows {
                let n = row.try_get::<i64, _>("n")? as u64;
                match row.try_get::<String, _>("status")?.as_str() {
                    "active" => counts.active = n,
                    _ => counts.withdrawn = n,
                }
            }
            Ok(counts)
        })
    }

    /// One offer, whatever its status.
    pub async fn offer(&self, key: &OfferKey) -> Result<Option<Offer>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(&format!(
                "SELECT {OFFER_COLUMNS} FROM offers WHERE source = $1 AND source_offer_id = $2"
            ))
            .bind(key.source().as_str())
            .bind(key.source_offer_id())
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(offer_from_row).transpose()
        })
    }

    /// The offers of `keys` that the store holds, whatever their status (unknown keys are left
    /// out), in no particular order.
    pub async fn offers(&self, keys: &[OfferKey]) -> Result<Vec<Offer>, StorageError> {
        with_pool!(self, |pool| {
            let mut offers = Vec::with_capacity(keys.len());
            // SQLite binds at most 32 766 parameters; two per key.
            for chunk in keys.chunks(500) {
                let mut select = crate::keys_in(
                    format!(
                        "SELECT {OFFER_COLUMNS} FROM offers WHERE (source, source_offer_id) IN ("
                    ),
                    chunk,
                );
                for row in select.build().fetch_all(pool).await? {
                    offers.push(offer_from_row(&row)?);
                }
            }
            Ok(offers)
        })
    }

    /// Calls `visit` on every active offer, streaming (memory stays flat whatever the stock).
    pub async fn for_each_active_offer(
        &self,
        mut visit: impl FnMut(Offer),
    ) -> Result<u64, StorageError> {
        with_pool!(self, |pool| {
            let query = format!(
                "SELECT {OFFER_COLUMNS} FROM offers WHERE status = 'active' ORDER BY source, source_offer_id"
            );
            let mut rows = sqlx::query(&query).fetch(pool);
            let mut count = 0;
            while let Some(row) = rows.try_next().await? {
                visit(offer_from_row(&row)?);
                count += 1;
            }
            Ok(count)
        })
    }

    /// Active offers of `source` seen since `since` and created at the source before
    /// `created_before` (or with no creation date), counted by département (`None`: no département).
    pub async fn count_offers_seen_since_by_departement(
        &self,
        source: &SourceId,
        since: DateTime<Utc>,
        created_before: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<Option<String>, u64>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
            "SELECT departement, COUNT(*) AS n FROM offers
             WHERE source = $1 AND status = 'active' AND last_seen_at >= $2 AND (created_at_source IS NULL OR created_at_source < $3)
             GROUP BY departement",
        )
        .bind(source.as_str())
        .bind(millis(since))
        .bind(millis(created_before))
        .fetch_all(pool)
        .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get::<Option<String>, _>("departement")?,
                        r.try_get::<i64, _>("n")? as u64,
                    ))
                })
                .collect()
        })
    }

    /// The payload the offer's current content was normalised from.
    pub async fn raw_payload(&self, key: &OfferKey) -> Result<Option<String>, StorageError> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
            "SELECT r.payload FROM raw_records r JOIN offers o
               ON o.source = r.source AND o.source_offer_id = r.source_offer_id AND o.content_hash = r.content_hash
             WHERE r.source = $1 AND r.source_offer_id = $2",
        )
        .bind(key.source().as_str())
        .bind(key.source_offer_id())
        .fetch_optional(pool)
        .await?;
            row.map(|r| crate::documents::unpack(r.try_get("payload")?, "raw_records.payload"))
                .transpose()
        })
    }

    /// Every distinct payload received for an offer, oldest first.
    pub async fn raw_payloads(&self, key: &OfferKey) -> Result<Vec<String>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
            "SELECT payload FROM raw_records WHERE source = $1 AND source_offer_id = $2 ORDER BY first_received_at, last_received_at",
        )
        .bind(key.source().as_str())
        .bind(key.source_offer_id())
        .fetch_all(pool)
        .await?;
            rows.iter()
                .map(|r| crate::documents::unpack(r.try_get("payload")?, "raw_records.payload"))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests;
