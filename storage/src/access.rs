//! Collectivités managed in the store and the API keys of their app developers (only a hash of
//! each key), with each key's use per day.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::backend::WritePool;
use crate::{StorageError, Store, from_millis, millis};

/// A collectivité as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectiviteRecord {
    /// Short name used by the CLI and in reports (`grand-cahors`).
    pub id: String,
    /// Name (`Communauté d'agglomération du Grand Cahors`).
    pub name: String,
    /// SIREN of the collectivité (9 digits).
    pub siren: String,
    /// Territory expression (`epci:200023737`).
    pub territory: String,
    /// Names of its feeds.
    pub feeds: Vec<String>,
    /// Who to contact there (for the operator; never published).
    pub contact: Option<String>,
    /// First stored.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// An API key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKeyRecord {
    /// The public part of the key, shown in lists and logs.
    pub id: String,
    /// The collectivité whose territory the key answers within.
    pub collectivite: String,
    /// SHA-256 of the whole key, hexadecimal.
    pub secret_hash: String,
    /// What the key may do (`search`, `reports`).
    pub scopes: Vec<String>,
    /// Requests per second allowed.
    pub rate_per_second: f64,
    /// Requests per day allowed (`None`: no daily quota).
    pub daily_quota: Option<i64>,
    /// Offers returned per day at most, over every page (`None`: no cap).
    pub daily_offers: Option<i64>,
    /// What the key is for.
    pub label: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What one key used on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct KeyUsage {
    /// Requests answered.
    pub requests: i64,
    /// Offers returned.
    pub offers: i64,
}

impl Store {
    /// Adds or replaces a collectivité (by id); keeps its creation date.
    pub async fn upsert_collectivite(
        &self,
        collectivite: &CollectiviteRecord,
    ) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            let feeds = serde_json::to_string(&collectivite.feeds).expect("strings serialise");
            sqlx::query(
            "INSERT INTO collectivites (id, name, siren, territory, feeds, contact, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, siren = excluded.siren, \
             territory = excluded.territory, feeds = excluded.feeds, contact = excluded.contact, \
             updated_at = excluded.updated_at",
        )
        .bind(&collectivite.id)
        .bind(&collectivite.name)
        .bind(&collectivite.siren)
        .bind(&collectivite.territory)
        .bind(feeds)
        .bind(&collectivite.contact)
        .bind(millis(collectivite.created_at))
        .bind(millis(collectivite.updated_at))
        .execute(pool)
        .await?;
            Ok(())
        })
    }

    /// Every stored collectivité, by id.
    pub async fn collectivites(&self) -> Result<Vec<CollectiviteRecord>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, name, siren, territory, feeds, contact, created_at, updated_at \
             FROM collectivites ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let feeds: String = row.get("feeds");
                    Ok(CollectiviteRecord {
                        id: row.get("id"),
                        name: row.get("name"),
                        siren: row.get("siren"),
                        territory: row.get("territory"),
                        feeds: serde_json::from_str(&feeds).map_err(|source| {
                            StorageError::CorruptDocument {
                                what: "collectivites.feeds".into(),
                                source,
                            }
                        })?,
                        contact: row.get("contact"),
                        created_at: from_millis(row.get("created_at")),
                        updated_at: from_millis(row.get("updated_at")),
                    })
                })
                .collect()
        })
    }

    /// Stores a new key.
    pub async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (id, collectivite, secret_hash, scopes, rate_per_second, \
             daily_quota, daily_offers, label, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&key.id)
            .bind(&key.collectivite)
            .bind(&key.secret_hash)
            .bind(key.scopes.join(","))
            .bind(key.rate_per_second)
            .bind(key.daily_quota)
            .bind(key.daily_offers)
            .bind(&key.label)
            .bind(millis(key.created_at))
            .bind(key.revoked_at.map(millis))
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, collectivite, secret_hash, scopes, rate_per_second, daily_quota, \
             daily_offers, label, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await?;
            Ok(rows
                .iter()
                .map(|row| {
                    let scopes: String = row.get("scopes");
                    ApiKeyRecord {
                        id: row.get("id"),
                        collectivite: row.get("collectivite"),
                        secret_hash: row.get("secret_hash"),
                        scopes: scopes
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        rate_per_second: row.get("rate_per_second"),
                        daily_quota: row.get("daily_quota"),
                        daily_offers: row.get("daily_offers"),
                        label: row.get("label"),
                        created_at: from_millis(row.get("created_at")),
                        revoked_at: row.get::<Option<i64>, _>("revoked_at").map(from_millis),
                    }
                })
                .collect())
        })
    }

    /// Revokes a key; false when no unrevoked key has this id.
    pub async fn revoke_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StorageError> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(millis(at))
            .bind(id)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Adds to the keys' use of a day (`(key id, day, requests, offers)`), in one transaction.
    pub async fn add_key_usage(
        &self,
        usage: &[(String, String, KeyUsage)],
    ) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for (key_id, day, used) in usage {
                sqlx::query(
                "INSERT INTO key_usage (key_id, day, requests, offers) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key_id, day) DO UPDATE SET requests = key_usage.requests + excluded.requests, \
                 offers = key_usage.offers + excluded.offers",
            )
            .bind(key_id)
            .bind(day)
            .bind(used.requests)
            .bind(used.offers)
            .execute(&mut *tx)
            .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// What each key used on `day`.
    pub async fn key_usage(&self, day: &str) -> Result<Vec<(String, KeyUsage)>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query("SELECT key_id, requests, offers FROM key_usage WHERE day = $1")
                .bind(day)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|row| {
                    (
                        row.get("key_id"),
                        KeyUsage {
                            requests: row.get("requests"),
                            offers: row.get("offers"),
                        },
                    )
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests;
