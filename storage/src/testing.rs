//! What the store's tests share: a store on either backend, filled with offers of one board, and
//! the suite macro that runs a test on both.

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use relais_model::{Offer, OfferKey, SourceId};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use crate::{IncomingRecord, RunKind, Store};

/// Where the PostgreSQL tests find their server: set by `scripts/with-postgres.sh`, which the
/// README's test command and `.ci/run` use. A test never skips for want of it.
pub(crate) const POSTGRES_URL_VARIABLE: &str = "TEST_POSTGRES_URL";

/// What keeps a test's store alive: the SQLite file's directory (PostgreSQL's databases live in
/// the throwaway cluster, deleted with it).
pub(crate) type Keep = Option<tempfile::TempDir>;

/// A new, empty store in a temporary SQLite file.
pub(crate) async fn sqlite_store() -> (Keep, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite"))
        .await
        .unwrap();
    (Some(dir), store)
}

/// A new, empty store in a database of its own on the test PostgreSQL server.
pub(crate) async fn postgres_store() -> (Keep, Store) {
    let url = postgres_database().await;
    (None, Store::open_postgres(&url).await.unwrap())
}

/// The URL of a new, empty database on the test PostgreSQL server.
pub(crate) async fn postgres_database() -> String {
    let url = std::env::var(POSTGRES_URL_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VARIABLE} is not set: run the tests through scripts/with-postgres.sh \
             (the README's test command does), which starts a throwaway PostgreSQL cluster"
        )
    });
    static DATABASES: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "relais_test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let options = PgConnectOptions::from_str(&url).unwrap().database(&name);
    options.to_url_lossy().to_string()
}

/// Defines each named test (an `async fn(Store)`) twice, in modules `sqlite` and `postgres`,
/// each run on a new store of that backend: the pattern of quickwit's metastore test suite.
macro_rules! store_suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let (_keep, store) = $crate::testing::sqlite_store().await;
                    super::$test(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let (_keep, store) = $crate::testing::postgres_store().await;
                    super::$test(store).await;
                }
            )*
        }
    };
}
pub(crate) use store_suite;

/// The key of offer `id` of the board `board`.
pub(crate) fn key(id: &str) -> OfferKey {
    OfferKey::new(SourceId::parse("board").unwrap(), id).unwrap()
}

/// Commits one active offer of `board` per id, by one full run.
pub(crate) async fn fill_with_offers(store: &Store, ids: &[&str]) {
    let now = Utc::now();
    let source = SourceId::parse("board").unwrap();
    let run = store
        .start_run(&source, RunKind::Full, now, now)
        .await
        .unwrap();
    let records: Vec<IncomingRecord> = ids
        .iter()
        .map(|id| IncomingRecord {
            offer: Offer::new(key(id), &format!("Offre {id}"), "Texte", now),
            raw_payload: format!("{{\"id\":\"{id}\"}}"),
        })
        .collect();
    store
        .commit_batch(run, &records, &serde_json::json!({}), now)
        .await
        .unwrap();
}

/// A SQLite store holding one active offer of `board` per id, committed by one full run.
pub(crate) async fn store_with_offers(ids: &[&str]) -> (tempfile::TempDir, Store) {
    let (keep, store) = sqlite_store().await;
    fill_with_offers(&store, ids).await;
    (keep.expect("a SQLite store keeps its directory"), store)
}

/// The pool of a SQLite store, for what only SQLite has (query plans, checkpoints).
pub(crate) fn sqlite_pool(store: &Store) -> &sqlx::SqlitePool {
    match &store.pool {
        crate::Pool::Sqlite(pool) => pool,
        crate::Pool::Postgres(_) => panic!("a SQLite store was expected"),
    }
}

/// The steps of SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`, its parameters unbound).
pub(crate) async fn query_plan(store: &Store, sql: &str) -> Vec<String> {
    sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(sqlite_pool(store))
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}
