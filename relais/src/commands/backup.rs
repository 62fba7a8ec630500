//! `relais backup <FILE>`: an online copy of the embedded store, taken while `relais serve`
//! keeps serving and syncing (see `docs/operations.md`; PostgreSQL has its own tools). The index
//! is not copied: `relais reindex` rebuilds it from the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use crate::commands::access::audit;
use crate::config::Config;
use crate::pipeline;

/// Arguments of `relais backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The copy to write (its directory must exist).
    file: PathBuf,
    /// Replaces the file if it exists.
    #[arg(long)]
    force: bool,
    /// Prints JSON.
    #[arg(long)]
    json: bool,
}

/// `relais backup`.
pub async fn run(config_path: Option<&Path>, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    anyhow::ensure!(
        config.postgres_url().is_none(),
        "`relais backup` copies the embedded SQLite store; the store here is PostgreSQL ({}): back it up with pg_dump or pg_basebackup (docs/operations.md)",
        config.store_location()
    );
    let database = config.database_path();
    if args.file.exists() && !args.force {
        anyhow::bail!(
            "`{}` exists: choose another file, or add --force to replace it",
            args.file.display()
        );
    }
    let same_file = std::fs::canonicalize(&args.file)
        .ok()
        .zip(std::fs::canonicalize(&database).ok())
        .is_some_and(|(file, database)| file == database);
    anyhow::ensure!(!same_file, "the backup cannot replace the store itself");
    let store = pipeline::open_store(&config).await?;
    let summary = store
        .backup_to(&args.file)
        .await
        .with_context(|| format!("cannot back the store up to `{}`", args.file.display()))?;
    // The copy holds every offer as it is: an export, recorded as the operator's action.
    audit(
        &config,
        &store,
        "backup",
        "store",
        json!({"file": summary.path.display().to_string(), "bytes": summary.bytes, "offers": summary.offers}),
    )
    .await?;
    if args.json {
        println!(
            "{}",
            json!({"file": summary.path.display().to_string(), "bytes": summary.bytes, "offers": summary.offers})
        );
    } else {
        crate::say!(
            "backup: {} ({} bytes, {} offers); to restore: stop relais, replace `{}` with it \
             (removing its `-wal` and `-shm` files), then `relais reindex` (docs/operations.md)",
            summary.path.display(),
            summary.bytes,
            summary.offers,
            database.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
