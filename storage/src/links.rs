//! The apply links' checks: each partner offer's link, its consecutive "gone" answers (404,
//! 410), and whether the offer is hidden for it.

use chrono::{DateTime, Utc};
use relais_model::OfferKey;
use serde::Serialize;
use sqlx::Row;

use crate::backend::WritePool;
use crate::{StorageError, Store, from_millis, millis};

/// The offers hidden for their link, read from the hidden rows to their offers (each serving
/// process reads them every few seconds; a join let the planner start from the active offers, a
/// second of work at a million offers on every read).
const HIDDEN_OFFERS: &str = "SELECT l.source, l.source_offer_id, l.url, l.last_status, l.hidden_at \
     FROM link_checks l WHERE l.hidden_at IS NOT NULL AND EXISTS (SELECT 1 FROM offers o \
     WHERE o.source = l.source AND o.source_offer_id = l.source_offer_id AND o.status = 'active') \
     ORDER BY l.source, l.source_offer_id";

/// Consecutive 404 or 410 answers that hide an offer.
pub const GONE_ANSWERS_TO_HIDE: i64 = 2;

/// What a check changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkChange {
    /// Nothing.
    None,
    /// The offer is hidden from now on.
    Hidden,
    /// The offer is shown again.
    ShownAgain,
}

/// An offer hidden for its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiddenOffer {
    /// The offer.
    pub key: OfferKey,
    /// Its link.
    pub url: String,
    /// The last answer (404 or 410).
    pub status: Option<i64>,
    /// Since when.
    pub hidden_at: DateTime<Utc>,
}

impl Store {
    /// Records one check of `key`'s link: `status` is the HTTP status, `None` when the host
    /// could not be reached (which neither hides nor shows: a host down is not a job gone).
    pub async fn record_link_check(
        &self,
        key: &OfferKey,
        url: &str,
        status: Option<u16>,
        at: DateTime<Utc>,
    ) -> Result<LinkChange, StorageError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let previous = sqlx::query(
            "SELECT url, failures, hidden_at FROM link_checks WHERE source = $1 AND source_offer_id = $2",
        )
        .bind(key.source().as_str())
        .bind(key.source_offer_id())
        .fetch_optional(&mut *tx)
        .await?;
            let (mut failures, was_hidden) = match &previous {
                // A new link starts afresh.
                Some(row) if row.try_get::<String, _>("url")? == url => (
                    row.try_get::<i64, _>("failures")?,
                    row.try_get::<Option<i64>, _>("hidden_at")?,
                ),
                _ => (0, None),
            };
            let gone = matches!(status, Some(404 | 410));
            let answered = status.is_some_and(|s| (200..400).contains(&s));
            if gone {
                failures += 1;
            } else if answered {
                failures = 0;
            }
            let hidden_at = if failures >= GONE_ANSWERS_TO_HIDE {
                was_hidden.or(Some(millis(at)))
            } else if answered {
                None
            } else {
                was_hidden
            };
            sqlx::query(
            "INSERT INTO link_checks (source, source_offer_id, url, failures, last_status, checked_at, hidden_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, source_offer_id) DO UPDATE SET \
             url = excluded.url, failures = excluded.failures, last_status = excluded.last_status, \
             checked_at = excluded.checked_at, hidden_at = excluded.hidden_at",
        )
        .bind(key.source().as_str())
        .bind(key.source_offer_id())
        .bind(url)
        .bind(failures)
        .bind(status.map(i64::from))
        .bind(millis(at))
        .bind(hidden_at)
        .execute(&mut *tx)
        .await?;
            tx.commit().await?;
            Ok(match (was_hidden.is_some(), hidden_at.is_some()) {
                (false, true) => LinkChange::Hidden,
                (true, false) => LinkChange::ShownAgain,
                _ => LinkChange::None,
            })
        })
    }

    /// The offers hidden for their link, among the active ones.
    pub async fn hidden_offers(&self) -> Result<Vec<HiddenOffer>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(HIDDEN_OFFERS).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let source: String = row.try_get("source")?;
                    let id: String = row.try_get("source_offer_id")?;
                    let key = relais_model::SourceId::parse(&source)
                        .and_then(|s| OfferKey::new(s, &id))
                        .map_err(|_| StorageError::CorruptValue {
                            what: "link_checks key".into(),
                            value: format!("{source}:{id}"),
                        })?;
                    Ok(HiddenOffer {
                        key,
                        url: row.try_get("url")?,
                        status: row.try_get("last_status")?,
                        hidden_at: from_millis(row.try_get("hidden_at")?),
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests;
