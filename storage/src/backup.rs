//! Online backups of the embedded store: a consistent copy taken while the store keeps serving
//! and writing (SQLite's `VACUUM INTO`: the copy is a snapshot of one read transaction, compact,
//! with no free pages), checked before it takes its name.

use std::path::{Path, PathBuf};

use crate::{StorageError, Store};

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Where the copy is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The offers it holds, active or withdrawn.
    pub offers: i64,
}

fn io_error(path: &Path, source: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Store {
    /// Copies the store to `target` while it runs, replacing `target` if it exists. The copy
    /// is written beside it, read back whole (`PRAGMA integrity_check`), flushed to disk, then
    /// renamed: `target` never names half a copy, even after a crash.
    pub async fn backup_to(&self, target: &Path) -> Result<BackupSummary, StorageError> {
        let name = target
            .file_name()
            .ok_or_else(|| io_error(target, std::io::ErrorKind::InvalidInput.into()))?;
        let mut partial_name = name.to_owned();
        partial_name.push(".partial");
        let partial = target.with_file_name(partial_name);
        match std::fs::remove_file(&partial) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(io_error(&partial, error));
            }
            _ => {}
        }
        let partial_text = partial
            .to_str()
            .ok_or_else(|| io_error(&partial, std::io::ErrorKind::InvalidFilename.into()))?;
        let crate::Pool::Sqlite(pool) = &self.pool else {
            return Err(StorageError::Unsupported(
                "`relais backup` copies the embedded SQLite store; back up PostgreSQL with pg_dump or pg_basebackup (docs/operations.md)",
            ));
        };
        sqlx::query("VACUUM INTO ?")
            .bind(partial_text)
            .execute(pool)
            .await?;
        let offers = match crate::inspect_sqlite(&partial, crate::Integrity::Full).await {
            Ok(inspection) => inspection.offers,
            Err(error) => {
                let _ = std::fs::remove_file(&partial);
                return Err(error);
            }
        };
        std::fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(|error| io_error(&partial, error))?;
        std::fs::rename(&partial, target).map_err(|error| io_error(target, error))?;
        let bytes = std::fs::metadata(target)
            .map_err(|error| io_error(target, error))?
            .len();
        Ok(BackupSummary {
            path: target.to_owned(),
            bytes,
            offers,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use relais_model::Offer;

    use crate::testing::{key, store_with_offers};
    use crate::{IncomingRecord, RunKind, Store};

    #[tokio::test]
    async fn a_backup_taken_while_batches_are_written_is_whole_and_opens_as_a_store() {
        let (dir, store) = store_with_offers(&["A", "B", "C"]).await;
        let source = relais_model::SourceId::parse("board").unwrap();
        let now = Utc::now();
        let run = store
            .start_run(&source, RunKind::Incremental, now, now)
            .await
            .unwrap();
        // A writer commits batches of 50 offers while the backups are taken.
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                for batch in 0..40 {
                    let records: Vec<IncomingRecord> = (0..50)
                        .map(|n| {
                            let id = format!("W{batch:02}-{n:02}");
                            IncomingRecord {
                                offer: Offer::new(key(&id), "Offre", "Texte", now),
                                raw_payload: format!("{{\"id\":\"{id}\"}}"),
                            }
                        })
                        .collect();
                    store
                        .commit_batch(run, &records, &serde_json::Value::Null, now)
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        let target = dir.path().join("backups").join("relais.sqlite");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let summary = store.backup_to(&target).await.unwrap();
            assert!(summary.bytes > 0);
            // Whole batches only: three offers, plus fifty per batch committed before it.
            assert_eq!((summary.offers - 3) % 50, 0, "{summary:?}");
            seen.push(summary.offers);
        }
        writer.await.unwrap();
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert!(!target.with_file_name("relais.sqlite.partial").exists());
        // The copy is a store: it opens, and holds what it said.
        let copy = Store::open_sqlite(&target).await.unwrap();
        let offers = copy.offers(&[key("A"), key("C")]).await.unwrap();
        assert_eq!(offers.len(), 2);
        let last = store.backup_to(&target).await.unwrap();
        assert_eq!(
            last.offers,
            3 + 40 * 50,
            "the last backup after the writer ended"
        );
    }

    #[tokio::test]
    async fn a_backup_into_a_missing_directory_fails_and_leaves_nothing() {
        let (dir, store) = store_with_offers(&["A"]).await;
        let target = dir.path().join("nowhere").join("relais.sqlite");
        assert!(store.backup_to(&target).await.is_err());
        assert!(!target.exists());
        assert!(!dir.path().join("nowhere").exists());
    }
}
