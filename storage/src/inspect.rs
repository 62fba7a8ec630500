//! The embedded store looked at without changing it: opened read-only, its pages checked, its
//! migrations compared with those this build knows (`relais check`, and each backup's copy).

use std::path::Path;
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::StorageError;

/// How thoroughly the pages are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// `PRAGMA quick_check`: the pages and their structure, not the indexes' content.
    Quick,
    /// `PRAGMA integrity_check`: everything, indexes included.
    Full,
}

/// What a store file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The offers, active or withdrawn.
    pub offers: i64,
    /// Migrations applied.
    pub applied_migrations: usize,
    /// Migrations this build knows and the file lacks (`relais migrate` applies them).
    pub pending_migrations: Vec<String>,
}

/// Opens the SQLite store at `path` read-only and checks it; creates nothing, changes nothing.
pub async fn inspect_sqlite(path: &Path, integrity: Integrity) -> Result<Inspection, StorageError> {
    if !path.is_file() {
        return Err(StorageError::Io {
            path: path.display().to_string(),
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let pragma = match integrity {
        Integrity::Quick => "PRAGMA quick_check",
        Integrity::Full => "PRAGMA integrity_check",
    };
    let verdict: String = sqlx::query(pragma).fetch_one(&pool).await?.try_get(0)?;
    if verdict != "ok" {
        pool.close().await;
        return Err(StorageError::CorruptValue {
            what: format!("the store `{}`", path.display()),
            value: verdict,
        });
    }
    let applied: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&pool)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let pending_migrations = crate::SQLITE_MIGRATIONS
        .iter()
        .filter(|migration| !applied.contains(&migration.version))
        .map(|migration| format!("{} {}", migration.version, migration.description))
        .collect();
    // The offers table comes with the first migration.
    let offers = if applied.is_empty() {
        0
    } else {
        sqlx::query("SELECT COUNT(*) FROM offers")
            .fetch_one(&pool)
            .await?
            .try_get(0)?
    };
    pool.close().await;
    Ok(Inspection {
        offers,
        applied_migrations: applied.len(),
        pending_migrations,
    })
}
