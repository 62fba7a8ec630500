//! The store looked at without changing it: the embedded file opened read-only and its pages
//! checked, or a PostgreSQL database read in a read-only session; its migrations compared with
//! those this build knows (`relais check`, and each backup's copy).

use std::path::Path;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

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
    let pending_migrations = pending(&crate::SQLITE_MIGRATIONS, &applied);
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

/// The migrations of `known` not in `applied`, as `VERSION description`.
fn pending(known: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<String> {
    known
        .iter()
        .filter(|migration| !applied.contains(&migration.version))
        .map(|migration| format!("{} {}", migration.version, migration.description))
        .collect()
}

/// Connects to the PostgreSQL store at `url` in a read-only session and reads where it stands;
/// creates nothing, changes nothing (a database never migrated has every migration pending).
pub async fn inspect_postgres(url: &str) -> Result<Inspection, StorageError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| StorageError::InvalidUrl)?
        .application_name("relais check")
        .options([("default_transaction_read_only", "on")]);
    let mut connection = options.connect().await?;
    let result = inspect_postgres_on(&mut connection).await;
    connection.close().await?;
    result
}

async fn inspect_postgres_on(connection: &mut PgConnection) -> Result<Inspection, StorageError> {
    let migrated: bool = sqlx::query("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *connection)
        .await?
        .try_get(0)?;
    let applied: Vec<i64> = if migrated {
        sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let offers = if applied.is_empty() {
        0
    } else {
        sqlx::query("SELECT COUNT(*) FROM offers")
            .fetch_one(&mut *connection)
            .await?
            .try_get(0)?
    };
    Ok(Inspection {
        offers,
        applied_migrations: applied.len(),
        pending_migrations: pending(&crate::POSTGRES_MIGRATIONS, &applied),
    })
}

/// A PostgreSQL URL as it may be shown: user, host, port and database, never the password
/// (`None` when it cannot be read).
pub fn postgres_location(url: &str) -> Option<String> {
    let options = PgConnectOptions::from_str(url).ok()?;
    Some(format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::testing::{fill_with_offers, postgres_database};

    /// A database never migrated is read without being touched: every migration pending, and
    /// still no table after; once migrated and filled, none pending and its offers counted.
    #[tokio::test]
    async fn a_postgres_store_is_inspected_without_being_changed() {
        let url = postgres_database().await;
        let fresh = inspect_postgres(&url).await.unwrap();
        assert_eq!(fresh.applied_migrations, 0);
        assert_eq!(
            fresh.pending_migrations.len(),
            crate::POSTGRES_MIGRATIONS.iter().count()
        );
        assert_eq!(
            inspect_postgres(&url).await.unwrap(),
            fresh,
            "nothing was created"
        );

        let store = Store::open_postgres(&url).await.unwrap();
        fill_with_offers(&store, &["1", "2"]).await;
        let migrated = inspect_postgres(&url).await.unwrap();
        assert!(migrated.pending_migrations.is_empty());
        assert_eq!(migrated.offers, 2);
    }

    #[test]
    fn a_postgres_location_never_shows_the_password() {
        let shown =
            postgres_location("postgres://relais:s3cr3t-pw@db.internal:6432/emploi").unwrap();
        assert_eq!(shown, "postgres://relais@db.internal:6432/emploi");
        assert!(postgres_location("not a url").is_none());
    }
}
