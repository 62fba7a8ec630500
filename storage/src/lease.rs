//! Leases: one holder at a time of a named role (a source's run, the worker), across processes.
//!
//! On SQLite, an OS lock on `<database directory>/<name>.lock` (processes share the machine);
//! on PostgreSQL, a session-level advisory lock held by a connection of its own (processes may
//! be on several machines). Either is released by the system when its holder dies: the kernel
//! closes the file, PostgreSQL ends the session of a connection that is gone.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use crate::{Pool, StorageError, Store};

/// The first key of relais's advisory locks (`rela` in ASCII); the second is the name's hash.
const LEASE_CLASS: i32 = 0x7265_6c61;

/// Held while its holder plays the role; released when dropped or when the holder dies.
#[derive(Debug)]
pub struct Lease {
    name: String,
    holder: Holder,
}

#[derive(Debug)]
enum Holder {
    /// Held, never read: the OS lock lives as long as the open file.
    File(#[allow(dead_code)] File),
    Postgres(PgConnection),
}

impl Lease {
    /// The role held.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lease still holds. A file lock cannot be lost; a PostgreSQL lease is lost with
    /// its connection (a network cut, the server restarted), after which the holder must stop:
    /// another process may hold it now.
    pub async fn check(&mut self) -> Result<(), StorageError> {
        match &mut self.holder {
            Holder::File(_) => Ok(()),
            Holder::Postgres(connection) => {
                let held: bool = sqlx::query(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                     AND pid = pg_backend_pid() AND classid = $1::oid AND objid = $2::oid \
                     AND objsubid = 2 AND granted)",
                )
                .bind(i64::from(LEASE_CLASS))
                .bind(i64::from(lock_key(&self.name) as u32))
                .fetch_one(&mut *connection)
                .await?
                .try_get(0)?;
                if held {
                    Ok(())
                } else {
                    Err(StorageError::LeaseLost(self.name.clone()))
                }
            }
        }
    }

    /// Gives the lease up now (dropping it does too; this waits for PostgreSQL to know).
    pub async fn release(self) {
        if let Holder::Postgres(connection) = self.holder {
            let _ = connection.close().await;
        }
    }
}

/// The second key of a name's advisory lock: FNV-1a, stable across builds and machines.
fn lock_key(name: &str) -> i32 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash as i32
}

fn file_lease(dir: &Path, name: &str) -> Result<Option<Lease>, StorageError> {
    let io_error = |path: &Path, source| StorageError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    let path = dir.join(format!("{name}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| io_error(&path, source))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Lease {
            name: name.to_owned(),
            holder: Holder::File(file),
        })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(source)) => Err(io_error(&path, source)),
    }
}

impl Store {
    /// Takes the lease of `name` (`[a-z0-9-]`), or `None` when another holder has it; never
    /// waits.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>, StorageError> {
        match &self.pool {
            Pool::Sqlite(_) => {
                let dir = self
                    .lock_dir
                    .as_deref()
                    .expect("a SQLite store knows its directory");
                file_lease(dir, name)
            }
            Pool::Postgres(pool) => {
                // A connection of its own, out of the pool: the lease lives as long as it.
                let mut connection = pool.acquire().await?.detach();
                let taken: bool = sqlx::query("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(LEASE_CLASS)
                    .bind(lock_key(name))
                    .fetch_one(&mut connection)
                    .await?
                    .try_get(0)?;
                if taken {
                    Ok(Some(Lease {
                        name: name.to_owned(),
                        holder: Holder::Postgres(connection),
                    }))
                } else {
                    let _ = connection.close().await;
                    Ok(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::store_suite;

    /// One holder at a time per name; another name is free; a lease given up is free again, and
    /// a lease held checks as held.
    async fn a_lease_has_one_holder_until_released(store: Store) {
        let mut worker = store.try_lease("worker").await.unwrap().expect("free");
        assert!(store.try_lease("worker").await.unwrap().is_none());
        let other = store.try_lease("francetravail").await.unwrap();
        assert!(other.is_some());
        worker.check().await.unwrap();
        assert_eq!(worker.name(), "worker");
        worker.release().await;
        let again = store.try_lease("worker").await.unwrap();
        assert!(again.is_some(), "free once released");
        drop(again);
        drop(other);
    }

    store_suite!(a_lease_has_one_holder_until_released);

    /// A PostgreSQL lease whose session is ended by the server (as when PostgreSQL restarts or
    /// the network cuts it) checks as lost, and another holder can take it.
    #[tokio::test]
    async fn a_postgres_lease_whose_session_ends_is_lost_and_free() {
        let (_keep, store) = crate::testing::postgres_store().await;
        let mut lease = store.try_lease("worker").await.unwrap().unwrap();
        let Pool::Postgres(pool) = &store.pool else {
            unreachable!()
        };
        // Only this test's database: advisory locks of the other tests' databases, running at
        // the same time on the same server, show in pg_locks too.
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_locks \
             WHERE locktype = 'advisory' AND classid = $1::oid AND objsubid = 2 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind(i64::from(LEASE_CLASS))
        .execute(pool)
        .await
        .unwrap();
        assert!(lease.check().await.is_err());
        let mut taken = None;
        for _ in 0..50 {
            taken = store.try_lease("worker").await.unwrap();
            if taken.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(taken.is_some(), "free once its session ended");
    }
}
