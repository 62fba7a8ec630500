//! Traffic counters: impressions, views and apply clicks per day, collectivité, channel, source
//! and offer. Nothing about the visitor is stored: there is no column for it.

use serde::Serialize;
use sqlx::Row;

use crate::backend::WritePool;
use crate::{StorageError, Store};

/// One counter row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficRow {
    /// Day (Europe/Paris), `YYYY-MM-DD`.
    pub day: String,
    /// The collectivité whose site, feed or app showed the offer.
    pub collectivite: String,
    /// `widget`, `feed`, `api` or `page`.
    pub channel: String,
    /// The offer's source.
    pub source: String,
    /// The offer's id at its source.
    pub source_offer_id: String,
    /// Times the offer was listed.
    pub impressions: i64,
    /// Times its page or detail was opened.
    pub views: i64,
    /// Times "Postuler" was followed.
    pub apply_clicks: i64,
}

impl Store {
    /// Adds counts to the stored counters, in one transaction.
    pub async fn add_traffic(&self, rows: &[TrafficRow]) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for row in rows {
                sqlx::query(
                    "INSERT INTO traffic (day, collectivite, channel, source, source_offer_id, \
                 impressions, views, apply_clicks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (collectivite, day, channel, source, source_offer_id) DO UPDATE SET \
                 impressions = traffic.impressions + excluded.impressions, \
                 views = traffic.views + excluded.views, \
                 apply_clicks = traffic.apply_clicks + excluded.apply_clicks",
                )
                .bind(&row.day)
                .bind(&row.collectivite)
                .bind(&row.channel)
                .bind(&row.source)
                .bind(&row.source_offer_id)
                .bind(row.impressions)
                .bind(row.views)
                .bind(row.apply_clicks)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The counters of a collectivité from day `from` to day `to` (both included).
    pub async fn traffic(
        &self,
        collectivite: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<TrafficRow>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT day, collectivite, channel, source, source_offer_id, impressions, views, \
             apply_clicks FROM traffic WHERE collectivite = $1 AND day >= $2 AND day <= $3 \
             ORDER BY day, source, channel, source_offer_id",
            )
            .bind(collectivite)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .iter()
                .map(|row| TrafficRow {
                    day: row.get("day"),
                    collectivite: row.get("collectivite"),
                    channel: row.get("channel"),
                    source: row.get("source"),
                    source_offer_id: row.get("source_offer_id"),
                    impressions: row.get("impressions"),
                    views: row.get("views"),
                    apply_clicks: row.get("apply_clicks"),
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests;
