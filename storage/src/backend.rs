//! What differs between the two backends, and the macros that compile the rest once per backend.
//!
//! The store's SQL is written once, in what both SQLite and PostgreSQL accept; [`with_pool!`]
//! compiles a method's body once per backend, each time with that backend's pool, and
//! [`impl_for_both!`] does the same for a trait implemented on both backends' types.

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::StorageError;

/// Runs `$body` with `$pool` bound to the store's pool: the body is compiled once per backend.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// Implements a trait for a SQLite type and its PostgreSQL counterpart with one body.
macro_rules! impl_for_both {
    ($trait:ident for $sqlite:ty, $postgres:ty { $($body:tt)* }) => {
        impl $trait for $sqlite { $($body)* }
        impl $trait for $postgres { $($body)* }
    };
}

/// The number under which PostgreSQL writers take their transaction-level advisory lock.
/// Arbitrary, but stable: it is `relais` in ASCII.
const WRITER_LOCK: i64 = 0x72_65_6c_61_69_73;

/// How each backend begins a transaction that writes.
pub(crate) trait WritePool {
    type Db: sqlx::Database;

    /// A transaction that writes, holding the store's write lock until it ends: writers take
    /// turns, on both backends, so that the logs' sequence numbers are committed in order (a
    /// reader that applied every entry up to N never finds a smaller one later).
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, StorageError>;
}

impl WritePool for SqlitePool {
    type Db = Sqlite;

    /// `BEGIN IMMEDIATE` takes the write lock at the start, waiting up to the busy timeout for
    /// another process's writer. A deferred transaction that reads then writes fails at once with
    /// "database is locked" when another process wrote in between (SQLite cannot wait there:
    /// its snapshot is already stale), which the worker's frequent writes made common for a sync
    /// running beside `relais serve`.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StorageError> {
        Ok(self.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl WritePool for PgPool {
    type Db = Postgres;

    /// A transaction-level advisory lock, released by PostgreSQL at commit or rollback, and
    /// when the connection dies: a writer killed mid-transaction never leaves it held. Without
    /// it, a sequence number given to a transaction that commits late would appear behind
    /// numbers that readers already went past.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StorageError> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITER_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// The channel on which PostgreSQL announces each write of publications to the API replicas.
pub(crate) const PUBLICATIONS_CHANNEL: &str = "relais_publications";

/// How a transaction that wrote publications tells the followers of other processes.
pub(crate) trait Announce {
    /// Announces, at commit, that the publication log reaches `last`.
    async fn announce_publications(&mut self, last: i64) -> Result<(), StorageError>;
}

impl Announce for sqlx::SqliteConnection {
    /// Followers of a SQLite store poll it: nobody to tell.
    async fn announce_publications(&mut self, _last: i64) -> Result<(), StorageError> {
        Ok(())
    }
}

impl Announce for sqlx::PgConnection {
    /// `NOTIFY` in the transaction: PostgreSQL delivers it at commit, never for a rollback.
    async fn announce_publications(&mut self, last: i64) -> Result<(), StorageError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(PUBLICATIONS_CHANNEL)
            .bind(last.to_string())
            .execute(self)
            .await?;
        Ok(())
    }
}

/// How each backend asks for rows by a list of offer keys.
pub(crate) trait KeysIn: sqlx::Database {
    /// Pushes the keys after `(source, source_offer_id) IN (`.
    fn push_keys<'a>(
        query: &mut sqlx::QueryBuilder<'static, Self>,
        keys: impl IntoIterator<Item = &'a relais_model::OfferKey>,
    );
}

impl KeysIn for Sqlite {
    /// A list of row values: SQLite (3.46) searches the primary key once per pair.
    fn push_keys<'a>(
        query: &mut sqlx::QueryBuilder<'static, Sqlite>,
        keys: impl IntoIterator<Item = &'a relais_model::OfferKey>,
    ) {
        let mut separated = query.separated(", ");
        for key in keys {
            separated
                .push("(")
                .push_bind_unseparated(key.source().as_str().to_owned())
                .push_unseparated(", ")
                .push_bind_unseparated(key.source_offer_id().to_owned())
                .push_unseparated(")");
        }
    }
}

impl KeysIn for Postgres {
    /// Two arrays unnested into pairs: PostgreSQL turns a list of row values into one OR per
    /// pair, planned as a scan of the table past a few hundred; the arrays make a join on the
    /// primary key, with two parameters however many keys.
    fn push_keys<'a>(
        query: &mut sqlx::QueryBuilder<'static, Postgres>,
        keys: impl IntoIterator<Item = &'a relais_model::OfferKey>,
    ) {
        let (sources, ids): (Vec<String>, Vec<String>) = keys
            .into_iter()
            .map(|key| {
                (
                    key.source().as_str().to_owned(),
                    key.source_offer_id().to_owned(),
                )
            })
            .unzip();
        query
            .push("SELECT * FROM UNNEST(")
            .push_bind(sources)
            .push("::text[], ")
            .push_bind(ids)
            .push("::text[])");
    }
}
