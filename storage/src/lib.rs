//! The store: SQLite (WAL) by default, the source of truth of relais.
//!
//! It keeps every distinct payload of every record as the source sent it (`raw_records`), the normalised offer (`offers`),
//! and each run of a source (`runs`: kind, counts, cursor, outcome, failed partitions). A batch of
//! offers and the run cursor that covers it are committed in one transaction
//! ([`Store::commit_batch`]), so a crash never leaves a cursor ahead of its offers.
//!
//! Architecture invariant: this is the only crate that speaks SQL. Queries are runtime
//! `sqlx::query` calls written in SQL that PostgreSQL also accepts; timestamps are integer
//! milliseconds so that they compare identically on both dialects.

mod access;
mod audit;
mod backup;
mod changes;
mod error;
mod inspect;
mod links;
mod offers;
mod publications;
mod retention;
mod runs;
#[cfg(test)]
mod testing;
mod traffic;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use access::{ApiKeyRecord, CollectiviteRecord, KeyUsage};
pub use audit::AuditEntry;
pub use backup::BackupSummary;
pub use changes::{ChangeKind, OfferChange, PrunedLogs};
pub use error::StorageError;
pub use inspect::{Inspection, Integrity, inspect_sqlite};
pub use links::{GONE_ANSWERS_TO_HIDE, HiddenOffer, LinkChange};
pub use offers::{BatchOutcome, IncomingRecord, SourceCounts};
pub use publications::{LogState, PublicationChange, PublicationRow};
pub use retention::PurgeOutcome;
pub use runs::{RunKind, RunOutcome, RunRecord};
pub use traffic::TrafficRow;

/// A connection pool to the store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StorageError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(StorageError::from)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // Deleted and overwritten content is zeroed in the file: an anonymised offer's
            // employer and contact cannot be read back from free pages (licence art. 7).
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; idempotent.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        SQLITE_MIGRATIONS.run(&self.pool).await?;
        Ok(())
    }

    /// A transaction that writes: it takes the write lock at its start (`BEGIN IMMEDIATE`),
    /// waiting up to the busy timeout for another process's writer. A deferred transaction that
    /// reads then writes fails at once with "database is locked" when another process wrote
    /// in between (SQLite cannot wait there: its snapshot is already stale), which the worker's
    /// frequent writes made common for a sync running beside `relais serve`.
    pub(crate) async fn write_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StorageError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The schema's migrations, compiled in.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A query that ends with `(source, source_offer_id) IN (` and the keys' pairs, closed.
pub(crate) fn keys_in<'a>(
    head: impl Into<String>,
    keys: impl IntoIterator<Item = &'a relais_model::OfferKey>,
) -> sqlx::QueryBuilder<'static, sqlx::Sqlite> {
    let mut query = sqlx::QueryBuilder::new(head);
    let mut separated = query.separated(", ");
    for key in keys {
        separated
            .push("(")
            .push_bind_unseparated(key.source().as_str().to_owned())
            .push_unseparated(", ")
            .push_bind_unseparated(key.source_offer_id().to_owned())
            .push_unseparated(")");
    }
    query.push(")");
    query
}

/// Milliseconds since the Unix epoch, the store's time representation.
pub(crate) fn millis(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
