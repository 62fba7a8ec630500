//! The store: SQLite (WAL) by default or PostgreSQL, the source of truth of relais.
//!
//! It keeps every distinct payload of every record as the source sent it (`raw_records`), the normalised offer (`offers`),
//! and each run of a source (`runs`: kind, counts, cursor, outcome, failed partitions). A batch of
//! offers and the run cursor that covers it are committed in one transaction
//! ([`Store::commit_batch`]), so a crash never leaves a cursor ahead of its offers.
//!
//! Architecture invariant: this is the only crate that speaks SQL. Queries are runtime
//! `sqlx::query` calls written once, in SQL that both SQLite and PostgreSQL accept, and compiled
//! once per backend ([`with_pool!`](crate::with_pool)); timestamps are integer milliseconds so
//! that they compare identically on both dialects. What differs between the two (how a writer
//! takes the write lock, the online backup) is in `backend.rs`.

#[macro_use]
mod backend;
mod access;
mod audit;
mod backup;
mod changes;
mod documents;
mod error;
mod inspect;
mod lease;
mod links;
mod listen;
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

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use access::{ApiKeyRecord, CollectiviteRecord, KeyUsage};
pub use audit::AuditEntry;
pub use backup::BackupSummary;
pub use changes::{ChangeKind, OfferChange, PrunedLogs};
pub use error::StorageError;
pub use inspect::{Inspection, Integrity, inspect_postgres, inspect_sqlite, postgres_location};
pub use lease::Lease;
pub use links::{GONE_ANSWERS_TO_HIDE, HiddenOffer, LinkChange};
pub use listen::{Heard, PublicationListener};
pub use offers::{BatchOutcome, IncomingRecord, SourceCounts};
pub use publications::{LogState, PublicationChange, PublicationRow};
pub use retention::PurgeOutcome;
pub use runs::{RunKind, RunOutcome, RunRecord};
pub use traffic::TrafficRow;

/// A connection pool to the store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// Where a SQLite store's leases are (its directory); PostgreSQL keeps them itself.
    lock_dir: Option<std::sync::Arc<Path>>,
}

/// The pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
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
            .pragma("secure_delete", "on")
            // A full sweep writes in transactions of thousands of offers, each touching pages
            // all over the primary keys: with SQLite's 2 MB page cache, pages were read again
            // and dirty ones spilled to the log before the commit (`relais bench feed`: 6 400
            // offers/s, twice as fast with these two). A connection's cache grows to 32 MB only
            // as it reads; the log is copied back to the database every 80 MB instead of 4 MB,
            // so a page written by several commits in between is copied once.
            .pragma("cache_size", "-32768")
            .pragma("wal_autocheckpoint", "20000");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A file cannot drop a connection: no round trip to check one before each query.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let lock_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let store = Self {
            pool: Pool::Sqlite(pool),
            lock_dir: Some(lock_dir.into()),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db`) and
    /// applies migrations. Errors never carry the URL (its password).
    pub async fn open_postgres(url: &str) -> Result<Self, StorageError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StorageError::InvalidUrl)?
            .application_name("relais");
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Self {
            pool: Pool::Postgres(pool),
            lock_dir: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Which database the store is on.
    pub fn backend(&self) -> BackendKind {
        match self.pool {
            Pool::Sqlite(_) => BackendKind::Sqlite,
            Pool::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Applies pending migrations (each backend has its own); idempotent.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// The schema's migrations, compiled in.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A query that ends with `(source, source_offer_id) IN (` and the keys, closed: written in
/// each backend's best form (see [`backend::KeysIn`]). On PostgreSQL its text is the same
/// whatever the keys, and a statement kept prepared gets a generic plan, made once: the batch's
/// known states, asked while `offers` was nearly empty (a first load), kept a scan of the table
/// for every batch. That one runs unprepared (`.persistent(false)`), planned at each run with
/// the table's size as it is; the worker's reads by key were slower unprepared, and stay
/// prepared (`docs/benchmarks.md`, Pipeline, seventh session).
pub(crate) fn keys_in<'a, Db: backend::KeysIn>(
    head: impl Into<String>,
    keys: impl IntoIterator<Item = &'a relais_model::OfferKey>,
) -> sqlx::QueryBuilder<'static, Db> {
    let mut query = sqlx::QueryBuilder::new(head);
    Db::push_keys(&mut query, keys);
    query.push(")");
    query
}

/// Pushes the keys after `(source, source_offer_id) IN (` in a query under way.
pub(crate) fn push_keys<'a, Db: backend::KeysIn>(
    query: &mut sqlx::QueryBuilder<'static, Db>,
    keys: impl IntoIterator<Item = &'a relais_model::OfferKey>,
) {
    Db::push_keys(query, keys);
}

/// The offer key of a row's `source` and `source_offer_id` columns, of either backend.
pub(crate) fn key_of<R: sqlx::Row>(
    row: &R,
    table: &str,
) -> Result<relais_model::OfferKey, StorageError>
where
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    let source: String = row.try_get("source")?;
    let id: String = row.try_get("source_offer_id")?;
    relais_model::SourceId::parse(&source)
        .ok()
        .and_then(|s| relais_model::OfferKey::new(s, &id).ok())
        .ok_or_else(|| StorageError::CorruptValue {
            what: format!("{table}.key"),
            value: format!("{source}:{id}"),
        })
}

/// Milliseconds since the Unix epoch, the store's time representation.
pub(crate) fn millis(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
